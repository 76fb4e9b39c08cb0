"""The analysts' views: their columns, their figures, and that any SQLite client can read them."""

from __future__ import annotations

import sqlite3

import pytest

from archivesync.db import store, views
from archivesync.db.schema import open_db

from .search_queries import CHANNEL, NOW, REMOVED, VIDEOS, build, make_resource


def playlist(playlist_id: str, title: str) -> dict:
    return {
        "id": playlist_id,
        "snippet": {
            "title": title,
            "channelId": CHANNEL,
            "publishedAt": "2021-01-01T00:00:00Z",
            "thumbnails": {},
        },
        "contentDetails": {"itemCount": "3"},
        "status": {"privacyStatus": "public"},
    }


def item(position: int, video_id: str, title: str = "x", published: str | None = "2021-01-01"):
    details = {"videoId": video_id}
    if published:
        details["videoPublishedAt"] = f"{published}T00:00:00Z"
    return {
        "snippet": {
            "title": title,
            "position": position,
            "publishedAt": "2024-01-01T00:00:00Z",
            "resourceId": {"videoId": video_id},
        },
        "contentDetails": details,
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = open_db(tmp_path_factory.mktemp("views") / "archive.db")
    build(db)
    store.save_playlists(
        db,
        [playlist("PLdx", "自治体DX講座"), playlist("PLbosai", "防災シリーズ"),
         playlist("PLold", "2019年度アーカイブ")],
        NOW,
    )  # fmt: skip
    store.replace_playlist_items(
        db,
        "PLdx",
        [
            store.playlist_item_row("PLdx", item(0, "vid001")),
            store.playlist_item_row("PLdx", item(1, "vid014")),
            store.playlist_item_row("PLdx", item(2, "gone1", "Deleted video", None)),
            store.playlist_item_row("PLdx", item(3, "gone2", "Private video", None)),
        ],
    )
    store.replace_playlist_items(
        db,
        "PLbosai",
        [
            store.playlist_item_row("PLbosai", item(0, "vid004")),
            store.playlist_item_row("PLbosai", item(1, "vid001")),
        ],
    )
    store.mark_playlists_removed(db, CHANNEL, {"PLdx", "PLbosai"}, "not_listed", NOW)
    return db


def rows(db, sql, params=()):
    return list(db.query(sql, params))


def test_every_view_exists_and_is_reapplied_idempotently(db):
    assert set(views.VIEWS) <= set(db.view_names())
    before = {name: db[name].schema for name in views.VIEWS}
    views.create_views(db)
    assert {name: db[name].schema for name in views.VIEWS} == before


def test_views_need_no_python_functions(db):
    # A bare sqlite3 connection, as the sqlite3 shell or Datasette without our plugin has.
    path = db.execute("PRAGMA database_list").fetchone()[2]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for name in views.VIEWS:
        conn.execute(f"SELECT * FROM {name}").fetchall()
    conn.close()


def test_hms_formatting():
    conn = sqlite3.connect(":memory:")
    cases = {0: "0:00:00", 59: "0:00:59", 61: "0:01:01", 3600: "1:00:00", 5001: "1:23:21",
             36000 + 59: "10:00:59", 100 * 3600: "100:00:00"}  # fmt: skip
    for seconds, expected in cases.items():
        sql = f"SELECT {views.hms_sql('s')} FROM (SELECT ? AS s)"
        assert conn.execute(sql, [seconds]).fetchone()[0] == expected
    assert conn.execute(f"SELECT {views.hms_sql('NULL')}").fetchone()[0] is None


def test_video_overview(db):
    (row,) = rows(db, "SELECT * FROM video_overview WHERE id = 'vid001'")
    assert row == {
        "id": "vid001",
        "title": "自治体DX推進セミナー「はじめの一歩」",
        "published_at": "2021-05-10T01:00:00Z",
        "duration": "1:30:00",
        "duration_seconds": 5400,
        "url": "https://www.youtube.com/watch?v=vid001",
        "chapter_count": 4,
        "playlists": "自治体DX講座, 防災シリーズ",
        "view_count": 100,
        "like_count": 1,
        "comment_count": 0,
        "removed_at": None,
        "has_transcript": 0,
    }
    (short,) = rows(db, "SELECT duration, playlists FROM video_overview WHERE id = 'vid012'")
    assert short == {"duration": "0:45:00", "playlists": None}
    assert db.execute("SELECT count(*) FROM video_overview").fetchone()[0] == len(VIDEOS)
    removed = rows(db, "SELECT id FROM video_overview WHERE removed_at IS NOT NULL")
    assert {r["id"] for r in removed} == REMOVED


def test_chapter_index(db):
    chapters = rows(db, "SELECT * FROM chapter_index WHERE video_id = 'vid029' ORDER BY position")
    titles = ["開会", "管理職の役割", "人材マネジメント", "グループワーク"]
    assert [c["title"] for c in chapters] == titles
    assert chapters[3] == {
        "video_id": "vid029",
        "video_title": "新任管理職研修 マネジメントの基礎",
        "video_published_at": "2024-04-23T01:00:00Z",
        "position": 4,
        "title": "グループワーク",
        "start": "0:50:00",
        "start_seconds": 3000,
        "end_seconds": 5400,
        "url": "https://www.youtube.com/watch?v=vid029&t=3000s",
    }
    # Chapters of removed videos are left out; chapters of every other video are there.
    listed = {r["video_id"] for r in rows(db, "SELECT DISTINCT video_id FROM chapter_index")}
    assert listed & REMOVED == set()
    with_chapters = {r["video_id"] for r in rows(db, "SELECT DISTINCT video_id FROM chapters")}
    assert listed == with_chapters - REMOVED


def test_channel_summary_months_are_japan_time(tmp_path):
    db = open_db(tmp_path / "s.db")
    store.save_videos(
        db,
        [
            # 2024-03-31 20:00 UTC is 1 April in Japan: April, fiscal year 2024.
            make_resource("a", "a", published="2024-03-31T20:00:00Z", duration="PT1H"),
            make_resource("b", "b", published="2024-04-15T00:00:00Z", duration="PT30M"),
            # 2024-03-31 14:00 UTC is still 31 March in Japan: fiscal year 2023.
            make_resource("c", "c", published="2024-03-31T14:00:00Z", duration="PT2H"),
            make_resource("d", "d", published="2024-03-01T00:00:00Z", duration="PT2H"),
        ],
        NOW,
    )
    store.mark_videos_removed(db, ["d"], "unavailable", NOW)
    assert rows(db, "SELECT * FROM channel_summary ORDER BY year, month") == [
        {"channel_id": CHANNEL, "year": 2024, "month": 3, "fiscal_year": 2023, "videos": 1,
         "hours": 2.0},
        {"channel_id": CHANNEL, "year": 2024, "month": 4, "fiscal_year": 2024, "videos": 2,
         "hours": 1.5},
    ]  # fmt: skip


def test_playlist_overview(db):
    by_id = {r["playlist_id"]: r for r in rows(db, "SELECT * FROM playlist_overview")}
    assert by_id["PLdx"] == {
        "playlist_id": "PLdx",
        "title": "自治体DX講座",
        "channel_id": CHANNEL,
        "published_at": "2021-01-01T00:00:00Z",
        "item_count": 4,
        "available_items": 2,
        "deleted_items": 1,
        "private_items": 1,
        "duration_seconds": 2 * 5400,
        "duration": "3:00:00",
        "removed_at": None,
    }
    assert by_id["PLold"]["removed_at"] == NOW
    assert by_id["PLold"]["item_count"] == 0
    assert by_id["PLold"]["duration"] is None


def test_stats_latest_growth(tmp_path):
    db = open_db(tmp_path / "s.db")
    store.save_videos(db, [make_resource("a", "a", views=100)], "2024-01-01T00:00:00Z")
    for day, views_ in [("2024-01-20", 150), ("2024-02-10", 300), ("2024-02-15", 380)]:
        store.save_videos(db, [make_resource("a", "a", views=views_)], f"{day}T00:00:00Z")
    # A later sync that saw no change: the windows end here, not at the last change.
    store.save_videos(db, [make_resource("a", "a", views=380)], "2024-02-19T00:00:00Z")
    store.save_videos(db, [make_resource("new", "n", views=7)], "2024-02-18T00:00:00Z")
    by_id = {r["video_id"]: r for r in rows(db, "SELECT * FROM stats_latest")}
    a = by_id["a"]
    assert (a["view_count"], a["observed_at"]) == (380, "2024-02-15T00:00:00Z")
    assert a["first_observed_at"] == "2024-01-01T00:00:00Z"
    assert a["views_growth"] == 280
    assert a["as_of"] == "2024-02-19T00:00:00Z"
    # 7 days before 19 Feb is 12 Feb: the figure then was 300 (seen 10 Feb).
    assert a["views_growth_7d"] == 80
    # 30 days before is 20 Jan: 150.
    assert a["views_growth_30d"] == 230
    assert a["likes_growth"] == 0
    # Not observed 7 days before its last sync: unknown, not zero.
    assert by_id["new"]["views_growth"] == 0
    assert by_id["new"]["views_growth_7d"] is None


def test_removed_videos(db, tmp_path):
    assert rows(db, "SELECT video_id, removed_at, removed_reason FROM removed_videos") == [
        {"video_id": "vid043", "removed_at": NOW, "removed_reason": "unavailable"}
    ]
    other = open_db(tmp_path / "r.db")
    store.save_videos(other, [make_resource(v, v) for v in "abc"], NOW)
    store.mark_videos_removed(other, ["a"], "unavailable", "2024-01-01T00:00:00Z")
    store.mark_videos_removed(other, ["c"], "not_in_uploads", "2024-05-01T00:00:00Z")
    assert [
        (r["video_id"], r["removed_reason"], r["duration"])
        for r in rows(other, "SELECT * FROM removed_videos")
    ] == [("c", "not_in_uploads", "1:30:00"), ("a", "unavailable", "1:30:00")]


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        ("SELECT * FROM removed_videos", "videos_removed_at"),
        ("SELECT year, sum(videos) FROM channel_summary GROUP BY year", "videos_removed_at"),
        ("SELECT * FROM stats_latest", "video_stats_video"),
        ("SELECT * FROM chapter_index WHERE video_id = 'x'", "sqlite_autoindex_chapters_1"),
        ("SELECT * FROM playlist_overview", "sqlite_autoindex_playlist_items_1"),
        ("SELECT * FROM video_overview", "playlist_items_video"),
    ],
)
def test_views_use_indexes(db, sql, index):
    plan = " | ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert index in plan, plan
    if "channel_summary" in sql:
        assert "COVERING INDEX videos_removed_at" in plan, plan
