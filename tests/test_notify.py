"""Notifications: one Japanese message per event and cause, to a loopback Apprise receiver."""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from archivesync.db.schema import open_db
from archivesync.notify.send import RedactUrlsFilter, Sender, redact
from archivesync.notify.watch import Watcher
from archivesync.sync.run import Outcome
from archivesync.worker.jobs import JobResult

from .helpers import PYTHON, cli_env, run_cli
from .notify_receiver import Receiver

SECRET_USER, SECRET_PASS, SECRET_PATH = "opsuser", "S3cretPassw0rd", "hooks/T0kenXYZ987"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Clock:
    """The injected clock: moves only when the test says so."""

    def __init__(self):
        self.now = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += timedelta(**kw)


@pytest.fixture
def watched(tmp_path, receiver):
    db = open_db(tmp_path / "archive.db")
    clock = Clock()
    sender = Sender([receiver.url(SECRET_PATH, f"{SECRET_USER}:{SECRET_PASS}")])

    def watcher():
        return Watcher(sender, lambda: db, clock=clock, public_url="https://archive.example.jp")

    yield SimpleNamespace(db=db, clock=clock, watcher=watcher, receiver=receiver, dir=tmp_path)
    db.close()


def failed(run_id, message="videos.list: still failing after 6 retries (HTTP 503)"):
    return JobResult("rilg-full", "full", Outcome(run_id, "failed", 1, message))


def ok(run_id, job="rilg-full", mode="full"):
    return JobResult(job, mode, Outcome(run_id, "ok", 0))


def test_a_failure_repeated_every_15_minutes_is_one_message_then_one_recovery(watched):
    w = watched.watcher()
    for run_id in (11, 12, 13, 14):
        w.job_ended("rilg-full", "full", failed(run_id))
        watched.clock.advance(minutes=15)
    assert len(watched.receiver.messages) == 1
    first = watched.receiver.messages[0]
    assert first["title"] == "[archivesync] 同期が失敗しました（rilg-full）"
    body = first["message"]
    assert "実行 ID: 11" in body and "HTTP 503" in body and "対応:" in body
    assert "コンソール: https://archive.example.jp/" in body
    assert "2026-09-01 12:00 (日本時間)" in body  # 03:00 UTC, in the staff's own time
    # A restart while the failure lasts stays quiet: the state is in the database.
    watched.watcher().job_ended("rilg-full", "full", failed(15))
    assert len(watched.receiver.messages) == 1
    watched.watcher().job_ended("rilg-full", "full", ok(16))
    watched.watcher().job_ended("rilg-full", "full", ok(17))
    titles = watched.receiver.titles()
    assert titles[1:] == ["[archivesync] 回復: 同期が失敗しました（rilg-full）"]
    assert "実行 ID: 16" in watched.receiver.messages[1]["message"]
    # A new failure after the recovery is news again.
    watched.watcher().job_ended("rilg-full", "full", failed(18))
    assert len(watched.receiver.messages) == 3


