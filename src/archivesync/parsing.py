"""Pure parsing of what the YouTube Data API sends: durations, chapters, text.

No I/O and stdlib only, so everything here is cheap to test table by table. The YouTube facts
these functions respect are in docs/emulator.md, docs/schema.md (`chapters`) and in each
function's docstring.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

__all__ = [
    "Chapter",
    "format_duration",
    "normalize_text",
    "parse_chapters",
    "parse_duration",
    "parse_timestamp",
]

# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------

# ISO 8601 durations as YouTube writes them: PT15M51S, PT1H, P1DT2H3M4S, P0D, and (rarely) weeks.
# Years and months are left out on purpose: their length in seconds is not defined, and YouTube
# never sends them. The lookaheads reject the empty forms "P" and "PT", which the optional
# groups alone would accept. Only the seconds may carry a fraction (ISO allows "." or ",").
_DURATION_RE = re.compile(
    r"P(?!\Z)"
    r"(?:(?P<weeks>[0-9]+)W)?"
    r"(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?!\Z)"
    r"(?:(?P<hours>[0-9]+)H)?"
    r"(?:(?P<minutes>[0-9]+)M)?"
    r"(?:(?P<seconds>[0-9]+(?:[.,][0-9]+)?)S)?"
    r")?"
)


def parse_duration(value: str | None) -> int | None:
    """Seconds in a YouTube ``contentDetails.duration``, or None when unknown.

    ``P0D`` / ``PT0S`` (upcoming or live broadcasts) and a missing value mean *unknown*, not
    zero, so they give None. Fractional seconds are rounded down. A string that is not such a
    duration raises ValueError; the caller decides whether that is fatal.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"duration must be a string, not {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 duration of the form PnWnDTnHnMnS: {value!r}")
    parts = match.groupdict()
    seconds_text = (parts["seconds"] or "0").replace(",", ".")
    whole_seconds = int(seconds_text.split(".", 1)[0])  # round down without float error
    total = (
        int(parts["weeks"] or 0) * 604_800
        + int(parts["days"] or 0) * 86_400
        + int(parts["hours"] or 0) * 3_600
        + int(parts["minutes"] or 0) * 60
        + whole_seconds
    )
    return total or None


def format_duration(seconds: int | None, *, hours: bool = False) -> str | None:
    """``5001`` -> ``"1:23:21"``, ``836`` -> ``"13:56"``, ``45`` -> ``"0:45"``; None -> None.

    ``hours=True`` always shows the hours, as the views' ``duration_hms`` does: ``"0:13:56"``.
    """
    if seconds is None:
        return None
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    whole_hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if whole_hours or hours:
        return f"{whole_hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def normalize_text(s: str | None) -> str:
    """Fold text for search and matching.

    NFKC turns full-width letters and digits into ASCII (``ＤＸ`` -> ``DX``), half-width
    katakana into full-width, and the ideographic space into a plain space; casefold then
    lowercases (``DX`` -> ``dx``). Runs of whitespace become one space, ends are stripped.
    """
    if not s:
        return ""
    folded = unicodedata.normalize("NFKC", s).casefold()
    return " ".join(folded.split())  # str.split() splits on every Unicode space


# --------------------------------------------------------------------------------------------
# Timestamps (chapter times)
# --------------------------------------------------------------------------------------------

# h:mm:ss or m:ss, on NFKC-normalised text (so "０：００" has become "0:00"). In the two-field
# form the minutes may exceed 59: YouTube reads "75:30" as 75 min 30 s. Range checks (< 60)
# happen in _timestamp_seconds, not here, so that "1:75:00" is rejected rather than half-read.
_TS = r"(?:[0-9]{1,2}:[0-9]{2}:[0-9]{2}|[0-9]{1,3}:[0-9]{2})"
# The look-arounds keep us from reading a timestamp out of a longer run of digits and colons
# ("2024:01:01:00", "123:45:67"). A colon alone may touch it on either side, as a separator:
# "開会：0:00" (title first) and "0:00: Intro".
_TS_BOUNDED = rf"(?<![0-9])(?<![0-9]:){_TS}(?!:?[0-9])"
_TIMESTAMP_RE = re.compile(_TS)


def _timestamp_seconds(text: str) -> int | None:
    """Seconds in an already-normalised ``h:mm:ss`` / ``m:ss``, or None if out of range."""
    fields = [int(f) for f in text.split(":")]
    if len(fields) == 3:
        hours, minutes, seconds = fields
        if minutes >= 60 or seconds >= 60:
            return None
        return hours * 3600 + minutes * 60 + seconds
    minutes, seconds = fields
    if seconds >= 60:
        return None
    return minutes * 60 + seconds


