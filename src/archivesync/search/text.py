"""Search text: the bigram tokenising of Japanese (and any) text, query parsing, exact matching.

Pure functions, no I/O. Why bigrams, and how the index uses them: see search/index.py and
docs/search.md.
"""

from __future__ import annotations

import json
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence

from archivesync.errors import EmptyQuery
from archivesync.parsing import normalize_text

FIELDS = ("title", "description", "tags", "chapters")
# search_docs columns holding each field's folded copy ('' when folding changes nothing).
FOLDED = tuple(f"{f}_folded" for f in FIELDS)

# ASCII characters the ascii tokenizer would treat as separators, as private-use characters.
_PUNCT = {c: 0xE000 + c for c in range(0x80) if not (chr(c).isalnum() or chr(c).isspace())}
_PUNCT_CHARS = frozenset(map(chr, _PUNCT)) | frozenset(map(chr, _PUNCT.values()))

# Match groups, best first: every word in the title; every word in the title or a chapter
# title; found anywhere (description, tags...). Within a group, newest first.
GROUP_TITLE, GROUP_CHAPTER, GROUP_ANY = 3, 2, 1


# --------------------------------------------------------------------------------------------
# Pure helpers: tokenising, query parsing, exact matching
# --------------------------------------------------------------------------------------------


def _chunk_tokens(chunk: str) -> list[str]:
    # Position i gives chunk[i:i+2], so the last position gives the last character alone: a
    # one-character word is then found at the end of a chunk as well as inside it.
    return [chunk[i : i + 2] for i in range(len(chunk))]


def bigram_text(normalized: str) -> str:
    """The text handed to FTS5 for an already normalised field.

    >>> bigram_text("自治体dx推進 講演")
    '自治 治体 体d dx x推 推進 進 講演 演'
    """
    return " ".join(
        token for chunk in normalized.translate(_PUNCT).split() for token in _chunk_tokens(chunk)
    )


# ASCII punctuation and its private-use stand-in: replacing the few present is several times
# faster than str.translate over mostly Japanese text. (The NUL is left out: fts_texts puts
# it between fields, and normalised text never holds one.)
_PUNCT_STAND_IN = {chr(c): chr(p) for c, p in _PUNCT.items() if c}
_PUNCT_FOUND = re.compile("[" + re.escape("".join(_PUNCT_STAND_IN)) + "]")
_AFTER_SPACE = re.compile(" [^ ]")
# Code points as four-byte array items (UTF-32); where "I" is not four bytes, the slow way.
_CODE_POINTS = array("I").itemsize == 4
_SPACE_CODE = array("I", [32])


def fts_texts(fields: Sequence[str]) -> list[str]:
    """What FTS5 is given for these normalised fields: the tokens of ``bigram_text``, faster.

    ``bigram_text`` makes a token of every character of a chunk and the next one (the last
    character alone). Here that is three strings interleaved, with no loop in Python: the
    chunks' characters, the character after each (a space after a chunk's last), and spaces
    (``"人材 材育 育成 成  "``; runs of spaces are one separator to the ascii tokenizer). All
    the fields go at once, split again at a NUL chunk put between them (a text holding a NUL
    itself, never a normalised one, goes the slow way).
    """
    text = " \0 ".join(fields)
    if not _CODE_POINTS or text.count("\0") != len(fields) - 1:
        return [bigram_text(f) for f in fields]
    for char in set(_PUNCT_FOUND.findall(text)):
        text = text.replace(char, _PUNCT_STAND_IN[char])
    spaced = " ".join(text.split())  # the chunks, one space apart
    if not spaced:
        return [""] * len(fields)
    chars = spaced.replace(" ", "")
    nexts = _AFTER_SPACE.sub(" ", spaced[1:] + " ")  # each chunk's first character dropped
    out = _SPACE_CODE * (3 * len(chars))
    out[0::3] = array("I", chars.encode("utf-32-le"))
    out[1::3] = array("I", nexts.encode("utf-32-le"))
    return out.tobytes().decode("utf-32-le").split("\0")


