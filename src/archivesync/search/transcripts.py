"""Transcripts in the search: one FTS5 row per cue, over the cue and the one after it.

Automatic captions break lines mid-phrase ("...20の基幹業務" / "システムを標準化..."), so a
cue alone cannot find "基幹業務システム". Each cue is indexed as a window: its own text joined
to the next cue's (with no space between two Japanese characters, one space between two
Latin letters or digits). A hit belongs to the cue where a query word starts; a match lying
wholly in the next cue is that cue's hit, found by its own window, so nothing is reported
twice. Tokenising is the metadata search's (search/text.py: NFKC + casefold, character
bigrams), plus the window's folded copy (search/fold.py) where folding changes it.

Layout (migration 0010_words_index): ``search_fts_transcripts`` is contentless (FTS5,
``content=''``, tokenize ascii): the bigram text is 2-3 times the transcript and was 40% of
the database when FTS5 kept a copy. Deleting a row needs the text it was indexed with, which
``window_tokens`` rebuilds from ``transcript_cues.text`` and ``text_folded`` (the cue's folded
text, NULL when folding changes nothing: stored, so neither deleting nor searching runs the
analyser over cues). The rowid is ``video key << 32 | (2**32 - 1 - cue id)`` where the video
key is the video's ``search_docs.id`` (minutes since 2005, newest largest): walking rowids
downwards gives the newest video first and, within it, cues in the order they were written
(spoken). A search therefore stops as soon as its page is full and never reads the rest of
the matches of a word found in every third cue; it skips to the next video with a rowid bound.
"""

from __future__ import annotations

import sqlite3
from itertools import groupby, islice
from typing import TYPE_CHECKING

from archivesync.bigrams import normalize_many
from archivesync.parsing import normalize_text
from archivesync.search.text import SearchQuery
from archivesync.urls import chapter_url

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlite_utils import Database

_BLOCK = 2000  # cues given to fts_texts at once
# Matches of a full video read past before a new query skips them: reading a rowid costs
# well under a microsecond, a new query a few milliseconds (bench/words_scale.py).
_READ_ON = 2048
_LOW = 0xFFFFFFFF  # cue ids live in the low 32 bits of a rowid, counted down
TABLE = "search_fts_transcripts"


def _joiner(left: str, right: str) -> str:
    """One space between two Latin letters or digits; none next to Japanese text."""
    latin = left and right and left[-1].isascii() and right[0].isascii()
    return " " if latin and left[-1].isalnum() and right[0].isalnum() else ""


def window(text: str, next_text: str | None) -> tuple[str, int]:
    """(the normalised window of a cue and the one after it, length of the cue's own part)."""
    own = normalize_text(text)
    after = normalize_text(next_text) if next_text else ""
    return own + _joiner(own, after) + after, len(own)


def _join(own: str, after: str) -> tuple[str, int]:
    return own + _joiner(own, after) + after, len(own)


def windows(
    text: str, folded: str | None, next_text: str | None, next_folded: str | None
) -> tuple[tuple[str, int], tuple[str, int] | None]:
    """The cue's window (text, own length) and its folded window (None when the same)."""
    own, after = normalize_text(text), normalize_text(next_text) if next_text else ""
    plain = _join(own, after)
    if folded is None and next_folded is None:
        return plain, None
    return plain, _join(folded if folded is not None else own, next_folded or after)


def window_tokens(rows: list[tuple[str, str | None, str | None, str | None]]) -> list[str]:
    """What FTS5 is given for each cue (text, folded, next text, next folded): the window's
    bigrams, then its folded copy's where folding changed it (after a gap no phrase crosses:
    the window's last token is a lone character)."""
    # Imported here: searching (the CLI) never needs the index writer and its sqlite-utils.
    from archivesync.db.search_index import _fts_texts as fts_texts

    out = []
    for start in range(0, len(rows), _BLOCK):  # bounded strings, whatever the track's length
        plain, extra = [], []
        for row in rows[start : start + _BLOCK]:
            window, folded_window = windows(*row)
            plain.append(window[0])
            changed = folded_window is not None and folded_window[0] != window[0]
            extra.append(folded_window[0] if changed else "")
        tokens = fts_texts(plain + extra)
        size = len(plain)
        for own, more in zip(tokens[:size], tokens[size:], strict=True):
            out.append(own + "  " + more if more.strip() else own)
    return out


