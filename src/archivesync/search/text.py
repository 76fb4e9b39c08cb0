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
    """A query split into normalised words, with the FTS5 expressions that find them.

    Unless `exact`, each word also stands for its folded spelling (fold.py: 取組 ->
    取り組み), and the index holds every text's folded copy beside it: a word then matches
    where it, or its folded spelling, is a substring of the text or of its folded copy.
    """

    def __init__(self, text: str, *, exact: bool = False):
        self.text = text
        self.exact = exact
        # NFKC first, so that the ideographic space and other Unicode spaces split words too.
        self.terms: list[str] = list(dict.fromkeys(normalize_text(text).split()))
        # Per word, the spellings it matches: itself, then its folded spelling if another.
        self.forms: list[tuple[str, ...]] = [self._forms(t) for t in self.terms]
        self.phrases: list[str] = [
            _term_phrase(f[0]) if len(f) == 1 else "(" + " OR ".join(map(_term_phrase, f)) + ")"
            for f in self.forms
        ]

    def _forms(self, term: str) -> tuple[str, ...]:
        if self.exact:
            return (term,)
        from archivesync.fold import fold, needs_folding

        folded = fold(term) if needs_folding(term) else term
        return (term,) if folded == term or not folded else (term, folded)

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def needs_check(self) -> bool:
        """Whether hits need the exact check: with `exact` (the index also holds folded
        copies), or when a word holds ASCII punctuation or one of the private-use characters
        standing for it, which a text may hold for real."""
        return self.exact or any(ch in PUNCT_CHARS for term in self.terms for ch in term)

    def match_expression(self, columns: Sequence[str] | None = None) -> str | None:
        """The FTS5 MATCH expression (all words, in `columns` if given); None without words."""
        if not self.phrases:
            return None
        expression = " AND ".join(self.phrases)
        if columns:
            return "{" + " ".join(columns) + "} : (" + expression + ")"
        return expression

    def matches(self, texts: Sequence[str | None], folded: Sequence[str | None] = ()) -> bool:
        """Whether every word (or, unless exact, its folded spelling) is in one of the
        normalised `texts` or (unless exact) of their `folded` copies: the definition of a
        match that the index finds."""
        pool = [t for t in texts if t]
        if not self.exact:
            pool += [t for t in folded if t]
        return all(any(form in t for form in forms for t in pool) for forms in self.forms)

    def count_in(self, text: str | None, folded: str | None = None) -> int:
        """How many words one normalised text (or its folded copy) holds."""
        pool = [t for t in (text, None if self.exact else folded) if t]
        return sum(1 for forms in self.forms if any(f in t for f in forms for t in pool))


def parse_query(text: str, *, exact: bool = False) -> SearchQuery:
    """The query's words; EmptyQuery when nothing is left after normalisation."""
    query = SearchQuery(text or "", exact=exact)
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
