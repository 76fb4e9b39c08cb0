"""The transcript search index, written: one FTS5 row per cue, over the cue and the one after it.

Automatic captions break lines mid-phrase ("...20の基幹業務" / "システムを標準化..."), so a
cue alone cannot find "基幹業務システム". Each cue is indexed as a window: its own text joined
to the next cue's (with no space between two Japanese characters, one space between two
Latin letters or digits). A hit belongs to the cue where a query word starts; a match lying
wholly in the next cue is that cue's hit, found by its own window, so nothing is reported
twice. Tokenising is the metadata search's (search/text.py: NFKC + casefold, character
bigrams), plus the window's folded copy (fold.py) where folding changes it.

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
from typing import TYPE_CHECKING

from archivesync.bigrams import fts_texts, normalize_many
from archivesync.parsing import normalize_text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlite_utils import Database

_BLOCK = 2000  # cues given to fts_texts at once
LOW_BITS = 0xFFFFFFFF  # cue ids live in the low 32 bits of a rowid, counted down
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
    return (doc_id << 32) | (LOW_BITS - cue_id)


def cue_id_of(key: int) -> int:
    """The cue id a search rowid stands for."""
    return LOW_BITS - (key & LOW_BITS)


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
    from archivesync.fold import fold_many

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


def _doc_of_track(conn: sqlite3.Connection, track_id: str) -> int | None:
    """The search_docs id of the track's video, or None when the video is not indexed."""
    row = conn.execute(
        "SELECT d.id FROM caption_tracks t JOIN search_docs d ON d.video_id = t.video_id "
        "WHERE t.id = ?",
        [track_id],
    ).fetchone()
    return row[0] if row else None


def index_track(db: Database, track_id: str) -> None:
    """Fold and index every cue of a track (its cues just written, not yet indexed).

    A video not in the search index (no search_docs row) is indexed when it gets one.
    """
    fold_cues(db, track_id)
    doc_id = _doc_of_track(db.conn, track_id)
    if doc_id is not None:
        _write(db.conn, doc_id, _rows_of(db.conn, "c.track_id = ?", track_id), None)


def unindex_track(db: Database, track_id: str) -> None:
    """Delete a track's search rows (before its cues are deleted)."""
    doc_id = _doc_of_track(db.conn, track_id)
    if doc_id is not None:
        _write(db.conn, doc_id, _rows_of(db.conn, "c.track_id = ?", track_id), "delete")


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
