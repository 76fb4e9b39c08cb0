"""A full sync of a channel with every API quirk gives exactly the right rows."""

from __future__ import annotations

import re

import pytest
import sqlite_utils

from archivesync.emulator import Emulator, load_dataset

from .helpers import FIXTURES, sync

CHANNEL = "UCquirksquirksquirks0001"
PL1 = "PLquirksPlaylistOne00000000000001"
PL2 = "PLquirksPlaylistTwo00000000000002"


class Timestamp:
    """Equal to any ISO 8601 UTC timestamp text: the sync's own clock is not under test."""

    def __eq__(self, other):
        return isinstance(other, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", other)

    def __repr__(self):
        return "<timestamp>"


class AnyText:
    def __eq__(self, other):
        return isinstance(other, str) and other != ""

    def __repr__(self):
        return "<text>"


TS = Timestamp()


@pytest.fixture
def quirks():
    return load_dataset(FIXTURES / "quirks_channel.json")


@pytest.fixture
def synced(quirks, db_path):
    with Emulator(quirks) as emu:
        outcome = sync(db_path, emu, CHANNEL)
        units = emu.units_spent()
    assert outcome.status == "ok", outcome.message
    return sqlite_utils.Database(db_path), outcome, units


def video_base(**values):
    row = {
        "channel_id": CHANNEL,
        "first_seen_at": TS,
        "last_synced_at": TS,
        "removed_at": None,
        "removed_reason": None,
        "scheduled_start_at": None,
        "actual_start_at": None,
        "actual_end_at": None,
        "made_for_kids": 0,
        "etag": AnyText(),
        "default_language": None,
        "default_audio_language": None,
        "tags": None,
        "privacy_status": "public",
        "category_id": "27",
        "live_broadcast_content": "none",
    }
    row.update(values)
    row["url"] = f"https://www.youtube.com/watch?v={row['id']}"
    return row


EXPECTED_VIDEOS = [
    video_base(
        id="quirkVid001",
        title="自治体DXセミナー 第1回",
        description=(
            "人材育成と窓口改革について。\n受付は9:30から、開会は10:00です。\n\n"
            "0:00\u3000オープニング\n【2:05】人材育成\n窓口改革 - 10:30\n"
        ),
        published_at="2023-05-10T01:00:00Z",
        duration_seconds=951,
        default_language="ja",
        default_audio_language="ja",
        tags='["自治体DX", "人材育成"]',
        caption=1,
        definition="hd",
        view_count=1500,
        like_count=40,
        comment_count=3,
        thumbnail_url="https://i.ytimg.com/vi/quirkVid001/maxresdefault.jpg",
        license="youtube",
    ),
    video_base(
        id="quirkVid002",
        title="防災DXの基礎",
        description="いいね非表示・コメントオフの動画。\n0:00 はじめに\n0:05 短すぎる章\n1:00 本題",
        published_at="2023-06-01T03:30:00Z",
        duration_seconds=3600,
        default_audio_language="ja",
        caption=0,
        definition="sd",
        view_count=20,
        like_count=None,  # hidden by the owner: unknown, not zero
        comment_count=None,  # comments off
        thumbnail_url="https://i.ytimg.com/vi/quirkVid002/mqdefault.jpg",
        license="creativeCommon",
    ),
    video_base(
        id="quirkVid003",
        title="【ライブ配信予定】自治体DX推進セミナー",
        description="10:00から開始します。",
        published_at="2023-07-01T00:00:00Z",
        duration_seconds=None,  # P0D: an upcoming stream's length is unknown
        live_broadcast_content="upcoming",
        tags="[]",
        caption=0,
        definition="sd",
        view_count=0,
        like_count=0,
        comment_count=0,
        thumbnail_url=None,
        license="youtube",
        scheduled_start_at="2030-01-15T01:00:00Z",
    ),
    video_base(
        id="quirkVid004",
        title="ＡＩと自治体",
        description="０：００\u3000開会\n１：３０\u3000講演\n",
        published_at="2022-01-20T09:15:30Z",
        duration_seconds=45,
        caption=0,
        definition="hd",
        view_count=7,
        like_count=1,
        comment_count=0,
        thumbnail_url=None,
        license="youtube",
    ),
]


def test_videos_rows_are_exact(synced):
    db, _, _ = synced
    rows = list(db.query("SELECT * FROM videos ORDER BY id"))
    assert rows == EXPECTED_VIDEOS


def test_private_and_deleted_videos_are_not_indexed_as_videos(synced):
    db, _, _ = synced
    ids = {r["id"] for r in db.query("SELECT id FROM videos")}
    assert "quirkVid005" not in ids and "quirkVid006" not in ids


def test_chapters_follow_youtube_rules(synced):
    db, _, _ = synced
    rows = list(db.query("SELECT * FROM chapters ORDER BY video_id, position"))
    url = "https://www.youtube.com/watch?v=quirkVid001&t={}s"
    assert rows == [
        {
            "video_id": "quirkVid001",
            "position": 1,
            "start_seconds": 0,
            "end_seconds": 125,
            "title": "オープニング",
            "url": url.format(0),
        },
        {
            "video_id": "quirkVid001",
            "position": 2,
            "start_seconds": 125,
            "end_seconds": 630,
            "title": "人材育成",
            "url": url.format(125),
        },
        {
            "video_id": "quirkVid001",
            "position": 3,
            "start_seconds": 630,
            "end_seconds": 951,
            "title": "窓口改革",
            "url": url.format(630),
        },
    ]


def test_channel_row(synced):
    db, _, _ = synced
    assert list(db.query("SELECT * FROM channels")) == [
        {
            "id": CHANNEL,
            "title": "テスト自治体チャンネル",
            "description": "検証用のチャンネルです。",
            "custom_url": "@quirks-test",
            "published_at": "2020-04-01T00:00:00Z",
            "uploads_playlist_id": "UUquirksquirksquirks0001",
            "video_count": 4,
            "view_count": 12345,
            "subscriber_count": 678,
            "thumbnail_url": "https://yt3.example/ch.jpg",
            "country": "JP",
            "first_seen_at": TS,
            "last_synced_at": TS,
            "last_full_sync_at": TS,
        }
    ]


def test_playlists_and_items_keep_duplicates_and_unavailable_entries(synced):
    db, _, _ = synced
    playlists = list(
        db.query(
            "SELECT id, channel_id, title, item_count, privacy_status, removed_at FROM playlists"
        )
    )
    assert sorted(playlists, key=lambda r: r["id"]) == [
        {
            "id": PL1,
            "channel_id": CHANNEL,
            "title": "自治体DXセミナー",
            "item_count": 4,
            "privacy_status": "public",
            "removed_at": None,
        },
        {
            "id": PL2,
            "channel_id": CHANNEL,
            "title": "ライブ配信",
            "item_count": 2,
            "privacy_status": "public",
            "removed_at": None,
        },
    ]
    items = list(
        db.query(
            "SELECT playlist_id, position, video_id, added_at, video_published_at, item_status,"
            " title FROM playlist_items ORDER BY playlist_id, position"
        )
    )
    assert items == [
        {
            "playlist_id": PL1,
            "position": 0,
            "video_id": "quirkVid001",
            "added_at": "2023-05-11T00:00:00Z",
            "video_published_at": "2023-05-10T01:00:00Z",
            "item_status": "ok",
            "title": "自治体DXセミナー 第1回",
        },
        {
            "playlist_id": PL1,
            "position": 1,
            "video_id": "quirkVid002",
            "added_at": "2023-06-02T00:00:00Z",
            "video_published_at": "2023-06-01T03:30:00Z",
            "item_status": "ok",
            "title": "防災DXの基礎",
        },
        {
            "playlist_id": PL1,
            "position": 2,
            "video_id": "quirkVid001",
            "added_at": "2023-06-03T00:00:00Z",
            "video_published_at": "2023-05-10T01:00:00Z",
            "item_status": "ok",
            "title": "自治体DXセミナー 第1回",
        },
        {
            "playlist_id": PL1,
            "position": 3,
            "video_id": "quirkVid005",
            "added_at": "2023-06-04T00:00:00Z",
            "video_published_at": None,
            "item_status": "deleted",
            "title": "Deleted video",
        },
        {
            "playlist_id": PL2,
            "position": 0,
            "video_id": "quirkVid003",
            "added_at": "2023-07-02T00:00:00Z",
            "video_published_at": "2023-07-01T00:00:00Z",
            "item_status": "ok",
            "title": "【ライブ配信予定】自治体DX推進セミナー",
        },
        {
            "playlist_id": PL2,
            "position": 1,
            "video_id": "quirkVid006",
            "added_at": "2023-07-03T00:00:00Z",
            "video_published_at": None,
            "item_status": "private",
            "title": "Private video",
        },
    ]


def test_stats_history_and_run_record(synced):
    db, outcome, units = synced
    stats = list(
        db.query(
            "SELECT video_id, view_count, like_count, comment_count FROM video_stats ORDER BY 1"
        )
    )
    assert stats == [
        {"video_id": "quirkVid001", "view_count": 1500, "like_count": 40, "comment_count": 3},
        {"video_id": "quirkVid002", "view_count": 20, "like_count": None, "comment_count": None},
        {"video_id": "quirkVid003", "view_count": 0, "like_count": 0, "comment_count": 0},
        {"video_id": "quirkVid004", "view_count": 7, "like_count": 1, "comment_count": 0},
    ]
    assert list(db.query("SELECT count(*) AS n FROM video_changes")) == [{"n": 0}]
    run = next(db.query("SELECT * FROM sync_runs"))
    # channels 1 + uploads 1 + videos 1 + playlists 1 + two playlists' items 2 = the floor.
    assert units == 6
    assert run == {
        "id": 1,
        "channel_id": CHANNEL,
        "mode": "full",
        "trigger": "cli",
        "target": f"channel {CHANNEL}",
        "started_at": TS,
        "finished_at": TS,
        "status": "ok",
        "api_calls": 6,
        "quota_units": 6,
        "videos_added": 4,
        "videos_updated": 0,
        "videos_removed": 0,
        "pages": run["pages"],
        "videos_seen": 4,
        "error": None,
        "pid": run["pid"],
        "heartbeat_at": TS,
    }
    assert outcome.exit_code == 0
