"""Transcripts in the search, read: which cues hold a query's words, newest video first.

db/transcript_index.py writes the index and explains its layout (one FTS5 row per cue, over
the cue and the one after it; rowids that walk newest video first). A hit belongs to the cue
where a query word starts, so a phrase split across two cues is that first cue's hit.
"""

from __future__ import annotations

import sqlite3
from itertools import groupby, islice
from typing import TYPE_CHECKING

from archivesync.db.transcript_index import LOW_BITS, TABLE, cue_id_of, windows
from archivesync.search.text import SearchQuery
from archivesync.urls import chapter_url

if TYPE_CHECKING:
    from collections.abc import Iterator


# Matches of a full video read past before a new query skips them: reading a rowid costs
# well under a microsecond, a new query a few milliseconds (bench/words_scale.py).
_READ_ON = 2048


def starts_in_own(query: SearchQuery, plain: tuple[str, int], folded=None) -> bool:
    """The rule of a cue hit: every word in the window (text, own length) or, unless exact,
    its folded copy; and at least one starting in the cue's own part."""
    texts = [plain] if folded is None or query.exact else [plain, folded]
    started = False
    for forms in query.forms:
        found = [(t.find(f), own) for f in forms for t, own in texts if f in t]
        if not found:
            return False
        started = started or any(at < own for at, own in found)
    return started


_CUE_SQL = (
    "SELECT c.id, c.track_id, c.position, c.start_seconds, c.end_seconds, c.text, "
    "c.text_folded, n.text, n.text_folded, t.track_kind FROM transcript_cues c "
    "LEFT JOIN caption_tracks t ON t.id = c.track_id "
    "LEFT JOIN transcript_cues n ON n.track_id = c.track_id AND n.position = c.position + 1 "
    "WHERE c.id IN ({marks})"
)


def _check(conn, query: SearchQuery, video_id: str, keys: list[int]) -> list[dict]:
    """The candidates (rowids) that hold the words, as cue hits, in rowid order."""
    ids = [cue_id_of(k) for k in keys]
    rows = {
        r[0]: r
        for r in conn.execute(_CUE_SQL.format(marks=",".join("?" * len(ids))), ids).fetchall()
    }
    hits = []
    for cue_id in ids:
        row = rows.get(cue_id)
        if row is None:
            continue
        (_, track_id, position, start, end, text, folded, next_text, next_folded, kind) = row
        plain, folded_window = windows(text, folded, next_text, next_folded)
        if not starts_in_own(query, plain, folded_window):
            continue
        hits.append(
            {
                "video_id": video_id,
                "match_kind": "transcript",
                "start_seconds": start,
                "end_seconds": end,
                "deep_link": chapter_url(video_id, max(int(start), 0)),
                "text": text,
                # The hit's own cue first, then the next (where a split phrase ends).
                "context": " ".join(t for t in (text, next_text) if t),
                "track_id": track_id,
                "track_kind": kind,
                "cue_position": position,
            }
        )
    return hits


def video_cue_hits(
    conn: sqlite3.Connection, query: SearchQuery, doc_id: int, video_id: str, limit: int
) -> list[dict]:
    """Up to `limit` cues of one video holding every word, in order of time."""
    expression = query.match_expression()
    if expression is None:
        return []
    cursor = conn.execute(
        f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ? AND rowid BETWEEN ? AND ? "
        "ORDER BY rowid DESC",
        [expression, doc_id << 32, (doc_id << 32) | LOW_BITS],
    )
    hits: list[dict] = []
    try:
        while len(hits) < limit:
            keys = [r[0] for r in cursor.fetchmany(max(2 * (limit - len(hits)), 4))]
            if not keys:
                break
            hits += _check(conn, query, video_id, keys)
    finally:
        cursor.close()
    return _in_time(hits[:limit])


def _in_time(hits: list[dict]) -> list[dict]:
    return sorted(hits, key=lambda h: (h["start_seconds"], h["track_id"], h["cue_position"]))


def has_transcript_index(conn: sqlite3.Connection) -> bool:
    """Whether the index has transcript search rows (migration 0010 or later)."""
    return bool(
        conn.execute(
            "SELECT 1 FROM pragma_table_info('transcript_cues') WHERE name = 'text_folded'"
        ).fetchone()
    )


def _keys(cursor) -> Iterator[int]:
    while rows := cursor.fetchmany(64):
        yield from (r[0] for r in rows)


def _video_id(conn: sqlite3.Connection, doc_id: int, include_removed: bool) -> str | None:
    row = conn.execute(
        "SELECT d.video_id, v.removed_at FROM search_docs d "
        "LEFT JOIN videos v ON v.id = d.video_id WHERE d.id = ?",
        [doc_id],
    ).fetchone()
    if row is None or (row[1] is not None and not include_removed):
        return None
    return row[0]


def transcript_videos(
    conn: sqlite3.Connection,
    query: SearchQuery,
    *,
    videos: int = 20,
    per_video: int = 5,
    include_removed: bool = False,
) -> list[tuple[int, str, list[dict]]]:
    """Up to `videos` videos (newest first) with cues holding every word: (search_docs id,
    video id, up to `per_video` cue hits in order of time).

    One cursor walks the matches downwards. When a video has its `per_video` hits (or is
    removed) and more than `_READ_ON` other matches, the walk starts again below it with a
    rowid bound instead of reading them: a word said thousands of times per video costs a
    query per video, and a rarer word is one pass.
    """
    expression = query.match_expression()
    if expression is None or not has_transcript_index(conn):
        return []
    found: list[tuple[int, str, list[dict]]] = []
    upper = 1 << 62
    while len(found) < videos:
        below = None
        cursor = conn.execute(
            f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ? AND rowid < ? ORDER BY rowid DESC",
            [expression, upper],
        )
        try:
            for doc_id, group in groupby(_keys(cursor), key=lambda k: k >> 32):
                video_id = _video_id(conn, doc_id, include_removed)
                hits: list[dict] = []
                matches = iter(group)  # read a few at a time: most are never needed
                while video_id and len(hits) < per_video:
                    chunk = list(islice(matches, 2 * per_video))
                    if not chunk:
                        break
                    hits += _check(conn, query, video_id, chunk)
                if hits:
                    found.append((doc_id, video_id, _in_time(hits[:per_video])))
                if len(found) == videos:
                    break
                # Pass over the video's other matches: read on when they are few (a new
                # query costs more than reading 2,000 rowids), else start again below.
                if sum(1 for _ in islice(matches, _READ_ON)) == _READ_ON:
                    below = doc_id << 32
                    break
        finally:
            cursor.close()
        if below is None:
            break
        upper = below
    return found
