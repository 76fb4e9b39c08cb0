"""An interrupted CLI run exits 128 + the signal, so `sync && export` stops; the run resumes.

The daemon's own shutdown keeps exiting 0 (tests/test_daemon.py checks that).
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import sqlite_utils

from .helpers import PYTHON, SAMPLE_CHANNEL, cli_env, sync

CHANNEL = ["--channel", SAMPLE_CHANNEL]


def runs(db_path) -> list[dict]:
    db = sqlite_utils.Database(db_path) if db_path.exists() else None
    if db is None or not db["sync_runs"].exists():  # not created, or not migrated yet
        return []
    return list(db.query("SELECT * FROM sync_runs ORDER BY id"))


def catches_sigterm(pid: int) -> bool:
    """Has the process installed a SIGTERM handler (Python only ever does for ours)?"""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        caught = next(line for line in status if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def interrupt(args, emu, db_path, signum) -> subprocess.CompletedProcess:
    """Start `archivesync ARGS`, send `signum` once a page is committed, return how it ended."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "archivesync", *args],
        env=cli_env(emu),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not any(r["status"] == "running" and r["pages"] >= 1 for r in runs(db_path)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no run under way"
            time.sleep(0.05)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_sync_exits_128_plus_the_signal_and_resumes(emulator, db_path, signum, code):
    emulator.latency_ms = 300  # a full sync takes seconds: time to stop it half-way

    result = interrupt(
        ["sync", "--db", str(db_path), "--channel", SAMPLE_CHANNEL, "--full"],
        emulator,
        db_path,
        signum,
    )

    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert "interrupted" in result.stderr  # the summary, on stderr like any failure
    (run,) = runs(db_path)
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    emulator.latency_ms = 0
    assert sync(db_path, emulator, full=True).status == "ok"  # the next run finishes the job


def test_interrupted_sync_json_keeps_the_signal_exit_code(emulator, db_path):
    emulator.latency_ms = 300
    result = interrupt(
        ["sync", "--db", str(db_path), "--channel", SAMPLE_CHANNEL, "--full", "--json"],
        emulator,
        db_path,
        signal.SIGINT,
    )
    assert result.returncode == 130, result.stderr
    assert '"status": "interrupted"' in result.stdout


def test_resync_run_here_exits_143_on_sigterm(emulator, db_path):
    assert sync(db_path, emulator, full=True).status == "ok"
    emulator.latency_ms = 300

    result = interrupt(
        ["resync", "--db", str(db_path), "--channel", SAMPLE_CHANNEL, "--full", "--by", "ops"],
        emulator,
        db_path,
        signal.SIGTERM,
    )

    assert result.returncode == 143, result.stderr
    assert "Traceback" not in result.stderr
    assert runs(db_path)[-1]["status"] == "interrupted"
    (request,) = sqlite_utils.Database(db_path).query("SELECT * FROM sync_requests")
    assert request["status"] == "interrupted"


def test_sync_waiting_for_the_lease_exits_130_when_stopped(emulator, db_path):
    from archivesync.sync.lease import Lease

    assert sync(db_path, emulator).status == "ok"
    with Lease(db_path) as lease:
        assert lease.try_acquire()
        proc = subprocess.Popen(
            [PYTHON, "-m", "archivesync", "sync", "--wait", "--db", str(db_path), *CHANNEL],
            env=cli_env(emulator),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while not catches_sigterm(proc.pid):  # our handlers are in: it is waiting now
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
