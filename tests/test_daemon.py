"""The daemon as it is deployed: a subprocess with a schedule directory, against the emulator."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from itertools import combinations
from pathlib import Path

import pytest
import sqlite_utils

from archivesync.emulator import DEMO_API_KEY
from archivesync.sync.lease import Lease
from archivesync.sync.requests import enqueue
from archivesync.sync.run import Target

from .helpers import PYTHON, SAMPLE_CHANNEL, cli_env, run_cli


def schedule(directory: Path, *, every: str = "1s", mode: str = "full") -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "test.toml").write_text(
        f'[[jobs]]\nid = "test-job"\nchannel = "{SAMPLE_CHANNEL}"\nmode = "{mode}"\n'
        f'every = "{every}"\n',
        encoding="utf-8",
    )
    return directory


class DaemonProcess:
    """`archivesync daemon` in a subprocess, with its JSON log lines at hand."""

    def __init__(self, db: Path, schedules: Path, emu, *extra: str):
        self.db = db
        self.log_path = db.parent / f"daemon-{time.monotonic_ns()}.log"
        # A file, not a pipe: a full pipe would block the daemon. Closed in close().
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "archivesync",
                "daemon",
                "--db",
                str(db),
                "--schedules",
                str(schedules),
                "--api-endpoint",
                emu.url,
                "--log-format",
                "json",
                *extra,
            ],
            env=cli_env(emu),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def stderr(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def events(self, name: str | None = None) -> list[dict]:
        found = []
        for line in self.stderr().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if name is None or entry.get("event") == name:
                found.append(entry)
        return found

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"daemon exited ({self.proc.returncode}) waiting for {what}:\n" + self.stderr()
                )
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}:\n{self.stderr()}")

    def terminate(self) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def start_daemon(tmp_path):
    started: list[DaemonProcess] = []

    def start(db, schedules, emu, *extra):
        daemon = DaemonProcess(db, schedules, emu, *extra)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()


def runs(db: Path) -> list[dict]:
    if not db.exists():
        return []
    try:
        return list(sqlite_utils.Database(db).query("SELECT * FROM sync_runs ORDER BY id"))
    except sqlite3.OperationalError:  # tables not created yet
        return []


def query(db: Path, sql: str, params=()) -> list[dict]:
    return list(sqlite_utils.Database(db).query(sql, params))


def test_schedule_and_resync_runs_take_turns_and_sigterm_stops_cleanly(
    emulator, db_path, tmp_path, start_daemon
):
    emulator.latency_ms = 150  # a full sync of the sample takes about a second
    daemon = start_daemon(db_path, schedule(tmp_path / "schedules"), emulator, "-v")
    daemon.wait_for(lambda: any(r["status"] == "ok" for r in runs(db_path)), what="a scheduled run")
    # Ask for a resync while a scheduled run holds the worker, so it has to queue behind it.
    daemon.wait_for(
        lambda: any(r["status"] == "running" for r in runs(db_path)), what="a running run"
    )
    resync = run_cli(
        [
            "resync",
            "--db",
            str(db_path),
            "--channel",
            SAMPLE_CHANNEL,
            "--full",
            "--wait",
            "--by",
            "alice",
        ],
        cli_env(emulator),
        timeout=30,
    )
    assert resync.returncode == 0, resync.stderr
    assert "queued for the daemon" in resync.stderr
    assert ": ok;" in resync.stdout  # the run summary
    request = query(db_path, "SELECT * FROM sync_requests")[0]
    assert (request["status"], request["requested_by"], request["exit_code"]) == (
        "done",
        "alice",
        0,
    )
    assert (request["target_kind"], request["target_id"], request["mode"]) == (
        "channel",
        SAMPLE_CHANNEL,
        "full",
    )
    manual = query(db_path, "SELECT * FROM sync_runs WHERE id = ?", [request["run_id"]])[0]
    assert (manual["trigger"], manual["status"], manual["mode"]) == ("manual", "ok", "full")
    # The schedule carries on after the request.
    daemon.wait_for(
        lambda: any(r["id"] > manual["id"] and r["status"] == "ok" for r in runs(db_path)),
        what="a scheduled run after the request",
    )

    code, seconds = daemon.terminate()
    assert code == 0, daemon.stderr()
    assert seconds < 5
    assert "Traceback" not in daemon.stderr()
    assert DEMO_API_KEY not in daemon.stderr()

    rows = runs(db_path)
    assert [r["trigger"] for r in rows].count("manual") == 1
    assert {r["trigger"] for r in rows if r["id"] != manual["id"]} == {"schedule"}
    assert not [r for r in rows if r["status"] == "running"]
    assert all(r["status"] in ("ok", "interrupted") for r in rows)
    for a, b in combinations(rows, 2):
        assert a["finished_at"] <= b["started_at"] or b["finished_at"] <= a["started_at"], (a, b)
    # The log's sub-second timestamps show each run ending before the next one starts.
    sequence = [(e["event"], e["run_id"]) for e in daemon.events() if e.get("run_id")]
    assert sequence == [(event, r["id"]) for r in rows for event in ("run_started", "run_finished")]
    finished = {e["run_id"]: e for e in daemon.events("run_finished")}
    assert finished[manual["id"]]["requested_by"] == "alice"
    assert finished[manual["id"]]["quota_units"] == manual["quota_units"] > 0
    beat = query(db_path, "SELECT * FROM daemon_heartbeat")[0]
    assert beat["stopped_at"] is not None and beat["pid"] == daemon.proc.pid


def test_sigterm_mid_run_records_interrupted_within_seconds(
    emulator, db_path, tmp_path, start_daemon
):
    emulator.latency_ms = 500  # a full sync would take several seconds
    daemon = start_daemon(db_path, schedule(tmp_path / "schedules"), emulator)
    daemon.wait_for(
        lambda: any(r["status"] == "running" and r["pages"] >= 1 for r in runs(db_path)),
        what="a run under way",
    )
    code, seconds = daemon.terminate()
    assert code == 0, daemon.stderr()
    assert seconds < 3, daemon.stderr()
    (run,) = runs(db_path)
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    assert run["trigger"] == "schedule"
    assert daemon.events("stopping") and daemon.events("daemon_stopped")
    (end,) = daemon.events("run_finished")
    assert (end["run_id"], end["status"]) == (run["id"], "interrupted")


def test_heartbeat_tells_the_daemon_is_alive_and_what_comes_next(
    emulator, db_path, tmp_path, start_daemon
):
    daemon = start_daemon(db_path, schedule(tmp_path / "schedules", every="1h"), emulator)

    def beat():
        rows = query_heartbeat(db_path)
        return rows[0] if rows else None

    first = daemon.wait_for(beat, what="a heartbeat")
    assert first["pid"] == daemon.proc.pid and first["stopped_at"] is None
    assert first["schedules_dir"] == str((tmp_path / "schedules").resolve())
    (job,) = json.loads(first["jobs"])
    assert (job["id"], job["channel"], job["mode"]) == ("test-job", SAMPLE_CHANNEL, "full")
    assert job["next_run_at"] > first["started_at"]
    later = daemon.wait_for(
        lambda: (b := beat()) and b["heartbeat_at"] > first["heartbeat_at"] and b,
        timeout=6,
        what="a second heartbeat",
    )
    assert later["started_at"] == first["started_at"]
    status = run_cli(["status", "--db", str(db_path), "--json"], cli_env(emulator), timeout=30)
    report = json.loads(status.stdout)
    assert report["daemon"]["alive"] and report["daemon"]["pid"] == daemon.proc.pid
    assert [j["id"] for j in report["schedule"]] == ["test-job"]

    second = run_cli(
        [
            "daemon",
            "--db",
            str(db_path),
            "--schedules",
            str(tmp_path / "schedules"),
            "--api-endpoint",
            emulator.url,
        ],
        cli_env(emulator),
        timeout=30,
    )
    assert second.returncode == 1
    assert "another daemon is already running" in second.stderr
    assert "Traceback" not in second.stderr

    code, _ = daemon.terminate()
    assert code == 0
    assert query_heartbeat(db_path)[0]["stopped_at"] is not None


def query_heartbeat(db: Path) -> list[dict]:
    if not db.exists():
        return []
    try:
        return query(db, "SELECT * FROM daemon_heartbeat WHERE heartbeat_at IS NOT NULL")
    except sqlite3.OperationalError:
        return []


def test_scheduled_job_skips_while_a_cli_sync_holds_the_database(
    emulator, db_path, tmp_path, start_daemon
):
    lease = Lease(db_path)
    assert lease.try_acquire()  # as a long `archivesync sync` would
    try:
        daemon = start_daemon(db_path, schedule(tmp_path / "schedules", every="1s"), emulator)
        skipped = daemon.wait_for(
            lambda: [e for e in daemon.events("job_skipped") if e["reason"] == "lease"],
            what="a job skipped for the lease",
        )
        assert skipped[0]["job"] == "test-job"
        assert "is writing to this database" in skipped[0]["message"]
        assert runs(db_path) == []
    finally:
        lease.release()
    daemon.wait_for(
        lambda: any(r["status"] == "ok" for r in runs(db_path)), what="a run after the lease"
    )
    code, _ = daemon.terminate()
    assert code == 0, daemon.stderr()[-4000:]


def test_requests_queued_while_no_daemon_ran_are_served_at_start(
    emulator, db_path, tmp_path, start_daemon
):
    from archivesync.db.schema import open_db

    db = open_db(db_path)
    request_id = enqueue(db, Target("playlist", ["PLnotarealplaylist000"]), "bob")
    db.close()
    daemon = start_daemon(db_path, schedule(tmp_path / "schedules", every="1h"), emulator)
    request = daemon.wait_for(
        lambda: [
            r
            for r in query(db_path, "SELECT * FROM sync_requests WHERE id = ?", [request_id])
            if r["status"] not in ("queued", "running")
        ],
        what="the request to be served",
    )[0]
    assert (request["status"], request["exit_code"]) == ("failed", 1)
    assert "not found" in request["error"]
    run = query(db_path, "SELECT * FROM sync_runs WHERE id = ?", [request["run_id"]])[0]
    assert (run["trigger"], run["mode"], run["status"]) == ("manual", "playlist", "failed")
    code, _ = daemon.terminate()
    assert code == 0


def test_broken_schedule_file_is_refused_before_start(emulator, db_path, tmp_path):
    schedules = schedule(tmp_path / "schedules")
    (schedules / "broken.toml").write_text(
        f'[[jobs]]\nid = "bad"\nchannel = "{SAMPLE_CHANNEL}"\ncron = "0 3 * * 9"\n',
        encoding="utf-8",
    )
    result = run_cli(
        ["daemon", "--db", str(db_path), "--schedules", str(schedules)],
        cli_env(emulator),
        timeout=30,
    )
    assert result.returncode == 1
    assert str(schedules / "broken.toml") in result.stderr
    assert "job 'bad'" in result.stderr and "out of range" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedules", "{tmp}/nowhere"], "does not exist"),
        (["--schedules", "{tmp}", "--api-endpoint", "ftp://x"], "must start with http"),
    ],
)
def test_daemon_setup_mistakes_exit_1(emulator, db_path, tmp_path, args, message):
    schedule(tmp_path)
    result = run_cli(
        ["daemon", "--db", str(db_path), *[a.format(tmp=tmp_path) for a in args]],
        cli_env(emulator),
        timeout=30,
    )
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_daemon_embeds_after_a_run_that_changed_the_index(
    emulator, db_path, tmp_path, start_daemon
):
    from archivesync.db.schema import open_db

    # A resync that adds a video (one with no chapters: one passage, a quick embed); the
    # meaning index follows on its own thread.
    db = open_db(db_path)
    enqueue(db, Target("videos", ["Xa3vN8pQe1s"]), "test")
    db.close()
    daemon = start_daemon(db_path, schedule(tmp_path / "schedules", every="1h"), emulator)
    finished = daemon.wait_for(
        lambda: daemon.events("embed_finished"), timeout=120, what="the meaning index"
    )
    assert finished[0]["embedded"] > 0
    count = query(db_path, "SELECT count(*) AS n FROM meaning_passages")[0]["n"]
    assert count == finished[0]["passages"] == finished[0]["embedded"] == 1
    # And it leaves the vector file a new search process memory-maps (search/vector_file.py).
    assert Path(f"{db_path}.meaning-vectors").is_file()
    assert daemon.terminate()[0] == 0
