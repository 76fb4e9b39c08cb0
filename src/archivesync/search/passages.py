"""Passages for search by meaning: what is embedded, cut from the index's own rows.

Three kinds, each keyed so that an unchanged passage keeps its vector across runs:

- ``video``: the title with the description (``video:<video id>``);
- ``chapter``: a chapter title with the transcript text it spans (``chapter:<video>:<pos>``);
- ``transcript``: a window of consecutive cues of one track, about 20-40 s, starting and
  ending on cue boundaries (``transcript:<track id>:<first cue position>``).

Pure functions over rows (no I/O) plus ``read_passages``, which reads them from a connection.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

# A transcript window closes before a cue that would end it later than this after its start.
WINDOW_SECONDS = 40.0
# Text cut per passage: e5-small reads 512 tokens; a chapter of an hour says far more.
MAX_CHARS = 1200

KIND_VIDEO, KIND_CHAPTER, KIND_TRANSCRIPT = "video", "chapter", "transcript"
# The kinds as small codes, for the arrays search by meaning keeps (search/meaning.py).
KIND_CODES = {KIND_VIDEO: 1, KIND_CHAPTER: 2, KIND_TRANSCRIPT: 3}


@dataclass(frozen=True)
class Passage:
    """One embeddable piece of the index, with where it points in its video."""

    key: str
    video_id: str
    kind: str
    text: str
    start_seconds: float | None = None
    end_seconds: float | None = None
    track_id: str | None = None

    @property
    def digest(self) -> str:
        """A hash of the text: a passage whose text changed is embedded again."""
        return hashlib.sha1(self.text.encode("utf-8")).hexdigest()


def _join(parts: Iterable[str]) -> str:
    return "\n".join(p.strip() for p in parts if p and p.strip())[:MAX_CHARS]


def video_passage(video_id: str, title: str | None, description: str | None) -> Passage | None:
    """The title with the description, or None for a video with neither."""
    text = _join([title or "", description or ""])
    return Passage(f"video:{video_id}", video_id, KIND_VIDEO, text, 0.0) if text else None


def transcript_windows(track_id: str, video_id: str, cues: Sequence[tuple]) -> list[Passage]:
    """Windows of a track's cues ((position, start, end, text) in order), cue-aligned.

    A window takes cues while they end within WINDOW_SECONDS of its first cue's start; a
    longer single cue is a window of its own.
    """
    windows: list[Passage] = []
    i = 0
    while i < len(cues):
        first = cues[i]
        j = i + 1
        while j < len(cues) and cues[j][2] - first[1] <= WINDOW_SECONDS:
            j += 1
        part = cues[i:j]
        text = _join(c[3] for c in part)
        if text:
            windows.append(
                Passage(
                    f"transcript:{track_id}:{first[0]}",
                    video_id,
                    KIND_TRANSCRIPT,
                    text,
                    float(first[1]),
                    float(part[-1][2]),
                    track_id,
                )
            )
        i = j
    return windows


def chapter_passages(
    video_id: str, chapters: Sequence[tuple], cues: Sequence[tuple], track_id: str | None
) -> list[Passage]:
    """Each chapter ((position, title, start) in order) with the cues it spans."""
    out = []
    for n, (position, title, start) in enumerate(chapters):
        end = chapters[n + 1][2] if n + 1 < len(chapters) else float("inf")
        spoken = [c[3] for c in cues if start <= c[1] < end]
        text = _join([title or "", *spoken])
        if text:
            out.append(
                Passage(
                    f"chapter:{video_id}:{position}",
                    video_id,
                    KIND_CHAPTER,
                    text,
                    float(start or 0),
                    None if end == float("inf") else float(end),
                    track_id if spoken else None,
                )
            )
    return out


def read_passages(conn: sqlite3.Connection, video_ids: Sequence[str] | None = None) -> Iterator:
    """Every passage of the index (or of these videos), video by video."""
    where, args = "", []
    if video_ids is not None:
        where = f" WHERE id IN ({','.join('?' * len(video_ids))})"
        args = list(video_ids)
    videos = conn.execute(f"SELECT id, title, description FROM videos{where} ORDER BY id", args)
    for chunk in iter(lambda: videos.fetchmany(200), []):
        ids = [v[0] for v in chunk]
        marks = ",".join("?" * len(ids))
        chapters: dict[str, list[tuple]] = defaultdict(list)
        for row in conn.execute(
            f"SELECT video_id, position, title, start_seconds FROM chapters "
            f"WHERE video_id IN ({marks}) ORDER BY video_id, position",
            ids,
        ):
            chapters[row[0]].append(row[1:])
        cues: dict[str, dict[str, list[tuple]]] = defaultdict(lambda: defaultdict(list))
        for row in conn.execute(
            f"SELECT video_id, track_id, position, start_seconds, end_seconds, text "
            f"FROM transcript_cues WHERE video_id IN ({marks}) ORDER BY track_id, position",
            ids,
        ):
            cues[row[0]][row[1]].append(row[2:])
        for video_id, title, description in chunk:
            passage = video_passage(video_id, title, description)
            if passage:
                yield passage
            tracks = cues.get(video_id, {})
            # Chapters span the video's first track (a video has one downloaded transcript).
            main = min(tracks) if tracks else None
            yield from chapter_passages(
                video_id, chapters.get(video_id, []), tracks.get(main, []), main
            )
            for track_id in sorted(tracks):
                yield from transcript_windows(track_id, video_id, tracks[track_id])
