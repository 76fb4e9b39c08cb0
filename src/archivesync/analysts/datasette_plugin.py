"""The analysts' Datasette plugin: SQL functions that give queries the search index's rules.

Loaded through the ``datasette`` entry point (a plain ``datasette archive.db`` gets them) and by
web/app.py, which assembles the whole Datasette (metadata, console). Needs the optional extra
(``pip install 'archivesync[datasette]'``).

SQL functions (registered on every connection by `prepare_connection`):

- ``archivesync_match(q)``: the FTS5 MATCH expression for a query (all words), to use as
  ``search_fts MATCH archivesync_match(:q)``; never a syntax error, whatever ``q`` holds.
- ``archivesync_match_in(q, columns)``: the same, limited to columns of search_fts
  (space-separated, e.g. ``'chapters'``).
- ``archivesync_contains_all(q, text, ...)``: 1 when every word of ``q`` is in one of the texts
  (normalised like the index: NFKC + casefold), else 0. The exact check after the index.
- ``archivesync_term_hits(q, text)``: how many words of ``q`` the text holds.
- ``archivesync_normalize(text)``: NFKC + casefold + single spaces.
- ``archivesync_search(q, scope, exact)``: the rows of `archivesync search` (the one matcher,
  search/query.py) as a JSON array, for ``json_each``: scope ``videos`` (one row per video,
  best first), ``chapters`` or ``transcripts`` (one row per chapter or cue hit, each at its
  second). The canned queries below read their hits from it.
- ``archivesync_search_results(q, scope, mode, exact, channel, playlist, year)``: the console's
  search page as a JSON array of rows (search/results.py): a row per video, then one per
  chapter or cue hit. ``scope`` holds the console's places (``titles chapters transcripts
  other``, space-separated; empty for all), ``mode`` words, meaning or hybrid (empty: hybrid
  when the index has a meaning index, else words), the rest narrow like the console's filters
  (empty for none). The canned query ``search_results``, which the console links to, reads it.

Their inputs are capped (`MAX_QUERY_CHARS` for a query, `MAX_TEXT_CHARS` for a text): a longer
one is an error, so each call takes milliseconds and a query calling them stops at Datasette's
time limit like any other (the limit is checked between SQLite's steps, never inside a call).
"""

from __future__ import annotations

import functools
import json

from datasette import hookimpl

from archivesync.analysts.readonly_sql import install_guard, limit_connection
from archivesync.bigrams import FIELDS
from archivesync.db.transcript_index import window as transcript_window
from archivesync.errors import EmptyQuery
from archivesync.parsing import normalize_text
from archivesync.search.hybrid import MODES
from archivesync.search.query import search
from archivesync.search.results import WHERE, result_rows, search_results
from archivesync.search.text import SearchQuery, contains_all, term_hits
from archivesync.search.transcripts import starts_in_own

# An FTS5 phrase with no token: matches nothing, and is valid syntax.
_NOTHING = '"_"'


# A search query is a few words; the longest text the functions see is a video description
# (YouTube allows 5,000 bytes) or the chapter titles of a long lecture.
MAX_QUERY_CHARS = 1_000
MAX_TEXT_CHARS = 100_000


class InputTooLong(ValueError):
    """An argument of an archivesync_* SQL function is longer than its cap."""


def _capped(text: str | None, most: int) -> str | None:
    if text is not None and len(text) > most:
        raise InputTooLong(f"archivesync SQL functions take at most {most} characters")
    return text


@functools.lru_cache(maxsize=256)
def _cached_query(q: str) -> SearchQuery:
    return SearchQuery(q)


def _query(q: str | None) -> SearchQuery:
    return _cached_query(_capped(q, MAX_QUERY_CHARS) or "")


def _text(text: str | None) -> str:
    return normalize_text(_capped(text, MAX_TEXT_CHARS))


def archivesync_match(q: str | None) -> str:
    """SQL function: the FTS MATCH expression for a search query."""
    return _query(q).match_expression() or _NOTHING


def archivesync_match_in(q: str | None, columns: str | None) -> str:
    """SQL function: the MATCH expression limited to some of the search fields."""
    wanted = [c for c in (columns or "").split() if c in FIELDS]
    return _query(q).match_expression(wanted or None) or _NOTHING


