"""Caption files to cues: pure parsing, no I/O.

WebVTT goes through webvtt-py and SubRip through srt (well-kept libraries; the formats have
enough corner cases). Two things are done here on top of them:

* Times keep their milliseconds: webvtt-py's ``start_in_seconds`` drops the fraction, so the
  timestamp string is read instead.
* YouTube's automatic captions roll: every cue repeats the line before it (the line being
  spoken appears with inline word timings, then in a 10 ms cue of its own, then as the first
  line of the next cue). ``dedupe_rolling`` keeps each spoken line once, with the start of
  the cue it first appeared in, so search finds a phrase once and at the right second.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import NamedTuple

import srt
import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from archivesync.errors import TranscriptParseError

FORMATS = ("vtt", "srt")
_INLINE_TIMING = re.compile(r"<\d{1,2}:\d{2}(?::\d{2})?\.\d{3}>")
_SPACES = re.compile(r"[ \t\u3000]+")


class Cue(NamedTuple):
    start_seconds: float
    end_seconds: float
    text: str


def vtt_seconds(stamp: str) -> float:
    """``01:02:03.456`` or ``02:03.456`` as seconds, milliseconds kept."""
    parts = stamp.strip().split(":")
    try:
        seconds = float(parts[-1])
        minutes = int(parts[-2]) if len(parts) >= 2 else 0
        hours = int(parts[-3]) if len(parts) >= 3 else 0
    except (ValueError, IndexError):
        raise TranscriptParseError(f"not a WebVTT timestamp: {stamp!r}") from None
    return round(hours * 3600 + minutes * 60 + seconds, 3)


def _lines(text: str) -> list[str]:
    return [_SPACES.sub(" ", line).strip() for line in text.splitlines() if line.strip()]


def is_rolling(raw: str) -> bool:
    """Whether a WebVTT file is YouTube's rolling auto-caption style (inline word timings)."""
    return bool(_INLINE_TIMING.search(raw))


def parse_vtt(raw: str) -> list[Cue]:
    """Cues of a WebVTT file (tags stripped); rolling files are de-duplicated."""
    try:
        captions = webvtt.from_string(raw)
        cues = [(vtt_seconds(c.start), vtt_seconds(c.end), _lines(c.text)) for c in captions]
    except (MalformedFileError, MalformedCaptionError) as e:
        raise TranscriptParseError(f"not a valid WebVTT file ({e})") from None
    if is_rolling(raw):
        return dedupe_rolling(cues)
    return [Cue(a, b, " ".join(lines)) for a, b, lines in cues if lines]


def parse_srt(raw: str) -> list[Cue]:
    """Cues of a SubRip file."""
    try:
        subtitles = list(srt.parse(raw.lstrip("\ufeff")))
    except srt.SRTParseError as e:
        raise TranscriptParseError(f"not a valid SubRip file ({e})") from None
    cues = []
    for sub in subtitles:
        lines = _lines(re.sub(r"</?[a-zA-Z][^>]*>", "", sub.content))
        if lines:
            cues.append(Cue(_secs(sub.start), _secs(sub.end), " ".join(lines)))
    return cues


def _secs(delta: timedelta) -> float:
    return round(delta.total_seconds(), 3)


def parse(raw: str, fmt: str) -> list[Cue]:
    """Cues of a caption file in ``fmt`` (vtt or srt); TranscriptParseError if it is not one."""
    if fmt == "vtt":
        cues = parse_vtt(raw)
    elif fmt == "srt":
        cues = parse_srt(raw)
    else:
        raise TranscriptParseError(f"unsupported caption format {fmt!r} (use vtt or srt)")
    if not cues and raw.strip() and raw.strip() != "WEBVTT":
        raise TranscriptParseError(f"no cues found in the {fmt} file")
    return cues


def dedupe_rolling(cues: list[tuple[float, float, list[str]]]) -> list[Cue]:
    """Each spoken line once: drop the lines a cue carries over from the cue before it.

    A cue's leading lines that equal the previous cue's trailing lines are the carried-over
    part; the rest is new. A line said twice in a row still appears twice, because only the
    overlap with the previous cue is dropped. A cue that only carries lines over (YouTube's
    10 ms cue) extends the end of the line it holds.
    """
    out: list[Cue] = []
    previous: list[str] = []
    for start, end, lines in cues:
        overlap = 0
        for k in range(min(len(previous), len(lines)), 0, -1):
            if previous[-k:] == lines[:k]:
                overlap = k
                break
        new = lines[overlap:]
        if not new and out and overlap:
            last = out[-1]
            out[-1] = last._replace(end_seconds=max(last.end_seconds, end))
        for line in new:
            out.append(Cue(start, end, line))
        previous = lines
    return out


def detect_format(filename: str, raw: str) -> str:
    """vtt or srt, from the file name, else from the content."""
    lower = filename.lower()
    if lower.endswith(".vtt"):
        return "vtt"
    if lower.endswith(".srt"):
        return "srt"
    if raw.lstrip("\ufeff").lstrip().startswith("WEBVTT"):
        return "vtt"
    raise TranscriptParseError(f"{filename}: not a .vtt or .srt file")
