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
"""

from __future__ import annotations

import functools

from datasette import hookimpl

from archivesync.bigrams import FIELDS
from archivesync.parsing import normalize_text
from archivesync.search.text import SearchQuery, contains_all, term_hits
from archivesync.search.transcripts import starts_in_own
from archivesync.search.transcripts import window as transcript_window

# An FTS5 phrase with no token: matches nothing, and is valid syntax.
_NOTHING = '"_"'


@functools.lru_cache(maxsize=256)
def _query(q: str | None) -> SearchQuery:
    return SearchQuery(q or "")


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
    return int(contains_all(query.terms, [normalize_text(t) for t in texts if t]))


def archivesync_term_hits(q: str | None, text: str | None) -> int:
    """SQL function: how many words of the query the text holds."""
    return term_hits(_query(q).terms, normalize_text(text))


def archivesync_normalize(text: str | None) -> str:
    """SQL function: the text normalised the way the search index stores it."""
    return normalize_text(text)


def archivesync_transcript_hit(q: str | None, text: str | None, next_text: str | None) -> int:
    """1 when a cue (with the next one, for phrases split across cues) holds every word and
    one of them starts in this cue: the rule of `archivesync search` (search/transcripts.py)."""
    query = _query(q)
    if not query or not text:
        return 0
    normalized, own = transcript_window(text, next_text)
    return int(starts_in_own(query.terms, normalized, own))


@hookimpl
def prepare_connection(conn):
    """Datasette hook: registers the archivesync_* SQL functions on a connection."""
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
