"""Faults, quota and kill -9: the index is never damaged and known data is never lost."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from types import SimpleNamespace

import pytest
import sqlite_utils

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset, synthetic_dataset
from archivesync.emulator.server import BODY_FAULTS
from archivesync.errors import EXIT_ERROR, EXIT_QUOTA
from archivesync.sync.channel import run_sync
from archivesync.sync.lease import Lease
from archivesync.sync.run import Settings, Target

from .helpers import FIXTURES, PYTHON, cli_env, run_cli, sync

CHANNEL = "UCquirksquirksquirks0001"
VOLATILE = {"first_seen_at", "last_synced_at", "last_full_sync_at", "observed_at", "changed_at"}


def snapshot(db_path) -> dict:
    """The index's content without the sync's own timestamps and bookkeeping."""
    db = sqlite_utils.Database(db_path)
    out = {}
    for table in ("channels", "videos", "chapters", "playlists", "playlist_items", "video_stats"):
        out[table] = sorted(
            tuple((k, v) for k, v in row.items() if k not in VOLATILE)
            for row in db.query(f"SELECT * FROM {table}")
        )
    return out


@pytest.fixture(scope="module")
def clean_quirks_snapshot(tmp_path_factory):
    path = tmp_path_factory.mktemp("clean") / "clean.db"
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        assert sync(path, emu, CHANNEL).status == "ok"
    return snapshot(path)


@pytest.mark.parametrize(
    "faults",
    [
        [("503", "videos"), ("503", "videos")],
        [("429", "playlistItems")],
        [("rate_limit_403", "channels")],
        [("user_rate_limit_403", "playlists")],
        [("500", None)],
        [("reset", "videos")],
        [("reset", "playlistItems")],
        [("truncate", "videos")],
        [("truncate", "playlistItems")],
        # 200 answers whose body is whole but not the JSON object the call returns.
        [("short_200", "videos")],
        [("short_200", "playlistItems")],
        [("html_200", "channels")],
        [("html_200", "playlists")],
        [("empty_200", "videos")],
        [("array_200", "playlistItems")],
        [("string_200", "videos")],
    ],
    ids=lambda f: "+".join(k for k, _ in f),
)
def test_transient_faults_leave_the_same_index_as_a_clean_run(
    faults, db_path, clean_quirks_snapshot
):
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        for kind, endpoint in faults:
            emu.inject_fault(kind, endpoint=endpoint)
        outcome = sync(db_path, emu, CHANNEL)
        assert emu.pending_faults() == 0  # every fault was met and retried past
        assert emu.units_spent() == 6 + len(faults)
    assert (outcome.status, outcome.exit_code) == ("ok", 0), outcome.message
    assert snapshot(db_path) == clean_quirks_snapshot


def test_permanent_errors_fail_clearly_without_retrying_forever(db_path):
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        for _ in range(20):
            emu.inject_fault("503", endpoint="channels")
        outcome = sync(db_path, emu, CHANNEL, settings=Settings(retries=2))
    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    assert "still failing after 2 retries" in outcome.message


def test_quota_cut_mid_full_resync_removes_nothing_and_next_run_completes(db_path):
    dataset = synthetic_dataset(600)
    channel = dataset.channel_id
    with Emulator(dataset) as emu:
        assert sync(db_path, emu, channel).status == "ok"
        full_cost = emu.units_spent()
        before = snapshot(db_path)
        # A quota that runs out half-way through the re-sync.
        emu.quota = full_cost + full_cost // 2
        outcome = sync(db_path, emu, channel, full=True)
        assert (outcome.status, outcome.exit_code) == ("quota_exhausted", EXIT_QUOTA)
        db = sqlite_utils.Database(db_path)
        assert list(db.query("SELECT count(*) n FROM videos WHERE removed_at IS NOT NULL")) == [
            {"n": 0}
        ]
        assert list(db.query("SELECT status FROM sync_runs ORDER BY id")) == [
            {"status": "ok"},
            {"status": "quota_exhausted"},
        ]
        assert snapshot(db_path)["videos"] == before["videos"]
        emu.quota = 10 * full_cost  # the Pacific-time reset
        outcome = sync(db_path, emu, channel, full=True)
    assert outcome.status == "ok"
    assert snapshot(db_path)["videos"] == before["videos"]


def test_own_budget_stops_before_the_call(db_path):
    dataset = synthetic_dataset(300)
    with Emulator(dataset) as emu:
        outcome = sync(
            db_path, emu, dataset.channel_id, settings=Settings(daily_budget=8, safety_margin=2)
        )
        spent = emu.units_spent()
    assert (outcome.status, outcome.exit_code) == ("quota_exhausted", EXIT_QUOTA)
    assert spent == 6  # budget 8 less the margin: the seventh call is never sent
    db = sqlite_utils.Database(db_path)
    assert list(db.query("SELECT units FROM quota_usage")) == [{"units": 6}]
    assert list(db.query("SELECT quota_units FROM sync_runs")) == [{"quota_units": 6}]


def test_second_writer_is_refused_with_the_run_named(db_path):
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        sync(db_path, emu, CHANNEL)
        db = sqlite_utils.Database(db_path)
        db["sync_runs"].insert(
            {
                "mode": "full",
                "trigger": "schedule",
                "started_at": "2026-01-01T00:00:00Z",
                "status": "running",
                "channel_id": CHANNEL,
                "pid": 4242,
            }
        )
        holder = Lease(db_path)
        assert holder.try_acquire()
        try:
            result = run_cli(
                ["sync", "--db", str(db_path), "--channel", CHANNEL], cli_env(emu), timeout=60
            )
        finally:
            holder.release()
        assert result.returncode == 1
        assert "sync run 2" in result.stderr and "pid 4242" in result.stderr
        assert "Traceback" not in result.stderr
        # With the lease free again, the stale `running` row is recognised as interrupted.
        assert sync(db_path, emu, CHANNEL).status == "ok"
    statuses = [r["status"] for r in db.query("SELECT status FROM sync_runs ORDER BY id")]
    assert statuses == ["ok", "interrupted", "ok"]


@pytest.mark.parametrize("kill_after_pages", [1, 4, 9])
def test_sigkill_at_any_point_leaves_an_intact_index_that_the_next_run_completes(
    kill_after_pages, tmp_path
):
    dataset = synthetic_dataset(500)
    channel = dataset.channel_id
    clean = tmp_path / "clean.db"
    killed = tmp_path / "killed.db"
    with Emulator(dataset) as emu:
        assert sync(clean, emu, channel).status == "ok"
        emu.latency_ms = 30
        proc = subprocess.Popen(
            [PYTHON, "-m", "archivesync", "sync", "--db", str(killed), "--channel", channel],
            env=cli_env(emu),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = sqlite3.connect(killed)
                row = conn.execute("SELECT max(pages) FROM sync_runs").fetchone()
                conn.close()
            except sqlite3.Error:
                row = None
            if row and row[0] is not None and row[0] >= kill_after_pages:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        conn = sqlite3.connect(killed)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT status FROM sync_runs").fetchall() == [("running",)]
        conn.close()
        emu.latency_ms = 0
        outcome = sync(killed, emu, channel)
    assert outcome.status == "ok", outcome.message
    db = sqlite_utils.Database(killed)
    assert [r["status"] for r in db.query("SELECT status FROM sync_runs ORDER BY id")] == [
        "interrupted",
        "ok",
    ]
    assert snapshot(killed)["videos"] == snapshot(clean)["videos"]
    assert snapshot(killed)["playlist_items"] == snapshot(clean)["playlist_items"]


@pytest.mark.parametrize("kind", BODY_FAULTS)
def test_a_malformed_answer_that_persists_fails_the_run_cleanly(kind, db_path):
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        emu.inject_fault(kind, endpoint="playlistItems", count=20)
        outcome = sync(db_path, emu, CHANNEL, settings=Settings(retries=2))
        assert emu.calls("playlistItems") == 3  # the first try and 2 retries, all refused
    assert (outcome.status, outcome.exit_code) == ("failed", EXIT_ERROR)
    assert "still failing after 2 retries (malformed answer" in outcome.message
    assert "unexpected" not in outcome.message
    db = sqlite_utils.Database(db_path)
    assert list(db.query("SELECT status, error FROM sync_runs")) == [
        {"status": "failed", "error": outcome.message}
    ]


def test_a_malformed_answer_from_the_cli_is_one_line_and_exit_1(db_path):
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        emu.inject_fault("html_200", endpoint="videos", count=50)
        result = run_cli(["sync", "--db", str(db_path), "--channel", CHANNEL], cli_env(emu))
    assert result.returncode == EXIT_ERROR
    assert "Traceback" not in result.stderr and "AttributeError" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "videos.list (4 ids): still failing after 6 retries (malformed answer: HTML, not JSON)"
    )
    db = sqlite_utils.Database(db_path)
    assert [r["status"] for r in db.query("SELECT status FROM sync_runs")] == ["failed"]


def _closed_port_url() -> str:
    """A loopback URL where nothing listens: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_endpoint_is_given_up_soon_charges_nothing_and_is_named(db_path):
    url = _closed_port_url()
    outcome = run_sync(
        db_path,
        Target("channel", [CHANNEL]),
        api_key=DEMO_API_KEY,
        endpoint=url,
        settings=Settings(retries=6),
    )
    assert (outcome.status, outcome.exit_code) == ("failed", EXIT_ERROR)
    assert url in outcome.message and "after 3 attempts" in outcome.message
    # Three attempts (the first and CONNECT_RETRIES), not the 7 that `retries` allows...
    assert outcome.figures["api_calls"] == 3
    # ...and none of them charged: no request reached a server.
    assert outcome.figures["quota_units"] == 0
    db = sqlite_utils.Database(db_path)
    assert list(db.query("SELECT coalesce(sum(units), 0) AS n FROM quota_usage")) == [{"n": 0}]
    assert list(db.query("SELECT status, api_calls, quota_units FROM sync_runs")) == [
        {"status": "failed", "api_calls": 3, "quota_units": 0}
    ]


def test_an_unreachable_endpoint_from_the_cli_names_the_url(db_path):
    url = _closed_port_url()
    env = cli_env(SimpleNamespace(url=url))  # the same environment, at a dead endpoint
    result = run_cli(["sync", "--db", str(db_path), "--channel", CHANNEL], env)
    assert result.returncode == EXIT_ERROR
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"cannot reach the API at {url}" in last