def parse_timestamp(s: str | None) -> int | None:
    """Seconds in a chapter timestamp such as ``1:02:03``, ``75:30`` or ``０：４５``.

    The text is NFKC-normalised first (full-width digits and colon). Anything that is not
    exactly one valid timestamp gives None.
    """
    if not s:
        return None
    text = unicodedata.normalize("NFKC", s).strip()
    if not _TIMESTAMP_RE.fullmatch(text):
        return None
    return _timestamp_seconds(text)


# --------------------------------------------------------------------------------------------
# Chapters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chapter:
    """One chapter of a video; ``end_seconds`` is None when the duration is unknown."""

    position: int  # 1-based
    start_seconds: int
    end_seconds: int | None
    title: str


# YouTube's own rules (see parse_chapters): at least three, the first at 0:00, each at
# least this long.
MIN_CHAPTERS = 3
MIN_CHAPTER_SECONDS = 10

# Everything below is matched against the NFKC form of a line, so full-width variants
# ("（", "［", "｜", "～", "－", "：", "．", "･") have already become their ASCII / plain forms.

# Brackets written around a timestamp: 【0:00】, [0:00], (0:00), 〔0:00〕, 「0:00」 ...
_BRACKET_PAIRS = {
    "【": "】",
    "[": "]",
    "(": ")",
    "〔": "〕",
    "〈": "〉",
    "《": "》",
    "「": "」",
    "『": "』",
    "{": "}",
    "<": ">",
}
_OPEN = "[" + re.escape("".join(_BRACKET_PAIRS)) + "]"
_CLOSE = "[" + re.escape("".join(_BRACKET_PAIRS.values())) + "]"

# Separators between timestamp and title: hyphen and the dashes (‐ ‑ ‒ – — ― −), tildes
# (~ is where NFKC puts "～"; the wave dash 〜 stays), vertical bar, colon. The katakana long
# vowel mark "ー" is often typed as a dash, but it also starts words, so it only counts when it
# stands between spaces. "/" is left out: it would turn "https://host/10:00" into a chapter.
_SEP = r"(?:[-‐‑‒–—―−~〜|:]+|(?<=\s)ー+(?=\s))"

# A "title" made only of separators ("1:30 -") is no title: YouTube needs one.
_SEPARATORS_ONLY_RE = re.compile(r"[\s\-‐‑‒–—―−~〜|:ー]*")

# Bullets and list numbers before a line, with the space after them: "・0:00", "- 0:00",
# "● 0:00", "1. 0:00", "2) 0:00". A list number needs the space, so that a title such as
# "1.5倍速 0:00" keeps its "1.".
_BULLET = r"(?:[・•●○◆◇■□▪▫▶▷►▸★☆※*+>\-‐–—]\s*|[0-9]{1,3}[.)]\s+)"

# Timestamp first: "[bullet] [open] 0:00 [~ 1:30] [close] [sep] title". The optional second
# time is the end of a range ("0:00 ~ 1:30 開会"); YouTube only needs the start. The gap
# group is checked in code: without a closing bracket the title must be set apart by a space or
# a separator, so "10:00から開始します" (a time of day in a sentence) is not a chapter line.
_TIME_FIRST_RE = re.compile(
    rf"\s*{_BULLET}?"
    rf"(?P<open>{_OPEN})?\s*"
    rf"(?P<ts>{_TS_BOUNDED})"
    rf"(?:\s*[-–—―~〜]\s*{_TS_BOUNDED})?"
    rf"(?:\s*(?P<close>{_CLOSE}))?"
    rf"(?P<gap>\s*(?:{_SEP})?\s*)"
    rf"(?P<title>\S.*?)\s*"
)

# Title first: "[bullet] title [sep] [open] 0:00 [close]". The timestamp must end the line, and
# again must be set apart from the title (space, separator or opening bracket), so
# "開会は10:00" or "https://host/a10:00" are not chapter lines.
_TITLE_FIRST_RE = re.compile(
    rf"\s*{_BULLET}?"
    rf"(?P<title>.*?\S)"
    rf"(?P<gap>\s*(?:{_SEP})?\s*)"
    rf"(?P<open>{_OPEN})?\s*"
    rf"(?P<ts>{_TS_BOUNDED})"
    rf"\s*(?P<close>{_CLOSE})?\s*"
)


