"""One ranked list: the words ranking and the meaning ranking fused by reciprocal rank.

Both rankings are over the same things (a video as a whole, a chapter, a moment of a
transcript), so a hit found both ways is one row. A row's `score` is
``1/(K + rank in words) + 1/(K + rank in meaning)`` (a ranking that misses it adds nothing),
as in reciprocal-rank fusion (Cormack et al. 2009; K = 60 as there; bench/meaning.py compares
it with the rankings alone on the labelled set). A transcript row found by words keeps the
cue that holds the words; found by meaning alone, the best cue of its window.

Hybrid never loses what words mode ranks in its top 5: those rows are always in the list
(tests/test_meaning.py checks it on the labelled set).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from archivesync.search.meaning_index import has_meaning_index
from archivesync.search.query import search, search_words
from archivesync.search.text import parse_query

MODES = ("words", "meaning", "hybrid")
K = 60
KEEP_WORDS_TOP = 5
# Hybrid takes this many meaning hits at most: meaning always ranks every passage, and its
# tail is noise (the console asks for 200 rows; it would list every video).
MEANING_DEPTH = 20


def _words_key(hit: dict, windows: dict) -> tuple:
    if hit.get("match_kind") == "transcript":
        key = windows.get((hit.get("track_id"), hit.get("start_seconds")))
        return ("passage", key) if key else ("cue", hit.get("track_id"), hit.get("start_seconds"))
    if hit.get("chapter_position") is not None:
        return ("passage", f"chapter:{hit['video_id']}:{hit['chapter_position']}")
    return ("passage", f"video:{hit['video_id']}")


def fuse(conn: sqlite3.Connection, words: list[dict], meaning: list[dict], limit: int):
    """Words rows and meaning rows (each best first) as one list, best first."""
    from archivesync.search.meaning import window_keys

    windows = window_keys(
        conn,
        [(h.get("track_id"), h.get("start_seconds")) for h in words if h.get("track_id")],
    )
    rows: dict[tuple, dict] = {}
    scores: dict[tuple, float] = {}
    words_top: list[tuple] = []
    for rank, hit in enumerate(words, 1):
        key = _words_key(hit, windows)
        if key in rows:  # a second cue of the same window: the better one stands for it
            continue
        rows[key] = {**hit, "matched_by": ["words"]}
        scores[key] = 1 / (K + rank)
        if rank <= KEEP_WORDS_TOP:
            words_top.append(key)
    for rank, hit in enumerate(meaning, 1):
        key = ("passage", hit["passage"])
        if key in rows:
            if "meaning" not in rows[key]["matched_by"]:
                rows[key]["matched_by"].append("meaning")
                scores[key] += 1 / (K + rank)
            continue
        rows[key] = dict(hit)
        scores[key] = 1 / (K + rank)
    order = sorted(rows, key=lambda k: -scores[k])
    kept = order[:limit]
    # Words mode's own top 5 always survive the fusion (at the end of the page if need be).
    missing = [k for k in words_top if k not in kept]
    if missing:
        kept = kept[: max(limit - len(missing), 0)] + missing
    out = []
    for key in kept:
        row = rows[key]
        row["score"] = round(scores[key], 6)
        row.pop("passage", None)
        out.append(row)
    return out


def default_mode(conn: sqlite3.Connection) -> str:
    """`hybrid` when the index has a meaning index (`archivesync embed`), else `words`."""
    return "hybrid" if has_meaning_index(conn) else "words"


def search_modes(
    db,
    query: str,
    *,
    mode: str | None = None,
    limit: int = 20,
    include_removed: bool = False,
    where: Sequence[str] | None = None,
    exact: bool = False,
) -> list[dict]:
    """Rows for `query` in `mode` (words, meaning or hybrid; default: `default_mode`), best
    first, each with `matched_by` and `score`. Raises EmptyQuery for a query with no words.

    The one search of the CLI and the console. Words mode is `search.query.search` as it is
    (one row per video, its chapter and cue hits attached); hybrid fuses the words ranking
    hit by hit (`search_words`). `exact` turns off spelling variants in the words part.
    """
    conn = db if isinstance(db, sqlite3.Connection) else db.conn
    mode = mode or default_mode(conn)
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r} (use {', '.join(MODES)})")
    parse_query(query, exact=True)  # EmptyQuery for every mode alike (no analyser needed)

    if mode == "words":
        return search(
            conn, query, limit=limit, include_removed=include_removed, where=where, exact=exact
        )
    # Only now: numpy and the model load for a meaning search alone (start-up of words mode).
    from archivesync.search.meaning import meaning_hits

    def words(n: int) -> list[dict]:
        ranked = search_words(
            conn, query, limit=n, include_removed=include_removed, where=where, exact=exact
        )
        return [hit.row for hit in ranked]

    scopes = tuple(where) if where else None
    depth = limit if mode == "meaning" else min(limit, MEANING_DEPTH)
    meaning = meaning_hits(conn, query, limit=depth, include_removed=include_removed, where=scopes)
    if mode == "meaning":
        for hit in meaning:
            hit.pop("passage", None)
        return meaning
    return fuse(conn, words(limit), meaning, limit)
