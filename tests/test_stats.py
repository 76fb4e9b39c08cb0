"""Statistics on their own quota bucket: `archivesync stats`, videos.batchGetStats, fallback."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
import sqlite_utils

from archivesync.db.migrations import MIGRATIONS
from archivesync.emulator import Emulator, synthetic_dataset
from archivesync.stats.parse import (
    duration_seconds,
    parse_protobuf_duration,
    parse_rfc3339,
    stats_row,
)

from .helpers import SAMPLE_CHANNEL, cli_env, run_cli, sync

# --- pure parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3723s", 3723.0), ("3723.5s", 3723.5), ("0.000000001s", 1e-9), ("45s", 45.0), (None, None)],
)
def test_protobuf_durations(text, seconds):
    assert parse_protobuf_duration(text) == seconds


@pytest.mark.parametrize("text", ["PT1H2M3S", "3723", "-5s", "1.5 s", "3723.1234567891s", "s"])
def test_what_is_not_a_protobuf_duration(text):
    with pytest.raises(ValueError):
        parse_protobuf_duration(text)


def test_duration_seconds_round_down_and_zero_is_unknown():
    assert duration_seconds("3723.9s") == 3723
    assert duration_seconds("0s") is None  # a live or upcoming broadcast: unknown, not zero
    assert duration_seconds(None) is None


def test_rfc3339_timestamps_with_nanoseconds_and_offsets():
    assert parse_rfc3339("2026-06-03T01:02:03.123456789Z") == datetime(
        2026, 6, 3, 1, 2, 3, 123456, tzinfo=UTC
    )
    assert parse_rfc3339("2026-06-03T01:02:03Z") == datetime(2026, 6, 3, 1, 2, 3, tzinfo=UTC)
    assert parse_rfc3339("2026-06-03T10:02:03.5+09:00") == datetime(
        2026, 6, 3, 1, 2, 3, 500000, tzinfo=UTC
    )
    assert parse_rfc3339(None) is None
    for bad in ("2026-06-03", "2026-06-03T01:02:03", "yesterday", "2026-06-03T01:02:03.Z"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)


def test_stats_row_keeps_absent_counters_unknown():
    item = {
        "kind": "youtube#videoStats",
        "id": "abc",
        "statistics": {"viewCount": "1234"},  # likes hidden, comments off
        "contentDetails": {"duration": "3723.5s"},
        "snippet": {"publishTime": "2026-06-03T01:02:03.123456789Z"},
    }
    assert stats_row(item) == {
        "id": "abc",
        "view_count": 1234,
        "like_count": None,
        "comment_count": None,
        "duration_seconds": 3723,
        "published_at": "2026-06-03T01:02:03Z",
    }


# --- the run against the emulator -----------------------------------------------------------

N_VIDEOS = 120


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A synthetic channel of 120 videos, synced once; tests copy the database."""
    dataset = synthetic_dataset(N_VIDEOS, seed=5)
    path = tmp_path_factory.mktemp("stats") / "archive.db"
    with Emulator(dataset) as emu:
        assert sync(path, emu, dataset.channel_id, full=True).status == "ok"
    return path, dataset


@pytest.fixture
def world(synced, tmp_path):
    source, dataset = synced
    path = tmp_path / "archive.db"
    src, dst = sqlite_utils.Database(source), sqlite_utils.Database(path)
    src.conn.backup(dst.conn)
    src.close()
    dst.close()
    with Emulator(dataset) as emu:
        yield path, dataset, emu


def ledger(path) -> dict[str, int]:
    db = sqlite_utils.Database(path)
    try:
        return {
            r["bucket"]: r["units"]
            for r in db.query("SELECT bucket, sum(units) AS units FROM quota_usage GROUP BY bucket")
        }
    finally:
        db.close()


def query(path, sql, params=()):
    db = sqlite_utils.Database(path)
    try:
        return list(db.query(sql, params))
    finally:
        db.close()


