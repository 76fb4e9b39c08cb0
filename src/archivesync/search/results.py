"""The search as the console shows it, and the same results as rows for files and Datasette.

`search_results`: the core search (words, meaning or hybrid) narrowed by place, channel,
playlist and year, one row per video with its hits. `result_rows`: the same as flat rows (a
row per video, then one per hit), which the console's CSV and Excel files and Datasette's
canned query `search_results` (analysts/datasette_plugin.py) both give.

One place for these rules, so the console's page, its files and the Datasette query agree hit
for hit (tests/test_search_surfaces.py compares them).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import TYPE_CHECKING

from archivesync.search.hybrid import default_mode, search_modes
from archivesync.search.query import search
from archivesync.timestamps import TOKYO, read_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

SEARCH_LIMIT = 200
HITS_PER_VIDEO = 5
WHERE = ("titles", "chapters", "transcripts", "other")
# The core search's match kinds -> the page's `where` choices.
PLACES = {"title": "titles", "chapter": "chapters", "transcript": "transcripts",
          "description": "other"}  # fmt: skip


def _year_jst(published_at: str | None) -> int | None:
    moment = read_iso(published_at)
    return moment.astimezone(TOKYO).year if moment else None


def search_results(
    db: Database | sqlite3.Connection,
    q: str,
    *,
    channel_id: str | None = None,
    playlist_id: str | None = None,
    year: int | None = None,
    where: tuple[str, ...] = WHERE,
    exact: bool = False,
    mode: str | None = None,
) -> list[dict]:
    """Videos matching `q`, best first, each with its chapter and transcript hits.

    The words rows and their hits are the core search's (search/query.py), filtered here
    only. `mode` is the core search's (words, meaning, hybrid; default hybrid when the index
    has a meaning index): the videos come in the fused order, a video lists the moments found
    by meaning too, and says how it matched (`matched_by`).
    `where` narrows where the words must be: titles (every word in the title), chapters (a
    chapter title holds a word), transcripts (a cue holds every word), other (description
    and tags); a video is kept when it matches in one of the places asked for. `exact`
    turns off spelling variants. Raises EmptyQuery for a query with no words.
    """
    conn = db if isinstance(db, sqlite3.Connection) else db.conn
    mode = mode or default_mode(conn)
    words = {} if mode == "meaning" else {
        row["video_id"]: row
        for row in search(conn, q, limit=SEARCH_LIMIT, exact=exact, hits_per_video=HITS_PER_VIDEO)
    }  # fmt: skip
    found = list(words.values())
    matched_by: dict[str, list[str]] = defaultdict(list)
    by_meaning: dict[str, list[dict]] = defaultdict(list)
    if mode != "words":
        fused = search_modes(conn, q, mode=mode, limit=SEARCH_LIMIT, exact=exact)
        order = list(dict.fromkeys(h["video_id"] for h in fused))
        firsts = {}
        for hit in fused:
            how = hit.get("matched_by") or ["words"]
            seen = matched_by[hit["video_id"]]
            seen += [m for m in how if m not in seen]
            firsts.setdefault(hit["video_id"], hit)
            if how == ["meaning"]:
                by_meaning[hit["video_id"]].append(_meaning_hit(hit))
        found = [words.get(v) or {**firsts[v], "hits": []} for v in order]
        found += [row for v, row in words.items() if v not in firsts]
    if not found:
        return []
    in_playlist = None
    if playlist_id:
        in_playlist = {
            r[0]
            for r in conn.execute(
                "SELECT video_id FROM playlist_items WHERE playlist_id = ?", [playlist_id]
            )
        }
    ids = [row["video_id"] for row in found]
    marks = ",".join("?" * len(ids))
    channel_of = dict(conn.execute(f"SELECT id, channel_id FROM videos WHERE id IN ({marks})", ids))
    results = []
    for row in found:
        video_id = row["video_id"]
        if channel_id and channel_of.get(video_id) != channel_id:
            continue
        if in_playlist is not None and video_id not in in_playlist:
            continue
        if year and _year_jst(row["published_at"]) != year:
            continue
        kinds = {h["match_kind"] for h in row["hits"]}
        places = {PLACES[k] for k in kinds}
        if video_id in words and row["match_kind"] in PLACES:
            places.add(PLACES[row["match_kind"]])
        if row["match_kind"] == "chapter" and "chapter" not in kinds:
            places.add("other")  # a few of the words in a chapter title, the rest elsewhere
        meaning = by_meaning[video_id]
        places |= {_PLACE[h["match_kind"]] for h in meaning}
        if video_id not in words and not places:
            places.add("other")  # the title and description, by meaning
        if not places & set(where):
            continue
        hits = [h for h in row["hits"] if PLACES[h["match_kind"]] in where]
        hits += [
            h
            for h in meaning
            if h["start_seconds"] is not None and _PLACE[h["match_kind"]] in where
        ]
        hits.sort(key=lambda h: h["start_seconds"])
        results.append(
            {
                **row,
                "channel_id": channel_of.get(video_id),
                "hits": hits,
                "matched_by": matched_by[video_id] or row.get("matched_by") or ["words"],
            }
        )
    return results


_PLACE = {"transcript": "transcripts", "chapter": "chapters", "video": "other"}


def _meaning_hit(hit: dict) -> dict:
    """A row found by meaning alone as one of its video's hits (at its second, if any)."""
    start = hit.get("start_seconds")
    return {
        "match_kind": hit["match_kind"],
        "text": hit.get("text") or hit.get("chapter_title") or "",
        "context": hit.get("context") or hit.get("chapter_title") or "",
        "start_seconds": int(start) if start is not None else None,
        "url": hit["deep_link"],
        "deep_link": hit["deep_link"],
        "meaning": True,
    }


def result_rows(results: list[dict]) -> list[dict]:
    """`search_results` flat: a row per video (``kind`` video), then a row per chapter or cue
    hit (``kind`` chapter or transcript) at its second, each with its link and how it was
    found (``matched_by``: words, meaning or both, comma-separated)."""
    rows = []
    for r in results:
        video = {"video_id": r["video_id"], "title": r["title"], "published_at": r["published_at"]}
        rows.append({**video, "kind": "video", "start_seconds": None, "text": "", "url": r["url"],
                     "matched_by": ",".join(r["matched_by"])})  # fmt: skip
        rows += [
            {
                **video,
                "kind": h["match_kind"],
                "start_seconds": h["start_seconds"],
                "text": h.get("text") or "",
                "url": h["deep_link"],
                "matched_by": "meaning"
                if h.get("meaning")
                else ",".join(h.get("matched_by") or ["words"]),
            }
            for h in r["hits"]
        ]
    return rows
