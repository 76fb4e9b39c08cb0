"""Transcripts in the search: one FTS5 row per cue, over the cue and the one after it.

Automatic captions break lines mid-phrase ("...20の基幹業務" / "システムを標準化..."), so a
cue alone cannot find "基幹業務システム". Each cue is indexed as a window: its own text joined
to the next cue's (with no space between two Japanese characters, one space between two
Latin letters or digits). A hit belongs to the cue where a query word starts; a match lying
wholly in the next cue is that cue's hit, found by its own window, so nothing is reported
twice. Tokenising is the metadata search's (search/text.py: NFKC + casefold, character
bigrams), so the same words find the same text, with precision and recall 1.0 after the
exact check below.

Layout (DDL in db/schema.py, migration 0005_transcripts): ``search_fts_transcripts`` (FTS5,
tokenize ascii, rowid = ``transcript_cues.id``). Not contentless: it keeps its bigram text,
so a track's rows can be deleted by rowid when the track is downloaded again.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from archivesync.bigrams import bigram_text
from archivesync.parsing import normalize_text
from archivesync.search.text import SearchQuery
from archivesync.timestamps import read_iso
from archivesync.urls import chapter_url

if TYPE_CHECKING:
    from sqlite_utils import Database


def _joiner(left: str, right: str) -> str:
    """One space between two Latin letters or digits; none next to Japanese text."""
    latin = left and right and left[-1].isascii() and right[0].isascii()
    return " " if latin and left[-1].isalnum() and right[0].isalnum() else ""


def window(text: str, next_text: str | None) -> tuple[str, int]:
    """(the normalised window of a cue and the one after it, length of the cue's own part)."""
    own = normalize_text(text)
    after = normalize_text(next_text) if next_text else ""
    return own + _joiner(own, after) + after, len(own)


def _track_windows(db: Database, track_id: str) -> list[tuple[int, str]]:
    rows = list(
        db.conn.execute(
            "SELECT id, text FROM transcript_cues WHERE track_id = ? ORDER BY position",
            [track_id],
        )
    )
    out = []
    for i, (cue_id, text) in enumerate(rows):
        next_text = rows[i + 1][1] if i + 1 < len(rows) else None
        out.append((cue_id, window(text, next_text)[0]))
    return out


def index_track(db: Database, track_id: str) -> None:
    """(Re)write the search rows of every cue of a track (its cues already written)."""
    unindex_track(db, track_id)
    db.conn.executemany(
        "INSERT INTO search_fts_transcripts (rowid, text) VALUES (?, ?)",
        [(cue_id, bigram_text(text)) for cue_id, text in _track_windows(db, track_id)],
    )


def unindex_track(db: Database, track_id: str) -> None:
    """Delete a track's search rows (before its cues are deleted)."""
    db.conn.execute(
        "DELETE FROM search_fts_transcripts WHERE rowid IN "
        "(SELECT id FROM transcript_cues WHERE track_id = ?)",
        [track_id],
    )


def starts_in_own(terms: list[str], text: str, own_length: int) -> bool:
    """Every word in the window, and at least one starting in the cue's own part."""
    if not all(term in text for term in terms):
        return False
    return any(0 <= text.find(term) < own_length for term in terms)


def search_transcripts(
    db: Database | sqlite3.Connection,
    query: SearchQuery,
    *,
    limit: int = 20,
    include_removed: bool = False,
) -> list[dict]:
    """Cues (with the next cue) containing every word of `query`: newest video first, then in
    order of time. Each hit has the second it starts at and a link that plays from there.
    An index older than migration 0005 (no transcript table) has no transcript hits."""
    conn = db if isinstance(db, sqlite3.Connection) else db.conn
    expression = query.match_expression()
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'search_fts_transcripts'"
    ).fetchone()
    if expression is None or not has_table:
        return []
    candidates = [
        r[0]
        for r in conn.execute(
            "SELECT rowid FROM search_fts_transcripts WHERE search_fts_transcripts MATCH ?",
            [expression],
        )
    ]
    if not candidates:
        return []
    rows = []
    for start in range(0, len(candidates), 500):
        part = candidates[start : start + 500]
        marks = ",".join("?" * len(part))
        rows += conn.execute(
            f"""
            SELECT c.id, c.video_id, c.track_id, c.position, c.start_seconds, c.end_seconds,
                   c.text, p.text AS prev_text, n.text AS next_text, t.track_kind,
                   v.title, v.url, v.published_at, v.duration_seconds, v.removed_at
            FROM transcript_cues c
            JOIN caption_tracks t ON t.id = c.track_id
            LEFT JOIN transcript_cues p ON p.track_id = c.track_id AND p.position = c.position - 1
            LEFT JOIN transcript_cues n ON n.track_id = c.track_id AND n.position = c.position + 1
            LEFT JOIN videos v ON v.id = c.video_id
            WHERE c.id IN ({marks})
            """,
            part,
        ).fetchall()
    hits = []
    for row in rows:
        (_, video_id, track_id, position, start, end, text, prev_text, next_text, kind,
         title, url, published, duration, removed) = row  # fmt: skip
        if removed is not None and not include_removed:
            continue
        normalized, own = window(text, next_text)
        if not starts_in_own(query.terms, normalized, own):
            continue
        context = " ".join(t for t in (prev_text, text, next_text) if t)
        hits.append(
            {
                "video_id": video_id,
                "title": title,
                "url": url,
                "published_at": published,
                "duration_seconds": duration,
                "removed_at": removed,
                "match_kind": "transcript",
                "chapter_position": None,
                "chapter_title": None,
                "start_seconds": start,
                "end_seconds": end,
                "deep_link": chapter_url(video_id, max(int(start), 0)),
                "text": text,
                "context": context,
                "track_id": track_id,
                "track_kind": kind,
                "cue_position": position,
                "score": 0,
            }
        )
    hits.sort(key=lambda h: (-_stamp(h["published_at"]), h["video_id"], h["start_seconds"]))
    return hits[:limit]


def _stamp(published_at: str | None) -> float:
    moment = read_iso(published_at)
    return moment.timestamp() if moment else 0.0