# Every character whose NFKC contains ":" (U+003A): ":" itself, the full-width "：" (U+FF1A),
# the small and vertical presentation forms "﹕" (U+FE55) and "︓" (U+FE13), and "⩴" (U+2A74,
# which becomes "::="). A chapter line needs a timestamp, hence a ":" after normalisation, so a
# line holding none of these is skipped before any normalising or matching. The set was found
# by scanning every code point (there are none outside the BMP); tests/test_parsing.py repeats
# that scan against the running Python's Unicode data, so a new Unicode version cannot slip by.
_COLON_FORMS = frozenset(":\uff1a\ufe55\ufe13\u2a74")
_COLON_RE = re.compile("[" + "".join(sorted(_COLON_FORMS)) + "]")

_nfkc_char = partial(unicodedata.normalize, "NFKC")


def _nfkc_with_index(line: str) -> tuple[str, list[int] | None]:
    """NFKC of ``line`` char by char, and for each output char the index of its source char.

    Matching happens on the normalised text, but titles are cut from the original so they keep
    the characters as written (``ＤＸとは`` stays full-width). The index is None when it is the
    identity: NFKC never maps a character to nothing, so equal lengths mean every character
    became exactly one (the usual case: full-width digits, colons, brackets).
    """
    pieces = list(map(_nfkc_char, line))
    norm = "".join(pieces)
    if len(norm) == len(line):
        return norm, None
    index: list[int] = []
    for i, folded in enumerate(pieces):
        index.extend([i] * len(folded))
    return norm, index


def _brackets_match(open_: str | None, close: str | None) -> bool:
    if open_ is None:
        return close is None
    return _BRACKET_PAIRS[open_] == close


def _chapter_line(line: str) -> tuple[int, str] | None:
    """(start seconds, title as written) if ``line`` is a chapter line, else None."""
    if _COLON_RE.search(line) is None:
        return None  # no timestamp possible: see _COLON_FORMS
    # A line already in NFKC is its own char-by-char NFKC: a character that NFKC changes on
    # its own can never stand in NFKC text (its quick-check value is No), so the index map is
    # the identity and the normalising loop can be skipped. Most lines take this path.
    if unicodedata.is_normalized("NFKC", line):
        norm, index = line, None
    else:
        norm, index = _nfkc_with_index(line)
    for regex, first in ((_TIME_FIRST_RE, True), (_TITLE_FIRST_RE, False)):
        match = regex.fullmatch(norm)
        if match is None:
            continue
        open_, close = match.group("open"), match.group("close")
        if not _brackets_match(open_, close):
            continue
        # The title must be set apart from the timestamp: see the comments on the regexes.
        bracketed = close is not None if first else open_ is not None
        if not match.group("gap") and not bracketed:
            continue
        seconds = _timestamp_seconds(match.group("ts"))
        if seconds is None:
            continue
        if _SEPARATORS_ONLY_RE.fullmatch(match.group("title")):
            continue
        start, end = match.span("title")
        if index is not None:
            start, end = index[start], index[end - 1] + 1
        title = line[start:end].strip()
        if not title:
            continue
        return seconds, title
    return None


def parse_chapters(description: str | None, duration_seconds: int | None) -> list[Chapter]:
    """The chapters YouTube would show for this description, or [] if it would show none.

    Every chapter line in the description counts, in order (a line whose timestamp starts it,
    after an optional bullet or bracket, or ends it after the title). YouTube's rules: the
    first starts at 0:00, there are at least three, they strictly ascend, and each lasts at
    least 10 s, the last one up to the duration when that is known (so the last start is also
    before the end of the video). The last chapter ends at the duration, None when unknown.
    """
    if not description or _COLON_RE.search(description) is None:
        return []  # no line can hold a timestamp (see _COLON_FORMS): half the videos
    found = [c for c in map(_chapter_line, description.splitlines()) if c is not None]
    if len(found) < MIN_CHAPTERS or found[0][0] != 0:
        return []
    starts = [start for start, _ in found]
    if any(b - a < MIN_CHAPTER_SECONDS for a, b in pairwise(starts)):
        return []  # also catches times that do not ascend
    if duration_seconds is not None and duration_seconds - starts[-1] < MIN_CHAPTER_SECONDS:
        return []
    ends: list[int | None] = [*starts[1:], duration_seconds]
    return [
        Chapter(position=i, start_seconds=start, end_seconds=end, title=title)
        for i, ((start, title), end) in enumerate(zip(found, ends, strict=True), start=1)
    ]
