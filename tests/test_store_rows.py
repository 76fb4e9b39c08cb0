"""The ingest path's prepared statements write exactly the rows sqlite-utils would.

`store.write_rows` runs one `executemany` instead of sqlite-utils' `insert_all` / `upsert_all`.
The same saves (new videos, edits, statistics, chapters, removals and returns, playlists and
their items) go once through it and once through sqlite-utils, and every table (rowids
included, and the search index's own tables) must come out identical.
"""

from __future__ import annotations

import copy
import json

import pytest

from archivesync.db import store
from archivesync.db.schema import open_db
from archivesync.emulator import synthetic_dataset
from archivesync.emulator.api import list_response
from archivesync.youtube import VIDEO_PARTS

T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"


def _sqlite_utils_write_rows(db, table, rows, *, upsert_pk=None, replace=False):
    """What store wrote before the prepared statements: sqlite-utils' own methods."""
    if not rows:
        return
    if upsert_pk:
        db[table].upsert_all(rows, pk=upsert_pk)
    else:
        db[table].insert_all(rows, replace=replace)


@pytest.fixture(scope="module")
def channel():
    ds = synthetic_dataset(130, playlists=4)
    ids = ds.uploads()

    def fetch(endpoint, **params):
        body = list_response(ds, endpoint, {k: str(v) for k, v in params.items()})
        return json.loads(json.dumps(body, ensure_ascii=False))

    videos = [
        fetch("videos", part=VIDEO_PARTS, id=",".join(ids[i : i + 50]))["items"]
        for i in range(0, len(ids), 50)
    ]
    playlists = fetch(
        "playlists", part="snippet,contentDetails,status", channelId=ds.channel_id, maxResults=50
    )["items"]
    items = {
        p["id"]: fetch(
            "playlistItems",
            part="snippet,contentDetails,status",
            playlistId=p["id"],
            maxResults=50,
        )["items"]
        for p in playlists
    }
    return videos, playlists, items


def _edited(page: list[dict]) -> list[dict]:
    """The page a day later: a title, a description (so chapters), statistics, tags edited."""
    page = copy.deepcopy(page)
    for i, video in enumerate(page):
        snippet, stats = video["snippet"], video.setdefault("statistics", {})
        if i % 4 == 0:
            snippet["title"] += " (改訂)"
        if i % 5 == 0:
            snippet["description"] = "0:00 はじめに\n1:05 本題\n2:30 まとめ\n" + (
                snippet.get("description") or ""
            )
        if i % 3 == 0:
            stats["viewCount"] = str(int(stats.get("viewCount") or 0) + 17)
        if i % 7 == 0:
            snippet["tags"] = [*snippet.get("tags", []), "追加タグ"]
    return page


def _save_everything(db, channel) -> None:
    videos, playlists, items = channel
    for page in videos:
        with db.atomic():
            store.save_videos(db, page, T1)
    store.save_playlists(db, playlists, T1)
    for playlist_id, entries in items.items():
        rows = [store.playlist_item_row(playlist_id, item) for item in entries]
        store.replace_playlist_items(db, playlist_id, rows)
        store.replace_playlist_items(db, playlist_id, rows[: len(rows) // 2])  # shrunk
    with db.atomic():
        store.save_videos(db, _edited(videos[0]), T2)
        store.save_videos(db, videos[1], T2)  # unchanged
    gone = [v["id"] for v in videos[2][:9]]
    store.mark_videos_removed(db, gone, "unavailable", T2)
    store.save_videos(db, videos[2][:4], T3)  # four of them come back
    store.save_playlists(db, playlists[:2], T3)


def _dump(db) -> dict[str, list[tuple]]:
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != '_sqlite_migrations' "
            "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
        )
    ]
    dump = {}
    for table in tables:
        rowid = "" if "WITHOUT ROWID" in db[table].schema.upper() else "rowid, "
        dump[table] = db.execute(f"SELECT {rowid}* FROM [{table}] ORDER BY 1, 2").fetchall()
    return dump


def test_prepared_statements_write_the_rows_sqlite_utils_writes(channel, tmp_path, monkeypatch):
    fast = open_db(tmp_path / "fast.db")
    _save_everything(fast, channel)
    with monkeypatch.context() as m:
        m.setattr(store, "write_rows", _sqlite_utils_write_rows)
        reference = open_db(tmp_path / "reference.db")
        _save_everything(reference, channel)
    got, want = _dump(fast), _dump(reference)
    assert list(got) == list(want)
    # The scenario reaches every kind of row (else the comparison would prove little).
    for table in ("videos", "chapters", "video_stats", "video_changes", "playlists"):
        assert want[table], table
    fields = {r[0] for r in reference.execute("SELECT DISTINCT field FROM video_changes")}
    assert fields >= {"title", "description", "tags", "removed", "returned"}
    for table in want:
        assert got[table] == want[table], table


def test_write_rows_upsert_keeps_rowid_and_unnamed_columns(tmp_path):
    db = open_db(tmp_path / "a.db")
    store.write_rows(
        db, "playlists", [{"id": "PL1", "title": "a", "item_count": 3}], upsert_pk="id"
    )
    store.write_rows(db, "playlists", [{"id": "PL2", "title": "b"}], upsert_pk="id")
    store.write_rows(db, "playlists", [{"id": "PL1", "title": "c"}], upsert_pk="id")
    rows = db.execute("SELECT rowid, id, title, item_count FROM playlists ORDER BY id").fetchall()
    assert rows == [(1, "PL1", "c", 3), (2, "PL2", "b", None)]
