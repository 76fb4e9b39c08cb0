"""Words search: the one matcher every screen uses (CLI, console, its CSV, Datasette).

`search_words` ranks hits of every kind in one list; `group_by_video` turns a ranked list of
hits (words alone, or fused with meaning hits) into what the screens show: one row per video,
at its best hit, with its chapter and cue hits attached; `search` is the two together.

Words ranking, best first: every word in the title (tier 4), in the title or a chapter title
(3), said in one transcript cue or a phrase split across two (2), elsewhere in the description
or tags (1); within a tier the newest video first, then in order of time. ``score`` is the
tier plus a share that falls with the place inside it (4.5, 4.25, ... 3.5, ...): higher is more
relevant, rows are sorted by it. Each part reads the index only until its page is full
(search/metadata.py, search/transcripts.py), so a word in every third cue costs what a rare
one does.

Reads only: works on a connection from `db.schema.open_readonly`, or on the plain sqlite3
connection of `db.readonly.connect_readonly` (the search command, which spares itself
importing sqlite-utils).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archivesync.search.metadata import WHERE_CHOICES, WHERE_FIELDS, chapter_hits, metadata_hits
from archivesync.search.text import SearchQuery, parse_query
from archivesync.search.transcripts import (
    has_transcript_index,
    transcript_videos,
    video_cue_hits,
)

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = ["WHERE_CHOICES", "Hit", "group_by_video", "search", "search_words"]

TIERS = {"title": 4, "chapter": 3, "transcript": 2, "description": 1}
# Metadata match groups (search/text.py: 3 title, 2 title or chapters, 1 anywhere) -> tier.
_GROUP_TIERS = {3: 4, 2: 3, 1: 1}
HITS_PER_VIDEO = 5
_VIDEO_COLUMNS = ("title", "url", "published_at", "duration_seconds", "removed_at")


@dataclass
class Hit:
    """One ranked hit: a video's title/chapter/description match or one transcript cue."""

    video_id: str
    kind: str  # "title" | "chapter" | "description" | "transcript"
    start_seconds: float | None
    deep_link: str
    rank: int = 0  # 1-based place in its ranking
    score: float = 0.0  # higher is more relevant
    matched_by: tuple[str, ...] = ("words",)
    row: dict = field(default_factory=dict)  # the JSON row: `archivesync search --json`


