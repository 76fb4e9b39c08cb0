"""`archivesync analytics` end to end: the real client libraries against the emulator."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from archivesync.analytics.run import run_analytics
from archivesync.cli import cli
from archivesync.emulator import Emulator, load_dataset, oauth

from .helpers import SAMPLE, SAMPLE_CHANNEL, cli_env, run_cli, sync

# Analytics windows and re-reads are decided by date: also run a year ahead (make test).
pytestmark = pytest.mark.dates

TODAY = date(2026, 11, 28)
ROUNDTABLE = "kD7mQx2LrVw"  # 5,001 s: an opening, 7 parts, an ending
DAILY = "views,estimatedMinutesWatched,averageViewDuration,averageViewPercentage,likes," + (
    "subscribersGained"
)


def at(day: date):
    return lambda: datetime(day.year, day.month, day.day, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def emu():
    with Emulator(load_dataset(SAMPLE)) as emu:
        emu.clock = at(TODAY)
        yield emu


@pytest.fixture(scope="module")
def synced(emu, tmp_path_factory):
    path = tmp_path_factory.mktemp("synced") / "archive.db"
    assert sync(path, emu).status == "ok"
    return path


def token_file(emu, path, scopes=(oauth.FORCE_SSL_SCOPE, oauth.ANALYTICS_SCOPE)):
    info = {
        "type": "authorized_user",
        "client_id": oauth.DEMO_CLIENT_ID,
        "client_secret": oauth.DEMO_CLIENT_SECRET,
        "refresh_token": emu.oauth.issue(SAMPLE_CHANNEL, scopes),
        "token_uri": emu.url + oauth.TOKEN_PATH,
    }
    path.write_text(json.dumps(info))
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="module")
def analysed(emu, synced, tmp_path_factory):
    """The synced sample after one analytics run on TODAY (copied by the tests that use it)."""
    path = tmp_path_factory.mktemp("analysed") / "archive.db"
    shutil.copy(synced, path)
    token = token_file(emu, path.parent / "token.json")
    assert run(path, emu, token).status == "ok"
    return path


@pytest.fixture
def done_path(analysed, tmp_path):
    path = tmp_path / "analysed.db"
    shutil.copy(analysed, path)
    return path


@pytest.fixture
def db_path(synced, tmp_path):
    path = tmp_path / "archive.db"
    shutil.copy(synced, path)
    return path


@pytest.fixture
def token(emu, tmp_path):
    return token_file(emu, tmp_path / "token.json")


def run(db_path, emu, token, today=TODAY, **kwargs):
    emu.clock = at(today)
    kwargs.setdefault("retries", 1)
    try:
        return run_analytics(
            db_path, SAMPLE_CHANNEL, endpoint=emu.url, token_file=str(token), clock=at(today),
            **kwargs,
        )  # fmt: skip
    finally:
        emu.clock = at(TODAY)


def rows(db_path, sql, params=()):
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def api_daily(emu, video_id, start, end, today=TODAY):
    """What the API answers for a window, asked directly of the emulator's model."""
    body = emu.analytics.query(
        {"ids": "channel==MINE", "startDate": start, "endDate": end, "metrics": DAILY,
         "dimensions": "day", "filters": f"video=={video_id}"},
        SAMPLE_CHANNEL,
        today,
    )  # fmt: skip
    return [tuple(r) for r in body.get("rows", [])]


def stored_daily(db_path, video_id):
    return [
        tuple(r.values())
        for r in rows(
            db_path,
            "SELECT day, views, estimated_minutes_watched, average_view_duration_seconds, "
            "average_view_percentage, likes, subscribers_gained FROM video_daily_metrics "
            "WHERE video_id = ? ORDER BY day",
            [video_id],
        )
    ]