def test_each_event_and_subject_is_its_own_message(watched):
    w = watched.watcher()
    quota = "daily quota budget of the videos.batchGetStats bucket reached (9900 of 9900 units)"
    w.job_ended(
        "rilg-stats",
        "stats",
        JobResult("rilg-stats", "stats", Outcome(3, "quota_exhausted", 75, quota)),
    )
    w.job_ended(
        "rilg-full",
        "full",
        JobResult(
            "rilg-full", "full", Outcome(4, "quota_exhausted", 75, "daily quota budget reached")
        ),
    )
    w.job_ended(
        "rilg-full",
        "full",
        JobResult(
            "rilg-full", "full", Outcome(5, "quota_exhausted", 75, "daily quota budget reached")
        ),
    )
    refused = "the OAuth token was refused (invalid_grant): it was revoked or has expired"
    w.job_ended(
        "rilg-analytics", "analytics", JobResult("rilg-analytics", "analytics", error=refused)
    )
    w.job_missed("rilg-incremental", datetime(2026, 9, 1, 3, 0, tzinfo=UTC))
    w.job_missed("rilg-incremental", datetime(2026, 9, 1, 3, 30, tzinfo=UTC))
    titles = watched.receiver.titles()
    quota_out = "[archivesync] 本日の API クォータを使い切りました（終了コード 75）"
    assert titles == [
        f"{quota_out}（videos.batchGetStats）",
        f"{quota_out}（default）",
        "[archivesync] OAuth の許可が拒否されました（invalid_grant）（OAuth）",
        "[archivesync] 予定の時刻に実行できませんでした（rilg-incremental）",
    ]
    assert "archivesync auth" in watched.receiver.messages[2]["message"]
    # Recoveries: a stats run that went through, an analytics run, the missed job running.
    w.job_ended("rilg-analytics", "analytics", ok(5, "rilg-analytics", "analytics"))
    # Analytics spends no Data API units: OAuth is back, the quota may not be.
    assert [t for t in watched.receiver.titles() if "回復" in t] == [
        "[archivesync] 回復: OAuth の許可が拒否されました（invalid_grant）（OAuth）"
    ]
    w.job_ended("rilg-stats", "stats", ok(6, "rilg-stats", "stats"))
    assert watched.receiver.titles()[-1] == (
        f"[archivesync] 回復: {quota_out[len('[archivesync] ') :]}（videos.batchGetStats）"
    )
    w.job_ended("rilg-incremental", "incremental", ok(8, "rilg-incremental", "incremental"))
    recovered = [t for t in watched.receiver.titles() if "回復" in t]
    assert len(recovered) == 4, recovered  # both quota buckets, OAuth, the schedule


def test_failing_staff_requests_are_one_problem_until_one_goes_through(watched):
    w = watched.watcher()
    for request_id, run_id in ((7, 31), (8, 32)):
        w.job_ended(f"request {request_id}", "videos", failed(run_id))
    assert watched.receiver.titles() == ["[archivesync] 同期が失敗しました（staff requests）"]
    assert "https://archive.example.jp/-/requests/7" in watched.receiver.messages[0]["message"]
    w.job_ended("request 9", "videos", ok(33))
    assert (
        watched.receiver.titles()[-1] == "[archivesync] 回復: 同期が失敗しました（staff requests）"
    )


