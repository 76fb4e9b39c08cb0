"""Incremental syncs, edits, statistics history, removals and returns."""

from __future__ import annotations

import pytest
import sqlite_utils

from archivesync.emulator import Emulator, load_dataset, synthetic_dataset
from archivesync.sync.run import Settings

from .helpers import FIXTURES, sync

CHANNEL = "UCquirksquirksquirks0001"


@pytest.fixture
def quirks():
    return load_dataset(FIXTURES / "quirks_channel.json")


@pytest.fixture
def emu(quirks):
    with Emulator(quirks) as emu:
        yield emu


def rows(db_path, sql, params=()):
    return list(sqlite_utils.Database(db_path).query(sql, params))


def test_second_sync_is_incremental_and_cheap_when_nothing_changed(emu, db_path):
    assert sync(db_path, emu, CHANNEL).status == "ok"
    before = emu.units_spent()
    outcome = sync(db_path, emu, CHANNEL)
    assert outcome.status == "ok"
    assert rows(db_path, "SELECT mode FROM sync_runs ORDER BY id") == [
        {"mode": "full"},
        {"mode": "incremental"},
    ]
    # The fixture's videos are years old: only the first uploads page is read.
    assert emu.units_spent() - before == 1
    assert outcome.figures["quota_units"] == 1
    assert rows(db_path, "SELECT count(*) AS n FROM video_stats") == [{"n": 4}]


def test_new_uploads_cost_at_most_three_units(emu, quirks, db_path):
    sync(db_path, emu, CHANNEL)
    for n in range(3):
        quirks.add_video({"id": f"newVideo00{n}", "snippet": {"title": f"新着動画{n}"}})
    before = emu.units_spent()
    outcome = sync(db_path, emu, CHANNEL)
    assert outcome.status == "ok"
    assert outcome.figures["videos_added"] == 3
    assert emu.units_spent() - before <= 3
    titles = {r["title"] for r in rows(db_path, "SELECT title FROM videos")}
    assert {"新着動画0", "新着動画1", "新着動画2"} <= titles


def test_recent_videos_are_refreshed_and_edits_recorded(emu, quirks, db_path):
    sync(db_path, emu, CHANNEL)
    quirks.add_video({"id": "recentVid01", "snippet": {"title": "最初のタイトル"}})
    sync(db_path, emu, CHANNEL)
    quirks.update_video("recentVid01", {"snippet.title": "直したタイトル"})
    quirks.set_statistics("recentVid01", viewCount=99)
    outcome = sync(db_path, emu, CHANNEL)
    assert outcome.figures["videos_updated"] == 1
    changes = rows(
        db_path,
        "SELECT field, old_value, new_value FROM video_changes WHERE video_id = 'recentVid01'",
    )
    assert changes == [
        {"field": "title", "old_value": "最初のタイトル", "new_value": "直したタイトル"}
    ]
    stats = rows(
        db_path, "SELECT view_count FROM video_stats WHERE video_id = 'recentVid01' ORDER BY rowid"
    )
    assert stats == [{"view_count": 0}, {"view_count": 99}]
    # A sync that sees the same figures adds no statistics row.
    sync(db_path, emu, CHANNEL)
    assert len(rows(db_path, "SELECT * FROM video_stats WHERE video_id = 'recentVid01'")) == 2


def test_full_sync_marks_removed_and_returned_videos_without_deleting(emu, quirks, db_path):
    sync(db_path, emu, CHANNEL)
    quirks.remove_video("quirkVid002")
    quirks.make_private("quirkVid004")
    # An incremental sync cannot know: old videos are not re-read, nothing is marked.
    sync(db_path, emu, CHANNEL)
    assert rows(db_path, "SELECT count(*) AS n FROM videos WHERE removed_at IS NOT NULL") == [
        {"n": 0}
    ]
    outcome = sync(db_path, emu, CHANNEL, full=True)
    assert outcome.figures["videos_removed"] == 2
    removed = rows(
        db_path,
        "SELECT id, removed_reason FROM videos WHERE removed_at IS NOT NULL ORDER BY id",
    )
    # Both are confirmed by videos.list, which no longer returns them.
    assert removed == [
        {"id": "quirkVid002", "removed_reason": "unavailable"},
        {"id": "quirkVid004", "removed_reason": "unavailable"},
    ]
    # Rows and their chapters stay.
    assert rows(db_path, "SELECT count(*) AS n FROM videos") == [{"n": 4}]
    quirks.restore_video("quirkVid002")
    sync(db_path, emu, CHANNEL, full=True)
    assert rows(db_path, "SELECT removed_at FROM videos WHERE id = 'quirkVid002'") == [
        {"removed_at": None}
    ]
    history = rows(
        db_path,
        "SELECT field, old_value, new_value FROM video_changes WHERE video_id = 'quirkVid002'"
        " ORDER BY id",
    )
    assert history == [
        {"field": "removed", "old_value": None, "new_value": "unavailable"},
        {"field": "returned", "old_value": "unavailable", "new_value": None},
    ]