def archivesync_contains_all(q: str | None, *texts: str | None) -> int:
    """SQL function: 1 when the texts hold every word of the query."""
    query = _query(q)
    if not query:
        return 0
    return int(contains_all(query.terms, [_text(t) for t in texts if t]))


def archivesync_term_hits(q: str | None, text: str | None) -> int:
    """SQL function: how many words of the query the text holds."""
    return term_hits(_query(q).terms, _text(text))


def archivesync_normalize(text: str | None) -> str:
    """SQL function: the text normalised the way the search index stores it."""
    return _text(text)


def archivesync_transcript_hit(q: str | None, text: str | None, next_text: str | None) -> int:
    """1 when a cue (with the next one, for phrases split across cues) holds every word and
    one of them starts in this cue: the rule of `archivesync search` (search/transcripts.py)."""
    query = _query(q)
    if not query or not text:
        return 0
    _capped(text, MAX_TEXT_CHARS)
    _capped(next_text, MAX_TEXT_CHARS)
    return int(starts_in_own(query, transcript_window(text, next_text)))


# archivesync_search scopes: where to look, and the rows kept.
_SCOPES = {"videos": None, "chapters": ["chapters"], "transcripts": ["transcripts"]}
_SQL_VIDEOS = 100
_SQL_HITS_PER_VIDEO = 20


def _search_json(conn, q: str | None, scope: str | None, exact: int | None = 0) -> str:
    """The core search's rows for one connection, as JSON (see the module docstring)."""
    _capped(q, MAX_QUERY_CHARS)
    if scope not in _SCOPES:
        return "[]"
    try:
        rows = search(
            conn,
            q or "",
            limit=_SQL_VIDEOS,
            where=_SCOPES[scope],
            exact=bool(exact),
            hits_per_video=_SQL_HITS_PER_VIDEO,
        )
    except EmptyQuery:
        return "[]"
    if scope == "videos":
        out = [{k: v for k, v in r.items() if k != "hits"} for r in rows]
    else:
        kind = scope[:-1]  # chapter, transcript
        out = [
            {"video_id": r["video_id"], "video_title": r["title"], **h}
            for r in rows
            for h in r["hits"]
            if h["match_kind"] == kind
        ]
    return json.dumps(out, ensure_ascii=False)


def _results_json(
    conn,
    q: str | None,
    scope: str | None = "",
    mode: str | None = "",
    exact: str | int | None = "",
    channel: str | None = "",
    playlist: str | None = "",
    year: str | int | None = "",
) -> str:
    """The console's search rows for one connection, as JSON (see the module docstring)."""
    _capped(q, MAX_QUERY_CHARS)
    where = tuple(w for w in str(scope or "").split() if w in WHERE) or WHERE
    year_text = str(year or "").strip()
    try:
        results = search_results(
            conn,
            q or "",
            channel_id=channel or None,
            playlist_id=playlist or None,
            year=int(year_text) if year_text.isdigit() else None,
            where=where,
            exact=str(exact or "").strip() not in ("", "0"),
            mode=mode if mode in MODES else None,
        )
    except EmptyQuery:
        return "[]"
    return json.dumps(result_rows(results), ensure_ascii=False)


@hookimpl
def prepare_connection(conn, database):
    """Datasette hook: the read-only guard, size limits and archivesync_* SQL functions."""
    # _internal is Datasette's own catalogue, which it writes; every other database is ours.
    if database != "_internal":
        install_guard(conn, web=True)
        limit_connection(conn)
    conn.create_function("archivesync_search", 2, functools.partial(_search_json, conn))
    conn.create_function("archivesync_search", 3, functools.partial(_search_json, conn))
    conn.create_function("archivesync_search_results", -1, functools.partial(_results_json, conn))
    conn.create_function("archivesync_match", 1, archivesync_match, deterministic=True)
    conn.create_function("archivesync_match_in", 2, archivesync_match_in, deterministic=True)
    conn.create_function(
        "archivesync_contains_all", -1, archivesync_contains_all, deterministic=True
    )
    conn.create_function("archivesync_term_hits", 2, archivesync_term_hits, deterministic=True)
    conn.create_function("archivesync_normalize", 1, archivesync_normalize, deterministic=True)
    conn.create_function(
        "archivesync_transcript_hit", 3, archivesync_transcript_hit, deterministic=True
    )
