"""Metadata hits: videos in three groups (title, chapter titles, anywhere), newest first
within each, each with the chapter whose title holds the most words (search/query.py ranks
them with the transcript hits).

Reads only: works on a connection from `db.schema.open_readonly`, or on the plain sqlite3
connection of `db.readonly.connect_readonly` (the search command, which spares itself
importing sqlite-utils).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from archivesync.bigrams import FIELDS, FOLDED
from archivesync.parsing import normalize_text
from archivesync.search.text import (
    GROUP_ANY,
    GROUP_CHAPTER,
    GROUP_TITLE,
    SearchQuery,
)
from archivesync.urls import chapter_url

if TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------------------------
# Querying
# --------------------------------------------------------------------------------------------

# `--in` choices: where to look. Metadata choices name a search_fts column.
WHERE_FIELDS = {
    "titles": "title",
    "descriptions": "description",
    "tags": "tags",
    "chapters": "chapters",
}
WHERE_CHOICES = (*WHERE_FIELDS, "transcripts")
MATCH_KINDS = {GROUP_TITLE: "title", GROUP_CHAPTER: "chapter", GROUP_ANY: "description"}

# Match groups, best first, and the table each is read from.
GROUP_TABLES = {
    GROUP_TITLE: "search_fts_title",
    GROUP_CHAPTER: "search_fts_head",
    GROUP_ANY: "search_fts",
}


def _group_hits(
    conn: sqlite3.Connection,
    query: SearchQuery,
    group: int,
    wanted: int,
    seen: set[int],
    include_removed: bool,
    fields: Sequence[str] = FIELDS,
) -> list[tuple[int, str]]:
    """Up to `wanted` (doc id, video id) of one match group, newest first, not in `seen`.

    SQLite stops stepping when we stop fetching, so this reads about `wanted` index entries
    however common the words are. A group is only asked for when the better ones ran out, so
    `seen` then holds every video of the better groups.
    """
    table = GROUP_TABLES[group]
    table_fields = {GROUP_TITLE: ("title",), GROUP_CHAPTER: ("title", "chapters")}
    own = table_fields.get(group, FIELDS)
    narrowed = [f for f in own if f in fields]
    if not narrowed:
        return []
    # A column filter only when `--in` leaves out some of this table's columns.
    expression = query.match_expression(narrowed if len(narrowed) < len(own) else None)
    cursor = conn.execute(
        f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC",
        [expression],
    )
    columns = "d.id, d.video_id, v.removed_at"
    if query.needs_check:
        columns += ", " + ", ".join(f"d.{c}" for c in FIELDS + FOLDED)
    found: list[tuple[int, str]] = []
    try:
        while len(found) < wanted:
            rows = cursor.fetchmany(max(wanted, 20))
            if not rows:
                break
            batch = [r[0] for r in rows if r[0] not in seen]
            if not batch:
                continue
            marks = ",".join("?" * len(batch))
            docs = {
                r[0]: r
                for r in conn.execute(
                    f"SELECT {columns} FROM search_docs d LEFT JOIN videos v "
                    f"ON v.id = d.video_id WHERE d.id IN ({marks})",
                    batch,
                )
            }
            for doc_id in batch:
                doc = docs.get(doc_id)
                if doc is None or (doc[2] is not None and not include_removed):
                    continue
                if query.needs_check:
                    texts = dict(zip(FIELDS + FOLDED, doc[3:], strict=True))
                    checked = [texts[f] for f in FIELDS if f in fields]
                    folded = [texts[f"{f}_folded"] for f in FIELDS if f in fields]
                    if not query.matches(checked, folded):
                        continue
                found.append((doc_id, doc[1]))
                if len(found) == wanted:
                    break
    finally:
        cursor.close()
    return found


def _best_chapter(query: SearchQuery, chapters: list[tuple]) -> tuple | None:
    """The chapter whose title holds the most words (the first of equals), or None."""
    best, best_hits = None, 0
    for chapter in chapters:  # in position order
        hits = chapter_words(query, chapter[2])
        if hits > best_hits:
            best, best_hits = chapter, hits
    return best


def metadata_hits(
    conn: sqlite3.Connection,
    parsed: SearchQuery,
    limit: int,
    include_removed: bool,
    fields: Sequence[str],
) -> list[dict]:
    """Up to `limit` videos matching in `fields`, best group first, as search rows."""
    hits: list[tuple[str, int]] = []
    doc_ids: dict[str, int] = {}
    seen: set[int] = set()
    for group in (GROUP_TITLE, GROUP_CHAPTER, GROUP_ANY):
        if len(hits) >= limit:
            break
        found = _group_hits(conn, parsed, group, limit - len(hits), seen, include_removed, fields)
        hits.extend((video_id, group) for _, video_id in found)
        doc_ids.update((video_id, doc_id) for doc_id, video_id in found)
        seen.update(doc_id for doc_id, _ in found)
    if not hits:
        return []

    ids = [h[0] for h in hits]
    marks = ",".join("?" * len(ids))
    videos = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, title, url, published_at, duration_seconds, removed_at FROM videos "
            f"WHERE id IN ({marks})",
            ids,
        )
    }
    chapters: dict[str, list[tuple]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT video_id, position, title, start_seconds FROM chapters "
        f"WHERE video_id IN ({marks}) ORDER BY video_id, position",
        ids,
    ):
        chapters[row[0]].append(row)

    results = []
    for video_id, group in hits:
        video = videos.get(video_id)
        if video is None:  # indexed, then deleted from videos without a reindex
            continue
        chapter = _best_chapter(parsed, chapters[video_id]) if "chapters" in fields else None
        link = chapter_url(video_id, chapter[3]) if chapter else None
        results.append(
            {
                "video_id": video_id,
                "title": video[1],
                "url": video[2],
                "published_at": video[3],
                "duration_seconds": video[4],
                "removed_at": video[5],
                "chapter_position": chapter[1] if chapter else None,
                "chapter_title": chapter[2] if chapter else None,
                "start_seconds": chapter[3] if chapter else None,
                "chapter_url": link,
                "score": group,
                "match_kind": "chapter" if chapter and group != GROUP_TITLE else MATCH_KINDS[group],
                "deep_link": link or video[2],
                "doc_id": doc_ids[video_id],
            }
        )
    return results


def chapter_words(query: SearchQuery, title: str | None) -> int:
    """How many words of the query a chapter title holds (or its folded spelling)."""
    normalized = normalize_text(title)
    if query.exact or not normalized:
        return query.count_in(normalized)
    from archivesync.fold import fold

    return query.count_in(normalized, fold(normalized))


def chapter_hits(
    conn: sqlite3.Connection, query: SearchQuery, video_id: str, limit: int
) -> list[dict]:
    """A video's chapters whose title holds a word: most words first, then by time."""
    hits = []
    for position, title, start in conn.execute(
        "SELECT position, title, start_seconds FROM chapters WHERE video_id = ? ORDER BY position",
        [video_id],
    ):
        words = chapter_words(query, title)
        if words:
            hits.append(
                {
                    "video_id": video_id,
                    "match_kind": "chapter",
                    "chapter_position": position,
                    "text": title,
                    "start_seconds": start,
                    "deep_link": chapter_url(video_id, start),
                    "words": words,
                }
            )
    hits.sort(key=lambda h: (-h["words"], h["start_seconds"]))
    return hits[:limit]
