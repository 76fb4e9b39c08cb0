"""What a person sees while a sync runs: the phase and the time so far, what --wait waits
for, and the per-page detail -v adds."""

from __future__ import annotations

import io
import subprocess
import threading
import time

import sqlite_utils

from archivesync.db.schema import open_db
from archivesync.reporting import progress_reporter
from archivesync.sync.lease import Lease

from .helpers import PYTHON, SAMPLE_CHANNEL, cli_env, run_cli, sync


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def figures(phase, seen, total, pages=1):
    return {"phase": phase, "videos_seen": seen, "total": total, "pages": pages,
            "quota_units": pages}  # fmt: skip


def test_the_terminal_line_names_the_phase_and_the_time_so_far():
    screen = Terminal()
    report = progress_reporter("sync", stream=screen)
    report(figures("uploads and videos", 2500, 5000))
    first = screen.getvalue().rsplit("\r", 1)[1]
    assert first.startswith("sync: uploads and videos: [###############               ] 2500/5000")
    assert first.rstrip().endswith(", 0:00")
    report(figures("playlists", 5000, 5000, pages=120))
    line = screen.getvalue().rsplit("\r", 1)[1]
    # No bar stuck at 5000/5000 during the playlists phase.
    assert line.startswith("sync: playlists: 5000 videos, 120 pages, 120 units, 0:00")
    assert "[" not in line
    # A shorter line wipes what the longer one left behind.
    assert len(line) >= len(first)


def test_a_full_sync_goes_through_its_phases_in_order(emulator, db_path):
    seen = []
    outcome = sync(db_path, emulator, full=True, progress=lambda f: seen.append(f["phase"]))
    assert outcome.status == "ok"
    phases = list(dict.fromkeys(seen))
    assert phases == ["channel", "uploads and videos", "removals", "playlists", "finishing"]


def test_verbose_logs_every_page_and_the_phases(emulator, db_path):
    result = run_cli(
        ["sync", "--db", str(db_path), "--channel", SAMPLE_CHANNEL, "-v"], cli_env(emulator)
    )
    assert result.returncode == 0, result.stderr
    run_id = 1
    assert f"run {run_id}: page 1 committed (channel)" in result.stderr
    assert f"run {run_id}: playlists" in result.stderr
    assert "sync progress (playlists):" in result.stderr
    assert " elapsed" in result.stderr
    quiet = run_cli(["sync", "--db", str(db_path), "--channel", SAMPLE_CHANNEL], cli_env(emulator))
    assert "committed" not in quiet.stderr


def test_sync_wait_says_which_run_it_waits_for(emulator, db_path):
    db = open_db(db_path)
    db["sync_runs"].insert(
        {
            "channel_id": SAMPLE_CHANNEL,
            "mode": "full",
            "trigger": "schedule",
            "started_at": "2026-01-01T00:00:00Z",
            "status": "running",
            "pid": 4242,
        }
    )
    db.close()
    lease = Lease(db_path)
    assert lease.try_acquire()
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "archivesync",
            "sync",
            "--db",
            str(db_path),
            "--channel",
            SAMPLE_CHANNEL,
            "--wait",
        ],
        env=cli_env(emulator),
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    # Kills a sync that would wait in silence forever, so that readline() returns.
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        line = proc.stderr.readline()
        assert (
            "waiting for sync run 1 (full UCX__Mlqfalo-NO1zAHhhuNw, trigger schedule, pid 4242"
            in line
        )
        time.sleep(0.3)
        assert proc.poll() is None
    finally:
        lease.release()
        watchdog.cancel()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    runs = list(sqlite_utils.Database(db_path).query("SELECT id, status FROM sync_runs"))
    assert [r["status"] for r in runs][-1] == "ok"