def test_backfill_then_incremental_with_revisions(emu, db_path, token):
    outcome = run(db_path, emu, token)
    assert outcome.status == "ok", outcome.message
    videos = rows(
        db_path,
        "SELECT id, published_at FROM videos WHERE live_broadcast_content != 'upcoming'",
    )
    assert len(videos) == 10
    for video in videos:
        expected = api_daily(emu, video["id"], "2021-01-01", TODAY.isoformat())
        assert stored_daily(db_path, video["id"]) == expected
    # From the publication day (Pacific) to the newest day the API has (two days ago).
    days = [r[0] for r in stored_daily(db_path, ROUNDTABLE)]
    assert days[0] == "2022-03-24" and days[-1] == "2026-11-26"
    channel = rows(db_path, "SELECT day, views FROM channel_daily_metrics ORDER BY day")
    assert channel[0]["day"] == "2021-12-19" and channel[-1]["day"] == "2026-11-26"
    per_day = rows(
        db_path,
        "SELECT day, sum(views) AS views FROM video_daily_metrics GROUP BY day ORDER BY day",
    )
    assert channel == per_day
    assert rows(db_path, "SELECT count(DISTINCT video_id) AS n FROM video_retention")[0]["n"] == 10
    run_row = rows(db_path, "SELECT * FROM sync_runs WHERE id = ?", [outcome.run_id])[0]
    assert run_row["mode"] == "analytics" and run_row["status"] == "ok"
    assert run_row["api_calls"] == 10 + 1 + 10 and run_row["quota_units"] == 0

    before = dict((r[0], r) for r in stored_daily(db_path, ROUNDTABLE))
    totals = "SELECT video_id, sum(views) AS n FROM video_daily_metrics GROUP BY video_id"
    views_before = {r["video_id"]: r["n"] for r in rows(db_path, totals)}
    emu.reset_stats()
    later = TODAY + timedelta(days=3)
    outcome = run(db_path, emu, token, today=later)
    assert outcome.status == "ok", outcome.message
    windows = {
        r["params"]["filters"]: r["params"]["startDate"]
        for r in emu.requests
        if r["params"].get("dimensions") == "day" and "filters" in r["params"]
    }
    # The last 7 stored days are read again: from 6 days before 2026-11-26.
    assert set(windows.values()) == {"2026-11-20"} and len(windows) == 10
    after = dict((r[0], r) for r in stored_daily(db_path, ROUNDTABLE))
    assert max(after) == "2026-11-29"
    assert list(after.values()) == api_daily(emu, ROUNDTABLE, "2022-01-01", "2026-12-01", later)
    revised = [d for d in before if before[d] != after[d]]
    assert revised and all(d >= "2026-11-24" for d in revised)
    assert all(before[d] == after[d] for d in before if d < "2026-11-20")
    # New views since the last read and a new day: retention is read again.
    grew = {r["video_id"] for r in rows(db_path, totals) if r["n"] > views_before[r["video_id"]]}
    reread = rows(db_path, "SELECT DISTINCT video_id FROM video_retention WHERE end_date = ?",
                  [later.isoformat()])  # fmt: skip
    assert grew and {r["video_id"] for r in reread} == grew


def test_retention_at_most_daily(emu, done_path, token):
    emu.reset_stats()
    assert run(done_path, emu, token).status == "ok"
    asked = [r["params"].get("dimensions") for r in emu.requests]
    assert "elapsedVideoTimeRatio" not in asked and len(asked) == 11


def test_window_overwrites_only_inside(emu, done_path, token):
    with sqlite3.connect(done_path) as conn:
        conn.execute("UPDATE video_daily_metrics SET views = -1 WHERE day IN (?, ?, ?)",
                     ["2026-10-31", "2026-11-05", "2026-11-11"])  # fmt: skip
    emu.reset_stats()
    outcome = run(done_path, emu, token, since=date(2026, 11, 1), until=date(2026, 11, 10))
    assert outcome.status == "ok"
    windows = {(r["params"]["startDate"], r["params"]["endDate"]) for r in emu.requests
               if r["params"].get("dimensions") == "day"}  # fmt: skip
    assert windows == {("2026-11-01", "2026-11-10")}
    inside = rows(done_path, "SELECT count(*) AS n FROM video_daily_metrics WHERE views = -1 "
                  "AND day = '2026-11-05'")[0]["n"]  # fmt: skip
    outside = rows(done_path, "SELECT count(*) AS n FROM video_daily_metrics WHERE views = -1 "
                   "AND day IN ('2026-10-31', '2026-11-11')")[0]["n"]  # fmt: skip
    assert inside == 0 and outside == 20


