"""What a person sees of a run: a progress bar on a terminal, log lines elsewhere, a summary."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("archivesync.progress")


def progress_reporter(label: str, stream=None, min_interval: float = 2.0):
    """A callback for sync progress figures: redraws a bar on a TTY, else logs now and then."""
    stream = stream or sys.stderr
    tty = stream.isatty()
    last = [0.0]

    def report(figures: dict) -> None:
        now = time.monotonic()
        if tty:
            total = figures.get("total")
            seen = figures["videos_seen"]
            if total:
                done = min(1.0, seen / total)
                bar = "#" * int(done * 30)
                head = f"[{bar:<30}] {seen}/{total} videos"
            else:
                head = f"{seen} videos"
            stream.write(
                f"\r{label}: {head}, {figures['pages']} pages, {figures['quota_units']} units "
            )
            stream.flush()
        elif now - last[0] >= min_interval:
            last[0] = now
            log.info(
                "%s progress: %d pages, %d videos, %d units",
                label,
                figures["pages"],
                figures["videos_seen"],
                figures["quota_units"],
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
    if outcome.message:
        text += f"\n{outcome.message}"
    return text