def _tag_values(tags: str | None) -> list[str]:
    if not tags:
        return []
    try:
        values = json.loads(tags)
    except ValueError:
        values = [tags]  # not the JSON list store.py writes: search it as one tag
    if not isinstance(values, list):
        values = [values]
    return [str(v) for v in values if v is not None]


def normalize_many(texts: Sequence[str | None]) -> list[str]:
    """``[normalize_text(t) for t in texts]``, in one call for all of them.

    The texts are joined by NULs, which NFKC and casefold leave alone and never join to a
    neighbour, and which are not whitespace: each part, stripped of the one space that may
    be left beside its NULs, is then exactly that text normalised on its own. NFKC goes line
    by line first, and only over lines that need it (most do not: NFKC is then a fast check,
    a quarter of the time). Newlines are never joined to a neighbour either, and NFKC twice
    is NFKC once, so ``normalize_text`` (NFKC first) gives the same text.
    """
    joined = "\0".join(t or "" for t in texts)
    joined = "\n".join(
        [
            line if unicodedata.is_normalized("NFKC", line) else unicodedata.normalize("NFKC", line)
            for line in joined.split("\n")
        ]
    )
    parts = normalize_text(joined).split("\0")
    if len(parts) != len(texts):  # a text held a NUL itself
        return [normalize_text(t) for t in texts]
    return [p.strip(" ") for p in parts]


def document(
    title: str | None, description: str | None, tags: str | None, chapter_titles: Iterable[str]
) -> dict[str, str]:
    """The normalised fields stored in ``search_docs`` for one video.

    Tags (the JSON list in ``videos.tags``) and chapter titles are one per line: a query word
    never holds whitespace, so it can only match inside a single tag or chapter title.
    """
    tag_values = _tag_values(tags)
    chapters = list(chapter_titles)
    texts = normalize_many([title, description, *tag_values, *chapters])
    tags_end = 2 + len(tag_values)
    return {
        "title": texts[0],
        "description": texts[1],
        "tags": "\n".join(t for t in texts[2:tags_end] if t),
        "chapters": "\n".join(t for t in texts[tags_end:] if t),
    }


def folded_copies(doc: dict[str, str]) -> dict[str, str]:
    """The folded copy of each field of a ``document`` ('' where folding changes nothing)."""
    from archivesync.search.fold import fold

    copies = {}
    for field, column in zip(FIELDS, FOLDED, strict=True):
        folded = fold(doc[field])
        copies[column] = folded if folded != doc[field] else ""
    return copies


def _term_phrase(term: str) -> str:
    """The FTS5 phrase matching exactly the texts that contain `term` (no whitespace in it).

    The phrase holds no ASCII punctuation (see _PUNCT), so no FTS5 operator in the query
    ('"', "NEAR(", "*", "-", ":", AND/OR/NOT) can ever be read as one.
    """
    encoded = term.translate(_PUNCT)
    if len(encoded) == 1:
        return f'"{encoded}"*'  # the start of a bigram, or a chunk's last character
    return '"' + " ".join(encoded[i : i + 2] for i in range(len(encoded) - 1)) + '"'


class SearchQuery:
    """A query split into normalised words, with the FTS5 expressions that find them.

    Unless `exact`, each word also stands for its folded spelling (search/fold.py: 取組 ->
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
        from archivesync.search.fold import fold, needs_folding

        folded = fold(term) if needs_folding(term) else term
        return (term,) if folded == term or not folded else (term, folded)

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def needs_check(self) -> bool:
        """Whether hits need the exact check: with `exact` (the index also holds folded
        copies), or when a word holds ASCII punctuation or one of the private-use characters
        standing for it, which a text may hold for real."""
        return self.exact or any(ch in _PUNCT_CHARS for term in self.terms for ch in term)

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