def _connection(db: Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.conn


def _scopes(where: Sequence[str] | None) -> tuple[str, ...]:
    scopes = tuple(where) if where else WHERE_CHOICES
    unknown = [w for w in scopes if w not in WHERE_CHOICES]
    if unknown:
        raise ValueError(f"unknown search scope {unknown[0]!r}")
    return scopes


def _videos(conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict]:
    marks = ",".join("?" * len(ids))
    return {
        r[0]: dict(zip(_VIDEO_COLUMNS, r[1:], strict=True))
        for r in conn.execute(
            f"SELECT id, {', '.join(_VIDEO_COLUMNS)} FROM videos WHERE id IN ({marks})", ids
        )
    }


def _doc_ids(conn: sqlite3.Connection, ids: list[str]) -> dict[str, int]:
    marks = ",".join("?" * len(ids))
    return dict(
        conn.execute(f"SELECT video_id, id FROM search_docs WHERE video_id IN ({marks})", ids)
    )


def search_words(
    db: Database | sqlite3.Connection,
    query: str | SearchQuery,
    *,
    limit: int = 20,
    exact: bool = False,
    include_removed: bool = False,
    where: Sequence[str] | None = None,
    hits_per_video: int = HITS_PER_VIDEO,
) -> list[Hit]:
    """The words ranking: hits of the `limit` best videos, best first, ranked and scored.

    A video gives its metadata hit (title, chapter or description) and up to
    `hits_per_video` transcript cues (each at the start of the cue holding the words). Unless
    `exact`, spelling variants match (fold.py). `where` narrows where to look
    (WHERE_CHOICES). Raises EmptyQuery for a query with no words.
    """
    conn = _connection(db)
    parsed = query if isinstance(query, SearchQuery) else parse_query(query, exact=exact)
    scopes = _scopes(where)
    fields = tuple(WHERE_FIELDS[w] for w in scopes if w in WHERE_FIELDS)
    ranked: list[tuple[tuple, dict]] = []  # (sort key, row)
    meta = metadata_hits(conn, parsed, limit, include_removed, fields) if fields else []
    for row in meta:
        ranked.append(((_GROUP_TIERS[row["score"]], row.pop("doc_id"), 0.0), row))
    cued: dict[str, list[dict]] = {}
    if "transcripts" in scopes:
        for doc_id, video_id, hits in transcript_videos(
            conn, parsed, videos=limit, per_video=hits_per_video, include_removed=include_removed
        ):
            cued[video_id] = hits
            ranked += [((TIERS["transcript"], doc_id, -h["start_seconds"]), h) for h in hits]
    ranked.sort(key=lambda item: item[0], reverse=True)
    # The `limit` best videos, then every hit of theirs (a title hit's cues too).
    best: list[str] = list(dict.fromkeys(row["video_id"] for _, row in ranked))[:limit]
    keep = set(best)
    ranked = [(key, row) for key, row in ranked if row["video_id"] in keep]
    uncued = [v for v in best if v not in cued]
    if "transcripts" in scopes and uncued and has_transcript_index(conn):
        for video_id, doc_id in _doc_ids(conn, uncued).items():
            for h in video_cue_hits(conn, parsed, doc_id, video_id, hits_per_video):
                ranked.append(((TIERS["transcript"], doc_id, -h["start_seconds"]), h))
        ranked.sort(key=lambda item: item[0], reverse=True)
    if not ranked:
        return []
    videos = _videos(conn, list(keep))
    out: list[Hit] = []
    place: dict[int, int] = {}
    for rank, ((tier, _, _), row) in enumerate(ranked, 1):
        place[tier] = place.get(tier, 0) + 1
        score = round(tier + 0.5 / place[tier], 6)
        full = {**videos.get(row["video_id"], {}), **row, "score": score, "matched_by": ["words"]}
        full.setdefault("chapter_position", None)
        full.setdefault("chapter_title", None)
        video_id, kind = row["video_id"], row["match_kind"]
        out.append(
            Hit(video_id, kind, row["start_seconds"], row["deep_link"], rank, score, row=full)
        )
    return out


def _attached(hit: Hit) -> dict:
    row = hit.row
    entry = {
        "match_kind": hit.kind,
        "start_seconds": hit.start_seconds,
        "deep_link": hit.deep_link,
        "matched_by": list(hit.matched_by),
    }
    if hit.kind == "transcript":
        entry.update(text=row.get("text"), context=row.get("context"))
    return entry


def group_by_video(
    db: Database | sqlite3.Connection,
    query: str | SearchQuery,
    hits: Sequence[Hit],
    *,
    exact: bool = False,
    where: Sequence[str] | None = None,
    hits_per_video: int = HITS_PER_VIDEO,
) -> list[dict]:
    """Ranked hits as the screens show them: one row per video in the order of its best hit,
    that hit's fields plus ``score``, ``matched_by`` (every way the video matched) and ``hits``
    (its chapters holding a word and its cue hits, in order of time, each with its link)."""
    conn = _connection(db)
    parsed = query if isinstance(query, SearchQuery) else parse_query(query, exact=exact)
    scopes = _scopes(where)
    rows: dict[str, dict] = {}
    for hit in hits:
        row = rows.get(hit.video_id)
        if row is None:
            row = rows[hit.video_id] = {**hit.row, "score": hit.score, "hits": []}
            row["matched_by"] = list(hit.matched_by)
        else:
            row["matched_by"] += [m for m in hit.matched_by if m not in row["matched_by"]]
        if hit.kind == "transcript":
            row["hits"].append(_attached(hit))
    for video_id, row in rows.items():
        if "chapters" in scopes:
            row["hits"] += [
                {**h, "matched_by": ["words"]}
                for h in chapter_hits(conn, parsed, video_id, hits_per_video)
            ]
        row["hits"].sort(key=lambda h: (h["start_seconds"] is None, h["start_seconds"] or 0))
    return list(rows.values())


def search(
    db: Database | sqlite3.Connection,
    query: str,
    *,
    limit: int = 20,
    include_removed: bool = False,
    where: Sequence[str] | None = None,
    exact: bool = False,
    hits_per_video: int = HITS_PER_VIDEO,
) -> list[dict]:
    """Videos matching every word of `query`, best first, with their hits attached.

    Words are split on whitespace after NFKC + casefold; each must be a substring of a field
    (or of one tag, one chapter title, one cue with the next), or unless `exact`, its folded
    spelling of a field's folded copy. One row per video (at most `limit`), ranked as
    `search_words` explains: the fields of its best hit (``match_kind`` title, chapter,
    description or transcript; ``start_seconds`` and ``deep_link`` at that chapter or cue),
    ``score``, ``matched_by`` and ``hits``. Raises EmptyQuery when the query has no words.
    """
    parsed = parse_query(query, exact=exact)
    hits = search_words(
        db,
        parsed,
        limit=limit,
        include_removed=include_removed,
        where=where,
        hits_per_video=hits_per_video,
    )
    return group_by_video(db, parsed, hits, where=where, hits_per_video=hits_per_video)