def test_chapter_retention_matches_its_definition(emu, done_path, token):
    duration = rows(done_path, "SELECT duration_seconds FROM videos WHERE id = ?", [ROUNDTABLE])
    assert duration == [{"duration_seconds": 5001}]
    chapters = rows(
        done_path,
        "SELECT position, title, start_seconds, end_seconds FROM chapters WHERE video_id = ? "
        "ORDER BY position",
        [ROUNDTABLE],
    )
    assert len(chapters) == 9 and sum(c["title"][:2] in {f"{n}." for n in range(1, 8)}
                                      for c in chapters) == 7  # fmt: skip
    points = [
        (r["elapsed_ratio"] * 5001, r["audience_watch_ratio"])
        for r in rows(done_path, "SELECT * FROM video_retention WHERE video_id = ?", [ROUNDTABLE])
    ]
    assert len(points) == 100
    expected = []
    for i, c in enumerate(chapters):
        last = i == len(chapters) - 1
        held = sorted(
            (t, r)
            for t, r in points
            if c["start_seconds"] <= t < c["end_seconds"] or (last and t == 5001)
        )
        start = held[0][1] if held else None
        end = held[-1][1] if held else None
        expected.append(
            {
                "video_id": ROUNDTABLE,
                "chapter_position": c["position"],
                "chapter_title": c["title"],
                "start_seconds": c["start_seconds"],
                "end_seconds": c["end_seconds"],
                "points": len(held),
                "mean_audience_watch_ratio": sum(r for _, r in held) / len(held) if held else None,
                "watch_ratio_at_start": start,
                "watch_ratio_at_end": end,
                "drop": start - end if held else None,
            }
        )
    got = rows(done_path, "SELECT * FROM chapter_retention WHERE video_id = ?", [ROUNDTABLE])
    assert len(got) == 9
    for g, e in zip(got, expected, strict=True):
        assert g.keys() == e.keys()
        for key in e:
            if isinstance(e[key], float):
                assert g[key] == pytest.approx(e[key], abs=1e-12), key
            else:
                assert g[key] == e[key], key
    assert sum(e["points"] for e in expected) == 100
    # Videos without chapters or without retention have no rows.
    assert {r["video_id"] for r in rows(done_path, "SELECT video_id FROM chapter_retention")} == {
        ROUNDTABLE, "Vc2kS5gMz8p", "Ns9wE3hTq6b"
    }  # fmt: skip


def test_usage_views(emu, done_path, token):
    daily = rows(done_path, "SELECT * FROM video_daily_metrics WHERE video_id = ?", [ROUNDTABLE])
    newest = max(r["day"] for r in rows(done_path, "SELECT day FROM video_daily_metrics"))
    last7 = [r for r in daily if r["day"] > (date.fromisoformat(newest) - timedelta(7)).isoformat()]
    last28 = [
        r for r in daily if r["day"] > (date.fromisoformat(newest) - timedelta(28)).isoformat()
    ]
    usage = rows(done_path, "SELECT * FROM video_usage WHERE video_id = ?", [ROUNDTABLE])[0]
    assert usage["as_of_day"] == newest == "2026-11-26"
    assert len(last7) == 7 and len(last28) == 28
    assert usage["views_7d"] == sum(r["views"] for r in last7)
    assert usage["views_28d"] == sum(r["views"] for r in last28)
    assert usage["views_total"] == sum(r["views"] for r in daily)
    hours = sum(r["estimated_minutes_watched"] for r in last28) / 60
    assert usage["hours_watched_28d"] == round(hours, 2)
    weighted = sum(r["views"] * r["average_view_percentage"] for r in daily)
    assert usage["average_view_percentage"] == round(weighted / usage["views_total"], 2)

    monthly = {r["month"]: r for r in rows(done_path, "SELECT * FROM monthly_usage")}
    channel = rows(done_path, "SELECT * FROM channel_daily_metrics")
    march = [r for r in channel if r["day"].startswith("2022-03")]
    assert monthly["2022-03"]["views"] == sum(r["views"] for r in march)
    assert monthly["2022-03"]["hours_watched"] == round(
        sum(r["estimated_minutes_watched"] for r in march) / 60, 2
    )
    # Eight parts of the roundtable went up in March 2022; nothing in October 2026.
    assert monthly["2022-03"]["videos_published"] == 8
    assert monthly["2026-10"]["videos_published"] == 0 and monthly["2026-10"]["views"] > 0