def test_unlisted_video_is_removed_as_not_in_uploads(emu, quirks, db_path):
    sync(db_path, emu, CHANNEL)
    quirks.update_video("quirkVid001", {"status.privacyStatus": "unlisted"})
    outcome = sync(db_path, emu, CHANNEL, full=True)
    assert outcome.figures["videos_removed"] == 1
    assert rows(db_path, "SELECT id, removed_reason FROM videos WHERE removed_at IS NOT NULL") == [
        {"id": "quirkVid001", "removed_reason": "not_in_uploads"}
    ]


def test_videos_beyond_the_uploads_playlist_cap_are_not_marked_removed(db_path):
    dataset = synthetic_dataset(150)
    with Emulator(dataset) as emu:
        assert sync(db_path, emu, dataset.channel_id).status == "ok"
        # Long-lived channels: the uploads playlist stops at about 20,000 entries.
        emu.uploads_cap = 100
        before = emu.units_spent()
        outcome = sync(db_path, emu, dataset.channel_id, full=True)
        spent = emu.units_spent() - before
    assert outcome.status == "ok"
    assert outcome.figures["videos_removed"] == 0
    assert rows(db_path, "SELECT count(*) AS n FROM videos WHERE removed_at IS NOT NULL") == [
        {"n": 0}
    ]
    # The 50 videos past the cap were confirmed with one videos.list call.
    playlists = dataset.playlist_ids()
    floor = 1 + 2 * 2 + 1 + sum(max(1, -(-len(dataset.playlist_items(p)) // 50)) for p in playlists)
    assert spent == floor + 1


def test_removed_playlist_is_marked_not_deleted(emu, quirks, db_path):
    sync(db_path, emu, CHANNEL)
    quirks.remove_playlist("PLquirksPlaylistTwo00000000000002")
    sync(db_path, emu, CHANNEL, full=True)
    assert rows(db_path, "SELECT id, removed_reason FROM playlists ORDER BY id") == [
        {"id": "PLquirksPlaylistOne00000000000001", "removed_reason": None},
        {"id": "PLquirksPlaylistTwo00000000000002", "removed_reason": "not_listed"},
    ]


def test_full_sync_of_1000_videos_spends_at_most_the_floor(db_path):
    dataset = synthetic_dataset(1000)
    channel = dataset.channel_id
    uploads = len(dataset.video_ids())
    playlists = dataset.playlist_ids()
    floor = (
        1
        + 2 * -(-uploads // 50)
        + -(-len(playlists) // 50)
        + sum(max(1, -(-len(dataset.playlist_items(p)) // 50)) for p in playlists)
    )
    with Emulator(dataset) as emu:
        outcome = sync(db_path, emu, channel, settings=Settings(workers=4))
        spent = emu.units_spent()
    assert outcome.status == "ok", outcome.message
    assert spent <= 1.05 * floor
    assert outcome.figures["quota_units"] == spent
    assert rows(db_path, "SELECT count(*) AS n FROM videos") == [{"n": uploads}]


def test_feed_probe_skips_the_api_when_the_feed_shows_nothing_new(emu, quirks, db_path):
    probe = Settings(feed_probe=True)
    sync(db_path, emu, CHANNEL)
    before, listings = emu.units_spent(), emu.calls("playlistItems")
    outcome = sync(db_path, emu, CHANNEL, settings=probe)
    assert outcome.status == "ok"
    assert emu.calls("feed") == 1
    assert emu.units_spent() == before  # the Atom feed costs no quota: nothing else was asked
    quirks.add_video({"id": "feedVideo01", "snippet": {"title": "フィードに載った新着"}})
    outcome = sync(db_path, emu, CHANNEL, settings=probe)
    assert outcome.figures["videos_added"] == 1
    assert emu.calls("playlistItems") == listings + 1


def test_feed_probe_failure_falls_back_to_the_api(emu, db_path):
    sync(db_path, emu, CHANNEL)
    listings = emu.calls("playlistItems")
    emu.inject_fault("500", endpoint="feed")
    outcome = sync(db_path, emu, CHANNEL, settings=Settings(feed_probe=True))
    assert outcome.status == "ok"
    assert emu.pending_faults() == 0
    assert emu.calls("playlistItems") == listings + 1
