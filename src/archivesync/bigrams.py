"""The bigram text the search index holds: every video's fields normalised and tokenised.

After NFKC + casefold, every whitespace-separated chunk becomes its overlapping character
bigrams plus its last character alone ("人材育成" -> "人材 材育 育成 成"), so that any word,
Japanese words of one or two characters included, is found inside any text. Pure functions,
no I/O: the index writer (db/search_index.py) and the queries (search/) both build on them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence

from archivesync.parsing import normalize_text

FIELDS = ("title", "description", "tags", "chapters")
# search_docs columns holding each field's folded copy ('' when folding changes nothing).
FOLDED = tuple(f"{f}_folded" for f in FIELDS)

# ASCII characters the ascii tokenizer would treat as separators, as private-use characters.
PUNCT = {c: 0xE000 + c for c in range(0x80) if not (chr(c).isalnum() or chr(c).isspace())}
PUNCT_CHARS = frozenset(map(chr, PUNCT)) | frozenset(map(chr, PUNCT.values()))


# --------------------------------------------------------------------------------------------
# Tokenising
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
        token for chunk in normalized.translate(PUNCT).split() for token in _chunk_tokens(chunk)
    )


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


def _normalize_many(texts: Sequence[str | None]) -> list[str]:
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
    texts = _normalize_many([title, description, *tag_values, *chapters])
    tags_end = 2 + len(tag_values)
    return {
        "title": texts[0],
        "description": texts[1],
        "tags": "\n".join(t for t in texts[2:tags_end] if t),
        "chapters": "\n".join(t for t in texts[tags_end:] if t),
    }


def normalize_many(texts: Sequence[str | None]) -> list[str]:
    """``[normalize_text(t) for t in texts]``, in one call (see `_normalize_many`)."""
    return _normalize_many(texts)


def folded_copies(doc: dict[str, str]) -> dict[str, str]:
    """The folded copy of each field of a ``document`` ('' where folding changes nothing)."""
    from archivesync.fold import fold

    copies = {}
    for field, column in zip(FIELDS, FOLDED, strict=True):
        folded = fold(doc[field])
        copies[column] = folded if folded != doc[field] else ""
    return copies


# ASCII punctuation and its private-use stand-in: replacing the few present is several times
# faster than str.translate over mostly Japanese text. (The NUL is left out: fts_texts puts
# it between fields, and normalised text never holds one.)
_PUNCT_STAND_IN = {chr(c): chr(p) for c, p in PUNCT.items() if c}
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