def test_too_few_views_is_recorded_not_an_error(emu, db_path, token):
    emu.min_retention_views = 1500
    try:
        outcome = run(db_path, emu, token)
    finally:
        emu.min_retention_views = 50
    assert outcome.status == "ok"
    state = {
        r["subject_id"]: r["retention_status"]
        for r in rows(db_path, "SELECT * FROM analytics_state WHERE subject_kind = 'video'")
    }
    withheld = {v for v, s in state.items() if s == "too_few_views"}
    assert withheld and "ok" in state.values()
    stored = {r["video_id"] for r in rows(db_path, "SELECT DISTINCT video_id FROM video_retention")}
    assert stored == {v for v, s in state.items() if s == "ok"}


def test_broken_answers_are_retried(emu, db_path, token):
    for kind in ("html_200", "short_200", "reset", "503"):
        emu.inject_fault(kind, endpoint="reports")
    outcome = run(db_path, emu, token, retries=4)
    assert outcome.status == "ok", outcome.message
    assert emu.pending_faults() == 0
    assert stored_daily(db_path, ROUNDTABLE) == api_daily(
        emu, ROUNDTABLE, "2021-01-01", "2026-11-28"
    )


def test_quota_and_outage_keep_what_is_stored(emu, done_path, token):
    before = stored_daily(done_path, ROUNDTABLE)
    emu.inject_fault("quota", endpoint="reports")
    outcome = run(done_path, emu, token, today=TODAY + timedelta(days=2))
    assert outcome.status == "quota_exhausted" and outcome.exit_code == 75
    emu.inject_fault("503", endpoint="reports", count=5)
    outcome = run(done_path, emu, token, today=TODAY + timedelta(days=2))
    emu.clear_faults()
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert stored_daily(done_path, ROUNDTABLE) == before


def test_cli(emu, db_path, tmp_path):
    env = cli_env(emu)
    good = token_file(emu, tmp_path / "good.json")
    captions_only = token_file(emu, tmp_path / "captions.json", scopes=(oauth.FORCE_SSL_SCOPE,))
    base = ["analytics", "--db", str(db_path), "--channel", SAMPLE_CHANNEL]
    for bad in (["--since", "2026-13-01"], ["--until", "yesterday"],
                ["--since", "2026-11-10", "--until", "2026-11-01"]):  # fmt: skip
        result = CliRunner().invoke(cli, [*base, "--oauth-token", str(good), *bad])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
    result = run_cli([*base, "--oauth-token", str(captions_only)], env)
    assert result.returncode == 1
    assert "archivesync auth" in result.stderr and "Traceback" not in result.stderr
    assert rows(db_path, "SELECT count(*) AS n FROM video_daily_metrics")[0]["n"] == 0
    result = run_cli([*base, "--oauth-token", str(good), "--since", "2026-11-01", "--json"], env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["status"] == "ok" and figures["api_calls"] == 21
    secret = json.loads(good.read_text())["refresh_token"]
    assert secret not in result.stdout + result.stderr


def test_schedule_job_runs_analytics(emu, db_path, token, tmp_path, monkeypatch):
    from archivesync.sync.run import Settings
    from archivesync.worker.daemon import Daemon
    from archivesync.worker.schedules import load_schedules

    from .helpers import REPO

    shipped = {j.id: j for j in load_schedules(REPO / "schedules")}
    assert shipped["rilg-analytics"].mode == "analytics"
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.toml").write_text(
        f'[[jobs]]\nid = "a"\nchannel = "{SAMPLE_CHANNEL}"\nmode = "analytics"\nevery = "1d"\n'
    )
    [spec] = load_schedules(tmp_path / "s")
    monkeypatch.setenv("ARCHIVESYNC_OAUTH_TOKEN_FILE", str(token))
    daemon = Daemon(
        db_path, [spec], api_key="unused", endpoint=emu.url, settings=Settings(),
        schedules_dir=tmp_path / "s",
    )  # fmt: skip
    daemon._scheduled_run(spec)
    runs = rows(db_path, "SELECT mode, trigger, status, api_calls FROM sync_runs ORDER BY id")
    assert runs[-1]["mode"] == "analytics" and runs[-1]["trigger"] == "schedule"
    assert runs[-1]["status"] == "ok" and runs[-1]["api_calls"] > 10
    assert rows(db_path, "SELECT count(*) AS n FROM video_daily_metrics")[0]["n"] > 0
