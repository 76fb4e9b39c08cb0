"""Search text: query parsing and exact matching over the bigram index (bigrams.py).

Pure functions, no I/O. Why bigrams, and how the index uses them: see bigrams.py and
db/search_index.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from archivesync.bigrams import PUNCT, PUNCT_CHARS
from archivesync.errors import EmptyQuery
from archivesync.parsing import normalize_text

# Match groups, best first: every word in the title; every word in the title or a chapter
# title; found anywhere (description, tags...). Within a group, newest first.
GROUP_TITLE, GROUP_CHAPTER, GROUP_ANY = 3, 2, 1


def _term_phrase(term: str) -> str:
    """The FTS5 phrase matching exactly the texts that contain `term` (no whitespace in it).

    The phrase holds no ASCII punctuation (see PUNCT), so no FTS5 operator in the query
    ('"', "NEAR(", "*", "-", ":", AND/OR/NOT) can ever be read as one.
    """
    encoded = term.translate(PUNCT)
    if len(encoded) == 1:
        return f'"{encoded}"*'  # the start of a bigram, or a chunk's last character
    return '"' + " ".join(encoded[i : i + 2] for i in range(len(encoded) - 1)) + '"'


class SearchQuery:
    """A query split into normalised words, with the FTS5 expressions that find them."""

    def __init__(self, text: str):
        self.text = text
        # NFKC first, so that the ideographic space and other Unicode spaces split words too.
        self.terms: list[str] = list(dict.fromkeys(normalize_text(text).split()))
        self.phrases: list[str] = [_term_phrase(t) for t in self.terms]

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def needs_check(self) -> bool:
        """Whether hits need the exact check: only when a word holds ASCII punctuation or one
        of the private-use characters standing for it, which a text may hold for real."""
        return any(ch in PUNCT_CHARS for term in self.terms for ch in term)

    def match_expression(self, columns: Sequence[str] | None = None) -> str | None:
        """The FTS5 MATCH expression (all words, in `columns` if given); None without words."""
        if not self.phrases:
            return None
        expression = " AND ".join(self.phrases)
        if columns:
            return "{" + " ".join(columns) + "} : (" + expression + ")"
        return expression


def parse_query(text: str) -> SearchQuery:
    """The query's words; EmptyQuery when nothing is left after normalisation."""
    query = SearchQuery(text or "")
    if not query:
        raise EmptyQuery("the search query is empty: give at least one word")
    return query


def contains_all(terms: Sequence[str], fields: Iterable[str | None]) -> bool:
    """Whether every term is a substring of one of the (normalised) fields."""
    texts = [f for f in fields if f]
    return all(any(term in text for text in texts) for term in terms)


def term_hits(terms: Sequence[str], normalized: str | None) -> int:
    """How many of the terms occur in one normalised text."""
    if not normalized:
        return 0
    return sum(1 for term in terms if term in normalized)