def test_replication_stalls_and_token_expiry(watched):
    w = watched.watcher()
    w.replication_checked(
        {"state": "on", "warnings": ["the replica holds no backup yet"]}, "file:///b"
    )
    assert watched.receiver.messages == []  # a daemon that just started
    stalled = {"state": "on", "warnings": ["the replica has not advanced for 75 s while ..."]}
    w.replication_checked(stalled, "file:///b")
    w.replication_checked(stalled, "file:///b")
    w.replication_checked({"state": "off", "warnings": []}, "file:///b")
    assert len(watched.receiver.messages) == 1
    assert "has not advanced" in watched.receiver.messages[0]["message"]
    w.replication_checked({"state": "on", "warnings": []}, "file:///b")
    assert watched.receiver.titles()[-1].startswith("[archivesync] 回復: バックアップ")
    w.token_checked(None)  # no token file: nothing to check
    token_file = watched.dir / "token.json"
    expires = (watched.clock.now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    token_file.write_text(json.dumps({"refresh_token_expires_at": expires}))
    w.token_checked(token_file)
    assert len(watched.receiver.messages) == 2  # five days left: nothing to say yet
    watched.clock.advance(days=3, hours=12)
    w.token_checked(token_file)
    w.token_checked(token_file)
    assert len(watched.receiver.messages) == 3
    assert "更新トークンの期限" in watched.receiver.titles()[-1]
    assert "残り 36 時間" in watched.receiver.messages[-1]["message"]


def test_a_daemon_that_stops_on_an_error_says_so_even_without_a_database(receiver):
    clock = Clock()

    def no_database():
        raise OSError("disk gone")

    w = Watcher(Sender([receiver.url()]), no_database, clock=clock)
    w.daemon_failed(RuntimeError("database 'x.db' is not writable"), "/srv/archive.db")
    assert receiver.titles() == ["[archivesync] デーモンがエラーで停止しました（/srv/archive.db）"]


def test_secrets_in_urls_are_masked_in_names_and_logs():
    url = f"json://{SECRET_USER}:{SECRET_PASS}@127.0.0.1:9/{SECRET_PATH}"
    shown = redact(url)
    assert shown.startswith("json://…#") and SECRET_PASS not in shown and "T0ken" not in shown
    import logging

    record = logging.LogRecord("apprise", logging.WARNING, __file__, 1, "Failed %s", (url,), None)
    RedactUrlsFilter([url]).filter(record)
    text = record.getMessage()
    assert SECRET_PASS not in text and "T0kenXYZ987" not in text and SECRET_USER not in text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_notify_test_command(receiver, emulator):
    env = cli_env(emulator)
    good = receiver.url(SECRET_PATH, f"{SECRET_USER}:{SECRET_PASS}")
    result = run_cli(
        ["notify", "test", "--notify", good, "--public-url", "https://a.example.jp"], env
    )
    assert result.returncode == 0, result.stderr
    assert receiver.titles() == ["[archivesync] テスト通知です"]
    assert "https://a.example.jp/" in receiver.messages[0]["message"]
    dead = f"json://{SECRET_USER}:{SECRET_PASS}@127.0.0.1:{free_port()}/{SECRET_PATH}"
    result = run_cli(["notify", "test", "--notify", dead], env)
    assert result.returncode == 1 and "did not reach" in result.stderr
    bad = run_cli(["notify", "test", "--notify", f"nosuchscheme://{SECRET_PASS}@x"], env)
    assert bad.returncode == 1 and "not one Apprise understands" in bad.stderr
    for output in (result.stdout + result.stderr, bad.stdout + bad.stderr):
        assert (
            SECRET_PASS not in output and "T0kenXYZ987" not in output and "Traceback" not in output
        )


def test_daemon_sends_one_message_while_quota_is_out_and_one_when_it_is_back(
    receiver, emulator, tmp_path
):
    from .test_daemon import DaemonProcess, schedule

    db = tmp_path / "archive.db"
    emulator.quota = 0
    url = receiver.url(SECRET_PATH, f"{SECRET_USER}:{SECRET_PASS}")
    daemon = DaemonProcess(
        db, schedule(tmp_path / "schedules", every="1s", mode="incremental"), emulator,
        "--notify", url, "--public-url", "https://archive.example.jp",
    )  # fmt: skip
    try:
        daemon.wait_for(
            lambda: (
                len([e for e in daemon.events("run_finished") if e["status"] == "quota_exhausted"])
                >= 3
            ),
            timeout=60,
            what="three runs out of quota",
        )
        assert len(receiver.messages) == 1, receiver.titles()
        assert "クォータ" in receiver.messages[0]["title"]
        emulator.quota = 10_000
        daemon.wait_for(lambda: len(receiver.messages) >= 2, timeout=60, what="the recovery")
        daemon.wait_for(
            lambda: len([e for e in daemon.events("run_finished") if e["status"] == "ok"]) >= 2,
            timeout=60,
            what="two good runs",
        )
        assert len(receiver.messages) == 2 and "回復" in receiver.messages[1]["title"]
        status = subprocess.run(
            [PYTHON, "-m", "archivesync", "status", "--db", str(db), "--json"],
            env=cli_env(emulator), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        code, _ = daemon.terminate()
        assert code == 0
        from archivesync.web.app import make_datasette

        from .web_helpers import fetch

        pages = fetch(make_datasette(db), ("get", "/", {}), ("get", "/-/requests", {}))
        shown = daemon.stderr() + status.stdout + status.stderr + "".join(p.text for p in pages)
        assert SECRET_PASS not in shown and "T0kenXYZ987" not in shown and SECRET_USER not in shown
    finally:
        daemon.close()


def test_status_lists_notified_problems_without_the_urls(watched):
    from archivesync.worker import status

    watched.watcher().job_ended("rilg-full", "full", failed(21))
    report = status.collect(watched.db, db_path="archive.db", now=watched.clock.now)
    (problem,) = report["notifications"]
    assert (problem["event"], problem["subject"], problem["run_id"]) == (
        "run_failed",
        "rilg-full",
        21,
    )
    text = status.render(report)
    assert "Notified problems still going on:\n  run_failed rilg-full since" in text
    shown = json.dumps(report) + text
    assert SECRET_PASS not in shown and "T0kenXYZ987" not in shown


def test_the_daemons_periodic_check_notifies_a_replica_that_stopped(tmp_path, receiver):
    from archivesync.replication import litestream
    from archivesync.replication import status as replication_status
    from archivesync.sync.run import Settings
    from archivesync.worker.daemon import Daemon

    db = tmp_path / "archive.db"
    open_db(db).close()
    dead = subprocess.Popen([PYTHON, "-c", "pass"])
    dead.wait()
    # Litestream died with the daemon still owning it, and never wrote stopped_at.
    litestream.write_state(
        db, role="primary", url=f"file://{tmp_path / 'replica'}", pid=dead.pid, owner_pid=dead.pid
    )
    clock = Clock()
    daemon = Daemon(
        db, [], api_key="unused", endpoint="http://127.0.0.1:9", settings=Settings(),
        schedules_dir=tmp_path, replicate_to=f"file://{tmp_path / 'replica'}",
        notifier=Sender([receiver.url()]), clock=clock,
    )  # fmt: skip
    try:
        daemon._checks()
        daemon._checks()
    finally:
        daemon._close_connections()
    assert len(receiver.messages) == 1
    assert "バックアップ" in receiver.messages[0]["title"]
    assert "Litestream is not running" in receiver.messages[0]["message"]
    cached = replication_status.collect_cached(db, now=clock.now)
    assert cached["checked_at"] == "2026-09-01T03:00:00Z" and cached["state"] == "off"


def test_serve_public_url_is_checked_and_recorded_for_the_daemons_links(watched, emulator, db_path):
    from archivesync.db import app_state

    from .browser import start_server
    from .helpers import sync

    assert sync(db_path, emulator).status == "ok"
    env = cli_env(emulator)
    before = db_path.read_bytes()
    for bad in ("ftp://archive.example.jp", "archive.example.jp", f"https://u:{SECRET_PASS}@a.jp/"):
        result = run_cli(["serve", "--db", str(db_path), "--port", "0", "--public-url", bad], env)
        assert result.returncode == 2, result.stderr
        assert "public URL must" in result.stderr and "Traceback" not in result.stderr
        assert SECRET_PASS not in result.stderr
    assert db_path.read_bytes() == before
    server, _ = start_server(db_path, emulator, "--public-url", "https://archive.example.jp/c/")
    server.close()
    db = open_db(db_path)
    assert app_state.get(db, app_state.PUBLIC_URL) == "https://archive.example.jp/c"
    db.close()
    # The daemon links to what serve recorded, unless it has a public URL of its own.
    app_state.put(watched.db, app_state.PUBLIC_URL, "https://console.example.jp", "now")
    alone = Watcher(Sender([watched.receiver.url()]), lambda: watched.db, clock=watched.clock)
    alone.job_ended("rilg-full", "full", failed(41))
    assert watched.receiver.messages[-1]["message"].endswith(
        "コンソール: https://console.example.jp/"
    )
    watched.watcher().job_ended("rilg-other", "full", failed(42))  # --public-url given
    assert "コンソール: https://archive.example.jp/" in watched.receiver.messages[-1]["message"]
    # `notify test --db` links to the same recorded address.
    tested = run_cli(
        ["notify", "test", "--notify", watched.receiver.url(), "--db", str(db_path)], env
    )
    assert tested.returncode == 0, tested.stderr
    assert watched.receiver.messages[-1]["message"].endswith(
        "コンソール: https://archive.example.jp/c/"
    )


def _daemon_with(tmp_path, emulator, receiver, toml: str):
    """A daemon subprocess on the emulator, notifying `receiver`, with a link recorded by serve."""
    from archivesync.db import app_state

    from .test_daemon import DaemonProcess

    db = tmp_path / "archive.db"
    recorded = open_db(db)  # as `serve --public-url` leaves it: the daemon gets no --public-url
    app_state.put(recorded, app_state.PUBLIC_URL, "https://console.example.jp", "now")
    recorded.close()
    schedules = tmp_path / "schedules"
    schedules.mkdir()
    (schedules / "test.toml").write_text(toml, encoding="utf-8")
    return DaemonProcess(db, schedules, emulator, "--notify", receiver.url(SECRET_PATH))


def test_a_daemon_that_was_stopped_past_a_runs_grace_says_missed_once_then_recovered(
    tmp_path, emulator, receiver
):
    import os
    import signal
    import time

    daemon = _daemon_with(tmp_path, emulator, receiver, (
        '[[jobs]]\nid = "rilg-incremental"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\n'
        'mode = "incremental"\nevery = "6s"\ngrace = "1s"\n'
    ))  # fmt: skip
    try:
        (job,) = daemon.wait_for(lambda: daemon.events("job"), what="the job's first run time")
        due = datetime.fromisoformat(job["next_run"].replace("Z", "+00:00"))
        # The daemon is stopped (a suspended VM, say) across its first run time, and resumes
        # after the run's grace but before the next run time.
        os.kill(daemon.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(max((due - datetime.now(UTC)).total_seconds() + 3, 0))
        finally:
            os.kill(daemon.proc.pid, signal.SIGCONT)
        daemon.wait_for(lambda: receiver.messages, what="the missed run's message")
        daemon.wait_for(lambda: len(receiver.messages) >= 2, timeout=30, what="the recovery")
        assert len(daemon.events("job_missed")) == 1
        assert receiver.titles() == [
            "[archivesync] 予定の時刻に実行できませんでした（rilg-incremental）",
            "[archivesync] 回復: 予定の時刻に実行できませんでした（rilg-incremental）",
        ]
        missed = receiver.messages[0]["message"]
        assert "予定時刻" in missed and "対応:" in missed
        assert missed.endswith("コンソール: https://console.example.jp/")
        assert daemon.terminate()[0] == 0
    finally:
        daemon.close()


def test_a_daemons_replica_that_stalls_is_one_message_and_one_recovery(
    tmp_path, emulator, receiver
):
    import os
    import signal
    import time

    from archivesync.replication import litestream
    from archivesync.replication import status as replication_status

    replica = tmp_path / "replica"
    daemon = _daemon_with(tmp_path, emulator, receiver, (
        f'[replication]\nurl = "file://{replica}"\nstall_after = "4s"\n'
        '[[jobs]]\nid = "nightly"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\ncron = "0 3 * * *"\n'
    ))  # fmt: skip
    db = daemon.db
    try:

        def checked(**want):
            try:
                data = json.loads(replication_status.cache_path(db).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return data if all(data.get(k) == v for k, v in want.items()) else None

        daemon.wait_for(
            lambda: (checked(state="on", warnings=[]) or {}).get("replica"),
            timeout=30,
            what="a replica with a backup",
        )
        # Litestream still runs but replicates nothing; the daemon's heartbeats move on.
        pid = litestream.read_state(db)["pid"]
        os.kill(pid, signal.SIGSTOP)
        try:
            daemon.wait_for(lambda: receiver.messages, timeout=30, what="the stall's message")
            # `status`, another process, judges by the daemon's stall_after too.
            assert replication_status.collect(db)["warnings"], "status saw no stall"
            seen = checked()["checked_at"]
            # Checks go on (every 2 s with stall_after = "4s") and stay quiet.
            daemon.wait_for(lambda: checked()["checked_at"] > seen, what="another check")
            seen = checked()["checked_at"]
            daemon.wait_for(lambda: checked()["checked_at"] > seen, what="a third check")
            assert len(receiver.messages) == 1
        finally:
            os.kill(pid, signal.SIGCONT)
        daemon.wait_for(lambda: len(receiver.messages) >= 2, timeout=30, what="the recovery")
        time.sleep(2.5)  # another check: still nothing new
        assert receiver.titles() == [
            "[archivesync] バックアップ（Litestream のレプリカ）が止まっているか遅れています"
            f"（file://{replica}）",
            "[archivesync] 回復: バックアップ（Litestream のレプリカ）が止まっているか遅れています"
            f"（file://{replica}）",
        ]
        assert "has not advanced" in receiver.messages[0]["message"]
        assert receiver.messages[0]["message"].endswith("コンソール: https://console.example.jp/")
        assert daemon.terminate()[0] == 0
    finally:
        daemon.close()


def test_an_old_token_file_learns_its_expiry_at_a_refresh_and_the_daemon_warns(watched, emulator):
    import os
    import stat
    import time

    from archivesync.errors import AuthError
    from archivesync.oauth import ensure_fresh, load_credentials

    from .oauth_helpers import write_token_file

    # A file from before `auth` recorded expiries, for a published app: nothing to learn.
    old = write_token_file(watched.dir / "token.json", emulator)
    before = old.read_text()
    ensure_fresh(load_credentials(old), token_file=old, now=watched.clock.now)
    assert old.read_text() == before
    # A time-limited grant: Google's refresh answer says how long the refresh token has left.
    emulator.oauth.refresh_token_lifetime = 7 * 86400
    old = write_token_file(watched.dir / "testing.json", emulator)
    before = json.loads(old.read_text())
    ensure_fresh(load_credentials(old), token_file=old, now=watched.clock.now)
    after = json.loads(old.read_text())
    expires = datetime.fromisoformat(after.pop("refresh_token_expires_at").replace("Z", "+00:00"))
    assert after == before and stat.S_IMODE(os.stat(old).st_mode) == 0o600
    assert timedelta(days=7) - timedelta(seconds=30) <= expires - watched.clock.now
    assert expires - watched.clock.now <= timedelta(days=7)
    w = watched.watcher()
    w.token_checked(old)
    assert watched.receiver.messages == []  # seven days left
    watched.clock.now = expires - timedelta(hours=36)
    w.token_checked(old)
    w.token_checked(old)
    assert watched.receiver.titles() == [
        "[archivesync] OAuth の更新トークンの期限が近づいています（OAuth）"
    ]
    assert "残り 36 時間" in watched.receiver.messages[0]["message"]
    # Past its life the token endpoint refuses the grant, as Google does.
    emulator.oauth.clock = lambda: time.time() + 8 * 86400
    with pytest.raises(AuthError, match="invalid_grant"):
        ensure_fresh(load_credentials(old), token_file=old)


def test_a_daemon_whose_runs_fail_and_whose_grant_is_revoked_says_each_once_then_recovered(
    tmp_path, emulator, receiver, monkeypatch
):
    """Through a real daemon subprocess: a sync that fails at every run and an analytics job
    whose OAuth grant was revoked are one Japanese message each, however many runs fail, and
    one recovery each once they work again."""
    from .helpers import sync
    from .oauth_helpers import refresh_token_of, write_token_file

    assert sync(tmp_path / "archive.db", emulator, full=True).status == "ok"
    token = write_token_file(tmp_path / "token.json", emulator)
    emulator.oauth.revoke(refresh_token_of(token))
    emulator.inject_fault("500", count=100_000)  # every Data API call fails
    monkeypatch.setenv("ARCHIVESYNC_OAUTH_TOKEN_FILE", str(token))
    monkeypatch.setenv("ARCHIVESYNC_RETRY_BASE_SECONDS", "0.01")
    daemon = _daemon_with(tmp_path, emulator, receiver, (
        '[[jobs]]\nid = "rilg-incremental"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\n'
        'mode = "incremental"\nevery = "1s"\n'
        '[[jobs]]\nid = "rilg-analytics"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\n'
        'mode = "analytics"\nevery = "1s"\n'
    ))  # fmt: skip

    try:
        daemon.wait_for(
            lambda: len(receiver.messages) >= 2 and daemon.events("run_finished"),
            timeout=60,
            what="both problems told",
        )
        seen = len(daemon.events("run_finished"))
        daemon.wait_for(
            lambda: len(daemon.events("run_finished")) >= seen + 4,
            timeout=60,
            what="more failing runs",
        )
        assert sorted(receiver.titles()) == [
            "[archivesync] OAuth の許可が拒否されました（invalid_grant）（OAuth）",
            "[archivesync] 同期が失敗しました（rilg-incremental）",
        ], receiver.titles()
        refused = next(m for m in receiver.messages if "OAuth" in m["title"])["message"]
        assert "invalid_grant" in refused and "対応:" in refused
        assert refused.endswith("コンソール: https://console.example.jp/")
        # Back to work: the API answers again and the grant is given anew (`archivesync auth`).
        emulator.clear_faults()
        write_token_file(token, emulator)
        daemon.wait_for(lambda: len(receiver.messages) >= 4, timeout=60, what="both recoveries")
        seen = len(daemon.events("run_finished"))
        daemon.wait_for(
            lambda: len(daemon.events("run_finished")) >= seen + 4,
            timeout=60,
            what="more good runs",
        )
        assert sorted(receiver.titles()[2:]) == [
            "[archivesync] 回復: OAuth の許可が拒否されました（invalid_grant）（OAuth）",
            "[archivesync] 回復: 同期が失敗しました（rilg-incremental）",
        ], receiver.titles()
        assert daemon.terminate()[0] == 0
    finally:
        daemon.close()