def test_stats_refreshes_every_video_from_its_own_bucket(world):
    path, dataset, emu = world
    ids = sorted(dataset.video_ids())
    visible = [r["id"] for r in query(path, "SELECT id FROM videos WHERE removed_at IS NULL")]
    before = ledger(path)
    changed, stretched = ids[7], ids[93]
    old_views = query(path, "SELECT view_count FROM videos WHERE id = ?", [changed])[0]
    dataset.set_statistics(changed, viewCount=(old_views["view_count"] or 0) + 1000)
    dataset.update_video(stretched, **{"contentDetails.duration": "PT1H2M3S"})
    snapshots = query(path, "SELECT count(*) AS n FROM video_stats")[0]["n"]
    emu.reset_stats()
    result = run_cli(
        ["stats", "--db", str(path), "--channel", dataset.channel_id, "--json"], cli_env(emu)
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["status"] == "ok" and figures["videos_seen"] == len(visible)
    calls = math.ceil(len(visible) / 50)
    assert emu.calls("videos:batchGetStats") == calls and emu.calls("videos") == 0
    assert emu.units_spent() == 0 and emu.stats_units_spent() == calls
    after = ledger(path)
    assert after.get("default", 0) == before.get("default", 0)  # 0 units from the default
    assert after["videos.batchGetStats"] == calls
    # One snapshot for the changed counter, none for the others; the new duration is kept.
    assert query(path, "SELECT count(*) AS n FROM video_stats")[0]["n"] == snapshots + 1
    latest = query(
        path,
        "SELECT view_count FROM video_stats WHERE video_id = ? ORDER BY observed_at DESC, rowid "
        "DESC LIMIT 1",
        [changed],
    )[0]
    assert latest["view_count"] == (old_views["view_count"] or 0) + 1000
    assert query(path, "SELECT duration_seconds FROM videos WHERE id = ?", [stretched]) == [
        {"duration_seconds": 3723}
    ]
    change = query(
        path, "SELECT new_value FROM video_changes WHERE video_id = ? AND field = ?",
        [stretched, "duration_seconds"],
    )  # fmt: skip
    assert change == [{"new_value": "3723"}]
    run = query(path, "SELECT mode, status FROM sync_runs ORDER BY id DESC LIMIT 1")[0]
    assert run == {"mode": "stats", "status": "ok"}


@pytest.mark.parametrize("refusal", [403, 404])
def test_a_refused_batch_get_stats_falls_back_to_videos_list(world, refusal):
    path, dataset, emu = world
    visible = query(path, "SELECT count(*) AS n FROM videos WHERE removed_at IS NULL")[0]["n"]
    before = ledger(path)
    emu.batch_stats_refusal = refusal
    emu.reset_stats()
    result = run_cli(["stats", "--db", str(path), "--channel", dataset.channel_id], cli_env(emu))
    assert result.returncode == 0, result.stderr
    calls = math.ceil(visible / 50)
    assert emu.calls("videos:batchGetStats") == 1  # asked once, then not again in this run
    assert emu.calls("videos") == calls and emu.units_spent() == calls
    assert ledger(path)["default"] == before.get("default", 0) + calls
    assert result.stderr.count("refreshing with videos.list") == 1  # said once
    assert f"answered {refusal}" in result.stderr


def test_the_fallback_is_said_once_ever_until_batch_get_stats_works_again(world):
    path, dataset, emu = world
    args, env = ["stats", "--db", str(path), "--channel", dataset.channel_id], cli_env(emu)
    note = "refreshing with videos.list"
    recorded = "SELECT value FROM app_state WHERE key = 'stats.batch_get_stats_unavailable'"
    emu.batch_stats_refusal = 403
    first, second = run_cli(args, env), run_cli(args, env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.count(note) == 1
    assert note not in second.stderr  # a later run falls back quietly: already said
    assert query(path, recorded) == [{"value": "403 (accessNotConfigured)"}]
    emu.batch_stats_refusal = None
    back = run_cli(args, env)
    assert back.returncode == 0 and "answers again" in back.stderr and note not in back.stderr
    assert query(path, recorded) == []
    emu.batch_stats_refusal = 404
    again = run_cli(args, env)
    assert again.returncode == 0 and again.stderr.count(note) == 1  # news again
    assert query(path, recorded) == [{"value": "404 (notFound)"}]


def test_the_stats_bucket_running_out_ends_the_run_with_75_and_keeps_what_it_read(world):
    path, dataset, emu = world
    emu.stats_quota = 1
    result = run_cli(["stats", "--db", str(path), "--channel", dataset.channel_id], cli_env(emu))
    assert result.returncode == 75, result.stderr
    assert "quota" in result.stderr and "Traceback" not in result.stderr
    # One call answered, one refused: our ledger budgets every attempt as spent.
    assert ledger(path)["videos.batchGetStats"] == 2
    assert query(path, "SELECT status, videos_seen FROM sync_runs ORDER BY id DESC LIMIT 1") == [
        {"status": "quota_exhausted", "videos_seen": 50}  # the first call's answer is kept
    ]


def test_a_channel_not_synced_yet_is_a_clear_error(emulator, tmp_path):
    db = tmp_path / "archive.db"
    result = run_cli(["stats", "--db", str(db), "--channel", SAMPLE_CHANNEL], cli_env(emulator))
    assert result.returncode == 1
    assert "run `archivesync sync` first" in result.stderr and "Traceback" not in result.stderr


def test_migration_keeps_every_ledger_row_as_the_default_bucket(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    MIGRATIONS.apply(db, stop_before="0008_quota_buckets")
    db["quota_usage"].insert_all(
        [{"day": "2026-12-01", "units": 42}, {"day": "2026-12-02", "units": 7}]
    )
    MIGRATIONS.apply(db)
    assert list(db.query("SELECT day, bucket, units FROM quota_usage ORDER BY day")) == [
        {"day": "2026-12-01", "bucket": "default", "units": 42},
        {"day": "2026-12-02", "bucket": "default", "units": 7},
    ]
    assert db["quota_usage"].pks == ["day", "bucket"]


def test_the_shipped_schedule_refreshes_statistics_daily_and_the_daemon_runs_it(world, tmp_path):
    from archivesync.sync.run import Settings
    from archivesync.worker.daemon import Daemon
    from archivesync.worker.schedules import load_schedules

    from .helpers import REPO

    shipped = {j.id: j for j in load_schedules(REPO / "schedules")}
    assert shipped["rilg-stats"].mode == "stats" and shipped["rilg-stats"].cron == "30 4 * * *"
    path, dataset, emu = world
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.toml").write_text(
        f'[[jobs]]\nid = "st"\nchannel = "{dataset.channel_id}"\nmode = "stats"\nevery = "1d"\n'
    )
    [spec] = load_schedules(tmp_path / "s")
    from archivesync.emulator import DEMO_API_KEY

    daemon = Daemon(
        path, [spec], api_key=DEMO_API_KEY, endpoint=emu.url, settings=Settings(),
        schedules_dir=tmp_path / "s",
    )  # fmt: skip
    daemon._scheduled_run(spec)
    run = query(path, "SELECT mode, trigger, status FROM sync_runs ORDER BY id DESC LIMIT 1")[0]
    assert run == {"mode": "stats", "trigger": "schedule", "status": "ok"}
    assert emu.calls("videos:batchGetStats") >= 1


# --- the 2026-08-27 change of view counting -------------------------------------------------


def test_stats_latest_says_which_side_of_the_view_counting_change_it_is_on(tmp_path):
    from archivesync.db.schema import open_db

    db = open_db(tmp_path / "archive.db")
    db["videos"].insert_all(
        [
            {"id": "old", "title": "a", "last_synced_at": "2026-08-20T00:00:00Z"},
            {"id": "spans", "title": "b", "last_synced_at": "2026-09-10T00:00:00Z"},
            {"id": "new", "title": "c", "last_synced_at": "2026-09-10T00:00:00Z"},
        ]
    )
    db["video_stats"].insert_all(
        [
            {"video_id": "old", "observed_at": "2026-08-01T00:00:00Z", "view_count": 10},
            {"video_id": "old", "observed_at": "2026-08-26T23:59:59Z", "view_count": 20},
            {"video_id": "spans", "observed_at": "2026-08-20T00:00:00Z", "view_count": 100},
            {"video_id": "spans", "observed_at": "2026-09-01T00:00:00Z", "view_count": 400},
            {"video_id": "new", "observed_at": "2026-08-27T00:00:00Z", "view_count": 5},
            {"video_id": "new", "observed_at": "2026-09-05T00:00:00Z", "view_count": 9},
        ]
    )
    rows = {
        r["video_id"]: (r["view_counting"], r["views_growth_spans_counting_change"])
        for r in db.query("SELECT * FROM stats_latest")
    }
    db.close()
    assert rows == {
        "old": ("before_unified", 0),
        "spans": ("unified", 1),  # its growth of 300 holds the step: not all of it is audience
        "new": ("unified", 0),
    }


def test_the_views_chart_marks_the_change_only_when_it_is_in_range():
    from datetime import date

    from archivesync.web import charts
    from archivesync.web.browse import VIEW_COUNTING_MARKERS

    across = [(date(2026, 8, 1), 10.0), (date(2026, 9, 30), 500.0)]
    svg = str(charts.line_chart("再生回数", across, markers=VIEW_COUNTING_MARKERS))
    assert svg.count('class="marker"') == 1
    assert "数え方を統一" in svg and "視聴の増減ではありません" in svg
    # 2026-08-27 is 26 of the range's 60 days from its start.
    x = charts.LEFT + (charts.WIDTH - charts.LEFT - charts.RIGHT) * 26 / 60
    assert f'x1="{x:.1f}"' in svg
    later = [(date(2026, 10, 1), 10.0), (date(2026, 11, 1), 20.0)]
    assert 'class="marker"' not in str(
        charts.line_chart("再生回数", later, markers=VIEW_COUNTING_MARKERS)
    )


def test_the_overview_shows_each_quota_bucket(world):
    from archivesync.web.app import make_datasette

    from .web_helpers import fetch

    path, dataset, emu = world
    result = run_cli(["stats", "--db", str(path), "--channel", dataset.channel_id], cli_env(emu))
    assert result.returncode == 0, result.stderr
    (page,) = fetch(make_datasette(path), ("get", "/", {}))
    assert page.status_code == 200
    assert "標準 (default)" in page.text and "統計 (videos.batchGetStats)" in page.text
    assert "3 / 10,000" in page.text  # three batchGetStats calls for 120 videos
