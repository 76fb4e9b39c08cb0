"""`archivesync status`: what staff see of the daemon, runs, requests, quota and schedule."""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from archivesync.db.schema import open_db, open_readonly
from archivesync.worker import status

from .helpers import PYTHON, SAMPLE_CHANNEL, cli_env, sync

NOW = datetime(2025, 1, 6, 7, 0, 0, tzinfo=UTC)  # 23:00 on 2025-01-05 in California


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_status(db_path, emu, *args):
    return subprocess.run(
        [PYTHON, "-m", "archivesync", "status", "--db", str(db_path), *args],
        env=cli_env(emu),
        capture_output=True,
        text=True,
        timeout=60,
    )


def dead_pid() -> int:
    child = subprocess.Popen([PYTHON, "-c", "pass"])
    child.wait()
    return child.pid


def test_missing_database_is_a_clear_error(emulator, tmp_path):
    db = tmp_path / "nope.db"
    result = run_status(db, emulator)
    assert result.returncode == 1
    assert f"database '{db}' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


def test_after_a_sync(emulator, db_path):
    outcome = sync(db_path, emulator, full=True)
    result = run_status(db_path, emulator, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["daemon"] == {"state": "never started", "alive": False}
    assert report["current_runs"] == []
    (channel,) = report["channels"]
    assert channel["channel_id"] == SAMPLE_CHANNEL and channel["title"]
    assert channel["last_full_sync_at"] is not None
    last = channel["last_run"]
    assert (last["id"], last["status"], last["mode"]) == (outcome.run_id, "ok", "full")
    assert {k: last[k] for k in outcome.figures} == outcome.figures
    spent = outcome.figures["quota_units"]
    assert report["quota"]["spent"] == spent > 0
    assert report["quota"]["left"] == 10_000 - spent
    assert report["requests"] == {"active": [], "recent": []}
    assert report["schedule"] == []

    text = run_status(db_path, emulator, "--daily-budget", "50").stdout
    assert "Daemon: never started" in text
    assert "Current run: none" in text
    assert f"  {SAMPLE_CHANNEL} ({channel['title']})" in text
    assert f"last run {outcome.run_id}: ok (full, cli)" in text
    assert f"{spent} of 50 units spent, {50 - spent} left" in text
    assert "Next scheduled runs: none (the daemon is not running)" in text


def seed(db_path) -> dict:
    """A database in the middle of a busy day, as the daemon and staff would leave it."""
    db = open_db(db_path)

    def ago(seconds: float) -> str:
        return iso(NOW - timedelta(seconds=seconds))

    db["channels"].insert(
        {"id": "UCaaaaaaaaaaaaaaaaaaaaaa", "title": "A", "last_synced_at": ago(60)}
    )
    base = {
        "channel_id": "UCaaaaaaaaaaaaaaaaaaaaaa",
        **dict.fromkeys(status.FIGURES, 0),
        "api_calls": 3,
        "quota_units": 3,
    }
    db["sync_runs"].insert_all(
        [
            {
                **base,
                "id": 1,
                "mode": "full",
                "trigger": "schedule",
                "status": "ok",
                "started_at": ago(4000),
                "finished_at": ago(3900),
                "videos_added": 5,
            },
            {
                **base,
                "id": 2,
                "mode": "incremental",
                "trigger": "schedule",
                "status": "quota_exhausted",
                "started_at": ago(100),
                "finished_at": ago(90),
                "error": "daily quota budget reached",
            },
            {
                **base,
                "id": 3,
                "mode": "incremental",
                "trigger": "manual",
                "status": "running",
                "target": "channel UCaaaaaaaaaaaaaaaaaaaaaa",
                "started_at": ago(30),
                "heartbeat_at": ago(2),
                "pages": 4,
                "videos_seen": 150,
                "pid": os.getpid(),
            },
            {
                **base,
                "id": 4,
                "channel_id": None,
                "mode": "videos",
                "trigger": "cli",
                "status": "running",
                "target": "videos x",
                "started_at": ago(3600),
                "heartbeat_at": ago(3500),
                "pid": dead_pid(),
            },
        ]
    )
    db["sync_requests"].insert_all(
        [
            {
                "id": 1,
                "requested_at": ago(500),
                "requested_by": "alice",
                "target_kind": "playlist",
                "target_id": "PL1",
                "mode": "playlist",
                "status": "done",
                "run_id": 1,
                "finished_at": ago(400),
                "exit_code": 0,
            },
            {
                "id": 2,
                "requested_at": ago(40),
                "requested_by": "bob",
                "target_kind": "channel",
                "target_id": "UCaaaaaaaaaaaaaaaaaaaaaa",
                "mode": "incremental",
                "status": "running",
                "run_id": 3,
                "started_at": ago(30),
            },
            {
                "id": 3,
                "requested_at": ago(10),
                "requested_by": "carol",
                "target_kind": "videos",
                "target_id": "v1,v2",
                "mode": "videos",
                "status": "queued",
            },
        ]
    )
    db["quota_usage"].insert({"day": "2025-01-05", "units": 9_990})
    db["quota_usage"].insert({"day": "2025-01-06", "units": 7})  # tomorrow in California
    db["quota_usage"].insert({"day": "2025-01-05", "bucket": "videos.batchGetStats", "units": 40})
    jobs = [
        {
            "id": "inc",
            "channel": "UCaaaaaaaaaaaaaaaaaaaaaa",
            "mode": "incremental",
            "schedule": "cron '*/30 * * * *' (Asia/Tokyo)",
            "next_run_at": ago(-600),
        }
    ]
    db["daemon_heartbeat"].insert(
        {
            "id": 1,
            "pid": 4242,
            "hostname": "ops",
            "started_at": ago(86400),
            "heartbeat_at": ago(3),
            "jobs": json.dumps(jobs),
        }
    )
    db.close()
    return {"dead_pid_run": 4}


def collect(db_path, **kwargs):
    db = open_readonly(db_path)
    try:
        return status.collect(db, db_path=db_path, now=NOW, **kwargs)
    finally:
        db.close()


@pytest.mark.dates
def test_collect_a_busy_day(db_path):
    seed(db_path)
    report = collect(db_path)
    daemon = report["daemon"]
    assert (daemon["state"], daemon["alive"], daemon["pid"], daemon["heartbeat_age_seconds"]) == (
        "running",
        True,
        4242,
        3.0,
    )
    live, dead = report["current_runs"]
    assert (live["id"], live["pages"], live["videos_seen"], live["process_alive"]) == (
        3,
        4,
        150,
        True,
    )
    assert (live["running_for_seconds"], live["progress_age_seconds"]) == (30.0, 2.0)
    assert (dead["id"], dead["process_alive"]) == (4, False)
    (channel,) = report["channels"]
    assert channel["last_run"]["id"] == 2  # the last finished one, not the running one
    assert channel["last_run"]["status"] == "quota_exhausted"
    assert [r["id"] for r in report["requests"]["active"]] == [2, 3]
    assert [r["id"] for r in report["requests"]["recent"]] == [1]
    default = {
        "day": "2025-01-05",
        "spent": 9_990,
        "budget": 10_000,
        "left": 10,
        "next_reset_at": "2025-01-06T08:00:00Z",
        "resets_in_seconds": 3600,
    }
    # Each bucket on its own: statistics spent 40 calls of their own 10,000, not the default's.
    stats = {**default, "spent": 40, "left": 9_960}
    buckets = {"default": default, "videos.batchGetStats": stats}
    assert report["quota"] == {**default, "buckets": buckets}
    assert [j["id"] for j in report["schedule"]] == ["inc"]
    assert collect(db_path, daily_budget=9_000)["quota"]["left"] == 0


@pytest.mark.dates
def test_render_a_busy_day(db_path):
    seed(db_path)
    text = status.render(collect(db_path))
    assert "Daemon: running (pid 4242 on ops, last heartbeat 3s ago" in text
    assert "Current run 3: channel UCaaaaaaaaaaaaaaaaaaaaaa (incremental, trigger manual)" in text
    assert "4 pages, 150 videos seen, 3 quota units; last progress 2s ago" in text
    assert "Current run 4: videos x (videos, trigger cli), running for 1h 00m" in text
    assert "is gone: the next sync will mark it interrupted" in text
    assert "last run 2: quota_exhausted (incremental, schedule)" in text
    assert "error: daily quota budget reached" in text
    assert "#3 queued          resync of video(s) v1,v2, by carol" in text
    assert "#2 running         incremental sync of channel UCaaaaaaaaaaaaaaaaaaaaaa, by bob" in text
    assert "Recent requests:\n  #1 done            resync of playlist PL1, by alice" in text
    assert (
        "Quota today (Pacific day 2025-01-05), resets at 2025-01-06T08:00:00Z (in 1h 00m):" in text
    )
    assert "  default: 9990 of 10000 units spent, 10 left" in text
    assert "  videos.batchGetStats: 40 of 10000 units spent, 9960 left" in text
    assert "2025-01-06T07:10:00Z inc: incremental sync of UCaaaaaaaaaaaaaaaaaaaaaa" in text


@pytest.mark.dates
def test_daemon_states(db_path):
    seed(db_path)
    db = sqlite_utils.Database(db_path)
    db.execute("UPDATE daemon_heartbeat SET heartbeat_at = ?", [iso(NOW - timedelta(minutes=5))])
    report = collect(db_path)
    assert (report["daemon"]["state"], report["daemon"]["alive"]) == ("not responding", False)
    assert "Daemon: NOT RESPONDING: last heartbeat 5m 00s ago" in status.render(report)
    db.execute("UPDATE daemon_heartbeat SET stopped_at = ?", [iso(NOW)])
    report = collect(db_path)
    assert report["daemon"]["state"] == "stopped"
    assert f"Daemon: stopped at {iso(NOW)} (pid 4242 on ops)" in status.render(report)
    db.close()


def test_status_of_an_empty_database_changes_nothing(emulator, tmp_path):
    db_path = tmp_path / "empty.db"
    sqlite3.connect(db_path).close()
    result = run_status(db_path, emulator)
    assert result.returncode == 0, result.stderr
    assert "Daemon: never started" in result.stdout
    assert "Channels: none synced yet" in result.stdout
    assert "0 of 10000 units spent, 10000 left" in result.stdout
    assert sqlite_utils.Database(db_path).table_names() == []


def test_durations():
    assert [status.duration(s) for s in (None, 0, 59, 61, 3600, 90061)] == [
        "?",
        "0s",
        "59s",
        "1m 01s",
        "1h 00m",
        "1d 1h",
    ]


@pytest.mark.dates
def test_render_shows_times_in_the_zone_asked_for_with_the_offset(db_path):
    seed(db_path)
    report = collect(db_path)
    text = status.render(report, ZoneInfo("Asia/Tokyo"))
    assert "Times in Asia/Tokyo (UTC+09:00)" in text
    assert "resets at 2025-01-06T17:00:00+09:00 (in 1h 00m)" in text
    assert "2025-01-06T16:10:00+09:00 inc: incremental sync of UCaaaaaaaaaaaaaaaaaaaaaa" in text
    assert "Z " not in text and not text.count("Z\n")
    # Winter in California: the offset follows the zone's rules for each time shown.
    assert "resets at 2025-01-06T00:00:00-08:00" in status.render(
        report, ZoneInfo("America/Los_Angeles")
    )


def test_status_cli_uses_the_system_zone_or_tz_and_json_keeps_utc(emulator, db_path):
    sync(db_path, emulator, full=True)
    env = {**cli_env(emulator), "TZ": "Asia/Tokyo"}
    run = functools.partial(
        subprocess.run,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    base = [PYTHON, "-m", "archivesync", "status", "--db", str(db_path)]
    system = run(base).stdout
    assert "Times in JST (UTC+09:00)" in system
    assert re.search(r"last sync \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00, last full sync", system)
    report = json.loads(run([*base, "--tz", "Asia/Tokyo", "--json"]).stdout)
    reset_utc = report["quota"]["next_reset_at"]
    assert reset_utc.endswith("Z")
    assert report["channels"][0]["last_synced_at"].endswith("Z")
    reset = datetime.strptime(reset_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    berlin = reset.astimezone(ZoneInfo("Europe/Berlin"))
    chosen = run([*base, "--tz", "Europe/Berlin"]).stdout
    assert "Times in Europe/Berlin (UTC+0" in chosen
    assert f"resets at {berlin.isoformat()}" in chosen
    bad = run([*base, "--tz", "Mars/Olympus"])
    assert bad.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in bad.stderr
