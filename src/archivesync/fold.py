"""Spelling variants: text folded to one spelling per word (取組 -> 取り組み) with SudachiPy.

Japanese administrative text writes one word several ways (取組 / 取り組み / 取組み, 子ども /
子供, 打合せ / 打ち合わせ, シュミレーション / シミュレーション). SudachiPy's dictionary gives each
word a normalised form; ``fold`` rewrites a normalised text (``parsing.normalize_text``) with
every content word in that form, keeping the inflected ending as written (取組んだ -> 取り組んだ,
ください -> 下さい), particles and auxiliaries as they are (the normalised form of する is
為る, which no one types). Words search indexes the folded text beside the text as written and
folds the query the same way; the text as written is always searched too, so folding only
ever adds hits (``--exact`` turns it off).

Only runs of non-ASCII text are analysed: ASCII words are already folded by NFKC + casefold
(ＤＸ = dx), and a query with no Japanese in it never loads the analyser. The analyser (about
0.2 s and 200 MB of dictionary, mapped from disk) loads on first use, so `archivesync search
--exact`, ASCII queries and every other command never import it.
"""

from __future__ import annotations

import functools
import re

from archivesync.parsing import normalize_text

# SudachiPy refuses more than 49,149 bytes per tokenize call; a cue can be longer (a caption
# file with no line breaks becomes one cue). Analyse in pieces well under it, cut at spaces or
# punctuation when there is one near the end.
_MAX_BYTES = 40_000
_MAX_CHARS = _MAX_BYTES // 4  # UTF-8 takes at most 4 bytes a character
# Runs worth analysing: text holding at least one non-ASCII character.
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Parts of speech left as written: their normalised forms are lemmas nobody types.
_KEEP = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})


@functools.cache
def _tokenizer():
    # Imported here: the analyser and its dictionary load on the first folded search only.
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="core").tokenizer(SplitMode.C)


def _pieces(text: str) -> list[str]:
    """`text` cut into pieces the analyser accepts, at whitespace or punctuation if possible."""
    if len(text) <= _MAX_CHARS:
        return [text]
    pieces = []
    while len(text) > _MAX_CHARS:
        head = text[:_MAX_CHARS]
        cut = max(head.rfind(c) for c in " \n。、,.")
        cut = cut + 1 if cut > _MAX_CHARS // 2 else _MAX_CHARS
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text]


def _morpheme_form(m) -> str:
    surface = m.surface()
    if m.part_of_speech()[0] in _KEEP or not _NON_ASCII.search(surface):
        return surface
    normalized = m.normalized_form()
    lemma = m.dictionary_form()
    if surface == lemma:
        return normalized
    # Inflected: keep the ending as written on the normalised stem (取組ん -> 取り組ん).
    stem = 0
    while stem < min(len(surface), len(lemma)) and surface[stem] == lemma[stem]:
        stem += 1
    ending = lemma[stem:]
    if stem and normalized.endswith(ending):
        return normalized[: len(normalized) - len(ending)] + surface[stem:]
    return surface


def fold(normalized: str) -> str:
    """The normalised text with every Japanese content word in its dictionary spelling.

    >>> fold("子どもの取組")
    '子供の取り組み'
    """
    if not normalized or not _NON_ASCII.search(normalized):
        return normalized
    tokenize = _tokenizer().tokenize
    lines = []
    for line in normalized.split("\n"):  # tags and chapter titles are one per line
        out = [_morpheme_form(m) for piece in _pieces(line) for m in tokenize(piece)]
        lines.append(normalize_text("".join(out)))
    return "\n".join(lines)


def fold_many(texts: list[str]) -> list[str]:
    """``[fold(t) for t in texts]`` for normalised one-line texts, with one analyser call per
    ~10,000 characters instead of one per text (a transcript's cues)."""
    out: list[str] = []
    batch: list[str] = []
    size = 0

    def flush() -> None:
        if batch:
            out.extend(fold("\n".join(batch)).split("\n"))
            batch.clear()

    for text in texts:
        if "\n" in text or len(text) >= _MAX_CHARS:
            flush()
            size = 0
            out.append(fold(text))
            continue
        if size + len(text) + 1 > _MAX_CHARS:
            flush()
            size = 0
        batch.append(text)
        size += len(text) + 1
    flush()
    return out


def needs_folding(term: str) -> bool:
    """Whether a query word can fold at all (it holds Japanese or other non-ASCII text)."""
    return bool(_NON_ASCII.search(term))