def cue_key(doc_id: int, cue_id: int) -> int:
    """The FTS rowid of a cue of the video whose search_docs id is `doc_id`."""
    return (doc_id << 32) | (_LOW - cue_id)


def _cue_id(key: int) -> int:
    return _LOW - (key & _LOW)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _rows_of(conn: sqlite3.Connection, where: str, arg) -> list[tuple[int, str]]:
    """(cue id, FTS text) of the cues selected by `where`, each with the cue after it."""
    rows = conn.execute(
        "SELECT c.id, c.text, c.text_folded, n.text, n.text_folded FROM transcript_cues c "
        "LEFT JOIN transcript_cues n ON n.track_id = c.track_id AND n.position = c.position + 1 "
        f"WHERE {where}",
        [arg],
    ).fetchall()
    return list(zip([r[0] for r in rows], window_tokens([r[1:] for r in rows]), strict=True))


def _doc_id(conn: sqlite3.Connection, video_id: str) -> int | None:
    row = conn.execute("SELECT id FROM search_docs WHERE video_id = ?", [video_id]).fetchone()
    return row[0] if row else None


def _write(conn, doc_id: int, rows: list[tuple[int, str]], command: str | None) -> None:
    # Ascending rowids: FTS5 starts a new segment whenever a rowid is lower than the last.
    conn.executemany(
        f"INSERT INTO {TABLE} ({TABLE}, rowid, text) VALUES (?, ?, ?)",
        sorted((command, cue_key(doc_id, cue_id), text) for cue_id, text in rows),
    )


def fold_cues(db: Database, track_id: str) -> None:
    """Store each cue's folded text (``text_folded``; NULL when folding changes nothing)."""
    from archivesync.search.fold import fold_many

    rows = db.conn.execute(
        "SELECT id, text FROM transcript_cues WHERE track_id = ?", [track_id]
    ).fetchall()
    own = normalize_many([text for _, text in rows])
    folded = fold_many(own)
    updates = [(f if f != o else None, r[0]) for r, o, f in zip(rows, own, folded, strict=True)]
    db.conn.executemany("UPDATE transcript_cues SET text_folded = ? WHERE id = ?", updates)


def fold_all_cues(db: Database) -> None:
    """Store the folded text of every cue (migration 0010; before a rebuild of the index)."""
    for (track_id,) in db.conn.execute("SELECT DISTINCT track_id FROM transcript_cues").fetchall():
        fold_cues(db, track_id)


def index_track(db: Database, track_id: str) -> None:
    """Fold and index every cue of a track (its cues just written, not yet indexed).

    A video not in the search index (no search_docs row) is indexed when it gets one.
    """
    fold_cues(db, track_id)
    row = db.conn.execute(
        "SELECT d.id FROM caption_tracks t JOIN search_docs d ON d.video_id = t.video_id "
        "WHERE t.id = ?",
        [track_id],
    ).fetchone()
    if row is not None:
        _write(db.conn, row[0], _rows_of(db.conn, "c.track_id = ?", track_id), None)


def unindex_track(db: Database, track_id: str) -> None:
    """Delete a track's search rows (before its cues are deleted)."""
    row = db.conn.execute(
        "SELECT d.id FROM caption_tracks t JOIN search_docs d ON d.video_id = t.video_id "
        "WHERE t.id = ?",
        [track_id],
    ).fetchone()
    if row is not None:
        _write(db.conn, row[0], _rows_of(db.conn, "c.track_id = ?", track_id), "delete")


def rekey_videos(conn: sqlite3.Connection, moved: Iterable[tuple[str, int | None]]) -> None:
    """Move the cues of videos whose search_docs id changed: (video id, old id or None).

    Called by the metadata index (db/search_index.py) after it wrote search_docs.
    """
    for video_id, old in moved:
        rows = _rows_of(conn, "c.video_id = ?", video_id)
        if not rows:
            continue
        if old is not None:
            _write(conn, old, rows, "delete")
        new = _doc_id(conn, video_id)
        if new is not None:
            _write(conn, new, rows, None)


def clear_index(conn: sqlite3.Connection) -> None:
    """Empty the transcript search rows (the metadata rebuild writes them again)."""
    conn.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('delete-all')")


# --------------------------------------------------------------------------------------------
# Querying
# --------------------------------------------------------------------------------------------


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
    ids = [_cue_id(k) for k in keys]
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
        [expression, doc_id << 32, (doc_id << 32) | _LOW],
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
