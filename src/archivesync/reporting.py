"""What a person sees of a run: a progress bar on a terminal, log lines elsewhere, a summary."""

from __future__ import annotations

import logging
import sys
import time

from archivesync.parsing import format_duration

log = logging.getLogger("archivesync.progress")


# Phases in which the videos seen so far count towards the total (the bar means something).
_VIDEO_PHASES = (None, "uploads and videos", "videos")


def progress_reporter(label: str, stream=None, min_interval: float = 2.0):
    """A callback for sync progress figures: redraws a line on a TTY, else logs now and then.

    The line names the phase (uploads and videos, removals, playlists...) and the time so far,
    so that a long playlists phase never looks like a bar stuck at 5000/5000.
    """
    stream = stream or sys.stderr
    tty = stream.isatty()
    started = time.monotonic()
    last = [0.0]
    last_phase: list[str | None] = [None]
    width = [0]

    def report(figures: dict) -> None:
        now = time.monotonic()
        phase = figures.get("phase")
        elapsed = format_duration(int(now - started))
        seen = figures["videos_seen"]
        if tty:
            total = figures.get("total")
            if total and phase in _VIDEO_PHASES:
                done = min(1.0, seen / total)
                bar = "#" * int(done * 30)
                head = f"[{bar:<30}] {seen}/{total} videos"
            else:
                head = f"{seen} videos"
            where = f"{phase}: " if phase else ""
            text = (
                f"{label}: {where}{head}, {figures['pages']} pages, "
                f"{figures['quota_units']} units, {elapsed}"
            )
            stream.write("\r" + text + " " * max(1, width[0] - len(text) + 1))
            width[0] = len(text)
            stream.flush()
        elif phase != last_phase[0] or now - last[0] >= min_interval:
            last[0] = now
            last_phase[0] = phase
            log.info(
                "%s progress%s: %d pages, %d videos, %d units, %s elapsed",
                label,
                f" ({phase})" if phase else "",
                figures["pages"],
                seen,
                figures["quota_units"],
                elapsed,
                extra={"fields": {"event": "progress", **figures}},
            )

    def close() -> None:
        if tty:
            stream.write("\n")
            stream.flush()

    report.close = close
    return report


def figures_sentence(f: dict) -> str:
    """A run's figures as people read them: `4 added, 0 updated, 0 removed; 6 API calls, ...`."""
    return (
        f"{f.get('videos_added', 0)} added, {f.get('videos_updated', 0)} updated, "
        f"{f.get('videos_removed', 0)} removed; {f.get('api_calls', 0)} API calls, "
        f"{f.get('quota_units', 0)} quota units"
    )


def run_summary(outcome) -> str:
    """The summary the CLI prints after a run: status and figures, then any message."""
    text = f"run {outcome.run_id}: {outcome.status}; {figures_sentence(outcome.figures)}"
    for note in outcome.notes:
        text += f"\n{note}"
    if outcome.message:
        text += f"\n{outcome.message}"
    return text
