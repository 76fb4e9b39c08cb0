"""Search by meaning: the passages nearest a query, as search rows.

Exact nearest neighbours with numpy: every vector of the index is read (int8 with a scale, one
row per passage: memory-mapped from the vector file beside the database when it is up to date,
search/vector_file.py, else from SQLite) and scored by matrix products with the query's vector,
a block at a time. At 100,000 passages that is ~39 MB of vectors (bench/meaning.py measures it); a
process that searches again (the console) keeps them until the index changes. Past a few
hundred thousand passages an approximate index would be needed: see docs/development.md ("Search").

A transcript hit points at the cue of its window that shares most words (character bigrams,
after NFKC + case folding) with the query; with none in common, at the window's first cue.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict

from archivesync.parsing import normalize_text
from archivesync.search import vector_file
from archivesync.search.meaning_index import (
    TABLE,
    database_path,
    indexed_model,
    read_vectors,
    stamp,
)
from archivesync.search.models import load_model, model_name
from archivesync.search.passages import KIND_CHAPTER, KIND_CODES, KIND_TRANSCRIPT, KIND_VIDEO
from archivesync.urls import chapter_url

# `--in` scopes -> the passage kinds that answer them (tags are never embedded alone).
SCOPE_KINDS = {
    "titles": KIND_VIDEO,
    "descriptions": KIND_VIDEO,
    "chapters": KIND_CHAPTER,
    "transcripts": KIND_TRANSCRIPT,
}

_BLOCK = 1024  # 1.5 MB of float32: stays in cache (bench: ~2 × faster than 8192)
_cache_lock = threading.Lock()
_cache: dict[tuple, tuple] = {}


def _vectors(conn: sqlite3.Connection, ident: str):
    """(passage ids, kind codes, scales, int8 matrix) of `ident`'s vectors, cached per state:
    memory-mapped from the vector file when it matches the index, else read from SQLite."""
    path = database_path(conn)
    state = stamp(conn, ident)  # cheap: an index count, the last id and one app_state row
    key = (path, ident)
    with _cache_lock:
        cached = _cache.get(key)
    if path and cached and cached[0] == state:
        return cached[1]
    vectors = vector_file.load(vector_file.file_for(path), state)
    if vectors is None:
        state, vectors = read_vectors(conn, ident)
    if path:
        with _cache_lock:
            _cache.clear()  # one index per process is the common case; keep memory bounded
            _cache[key] = (state, vectors)
    return vectors


def _scores(scales, matrix, query):
    """Cosine similarity of every stored vector with `query`, converting a block at a time
    (the whole matrix as float32 would be 4 times the int8 one in memory)."""
    import numpy as np

    out = np.empty(len(matrix), dtype=np.float32)
    for start in range(0, len(matrix), _BLOCK):
        block = matrix[start : start + _BLOCK].astype(np.float32)
        out[start : start + _BLOCK] = block @ query
    return out * scales


def _bigrams(text: str) -> set[str]:
    text = "".join(normalize_text(text).split())
    return {text[i : i + 2] for i in range(max(len(text) - 1, 1))} if text else set()


def best_cue(query: str, cues: list[tuple]) -> tuple:
    """The cue ((position, start, end, text), ...) sharing most bigrams with the query."""
    wanted = _bigrams(query)
    return max(cues, key=lambda c: (len(wanted & _bigrams(c[3])), -c[1]))


def nearest(
    conn: sqlite3.Connection,
    query: str,
    *,
    limit: int = 20,
    kinds: tuple[str, ...] | None = None,
) -> list[tuple[int, float]]:
    """(passage id, cosine similarity) of the `limit` passages nearest `query`, best first."""
    import numpy as np

    ident = indexed_model(conn)
    if ident is None:
        return []
    embedder = load_model(model_name(ident))
    ids, codes, scales, matrix = _vectors(conn, ident)
    if not len(ids):
        return []
    scores = _scores(scales, matrix, embedder.query(query))
    if kinds is not None:
        wanted = np.isin(codes, [KIND_CODES[k] for k in kinds])
        scores = np.where(wanted, scores, -np.inf)
    top = min(limit, len(ids))
    best = np.argpartition(-scores, top - 1)[:top]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(ids[i]), float(scores[i])) for i in best if np.isfinite(scores[i])]


def meaning_hits(
    conn: sqlite3.Connection,
    query: str,
    *,
    limit: int = 20,
    include_removed: bool = False,
    where: tuple[str, ...] | None = None,
) -> list[dict]:
    """Search rows of the passages nearest `query` (`score`: cosine similarity)."""
    kinds = tuple({SCOPE_KINDS[w] for w in where if w in SCOPE_KINDS}) if where else None
    if kinds == ():
        return []
    # Removed videos are skipped after ranking: ask for more than `limit` to fill the page.
    found = nearest(conn, query, limit=limit * 2 + 10, kinds=kinds)
    if not found:
        return []
    marks = ",".join("?" * len(found))
    passages = {
        r[0]: r
        for r in conn.execute(
            f"SELECT p.id, p.video_id, p.kind, p.track_id, p.start_seconds, p.end_seconds, "
            f"p.key, v.title, v.url, v.published_at, v.duration_seconds, v.removed_at "
            f"FROM {TABLE} p LEFT JOIN videos v ON v.id = p.video_id WHERE p.id IN ({marks})",
            [f[0] for f in found],
        )
    }
    hits = []
    for passage_id, similarity in found:
        row = passages.get(passage_id)
        if row is None or row[7] is None or (row[11] is not None and not include_removed):
            continue
        hit = _row(conn, query, row)
        hit["score"] = round(similarity, 4)
        hits.append(hit)
        if len(hits) == limit:
            break
    return hits


def _row(conn: sqlite3.Connection, query: str, row: tuple) -> dict:
    (_, video_id, kind, track_id, start, end, key, title, url, published, duration, removed) = row
    hit = {
        "video_id": video_id,
        "title": title,
        "url": url,
        "published_at": published,
        "duration_seconds": duration,
        "removed_at": removed,
        "chapter_position": None,
        "chapter_title": None,
        "start_seconds": None,
        "chapter_url": None,
        "score": 0,
        "match_kind": "video",
        "deep_link": url,
        "matched_by": ["meaning"],
        "passage": key,
    }
    if kind == KIND_CHAPTER:
        position = int(key.rsplit(":", 1)[1])
        chapter = conn.execute(
            "SELECT title, start_seconds FROM chapters WHERE video_id = ? AND position = ?",
            [video_id, position],
        ).fetchone()
        link = chapter_url(video_id, int(start or 0))
        hit.update(
            match_kind="chapter",
            chapter_position=position,
            chapter_title=chapter[0] if chapter else None,
            start_seconds=chapter[1] if chapter else start,
            end_seconds=end,
            chapter_url=link,
            deep_link=link,
        )
    elif kind == KIND_TRANSCRIPT:
        cues = passage_cues(conn, track_id, start, end)
        if cues:
            cue = best_cue(query, cues)
            hit.update(
                match_kind="transcript",
                start_seconds=cue[1],
                end_seconds=cue[2],
                deep_link=chapter_url(video_id, max(int(cue[1]), 0)),
                text=cue[3],
                context=" ".join(c[3] for c in cues),
                track_id=track_id,
                cue_position=cue[0],
            )
    return hit


def passage_cues(conn: sqlite3.Connection, track_id: str, start, end) -> list[tuple]:
    """The cues (position, start, end, text) of a transcript window."""
    return conn.execute(
        "SELECT position, start_seconds, end_seconds, text FROM transcript_cues "
        "WHERE track_id = ? AND start_seconds >= ? AND end_seconds <= ? ORDER BY position",
        [track_id, start, end],
    ).fetchall()


def window_keys(conn: sqlite3.Connection, cues: list[tuple[str, float]]) -> dict:
    """For (track id, cue start) pairs, the key of the transcript passage holding each."""
    by_track: dict[str, list[float]] = defaultdict(list)
    for track_id, start in cues:
        by_track[track_id].append(start)
    out = {}
    for track_id, starts in by_track.items():
        windows = conn.execute(
            f"SELECT key, start_seconds, end_seconds FROM {TABLE} WHERE track_id = ? AND kind = ?",
            [track_id, KIND_TRANSCRIPT],
        ).fetchall()
        for start in starts:
            for key, first, last in windows:
                if first <= start <= last:
                    out[(track_id, start)] = key
                    break
    return out
