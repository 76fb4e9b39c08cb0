"""The daemon's meaning index upkeep: `embed` after any run that changed the index's text.

It runs on its own executor thread, so a sync never waits for it; it writes in small
transactions (search/meaning_index.py), so a sync waits at most for one of them. Asked again
while it runs, it runs once more when done: nothing changed is left unembedded.
"""

from __future__ import annotations

import logging
import threading

from archivesync.errors import ArchiveSyncError, Interrupted

log = logging.getLogger("archivesync.daemon")

EXECUTOR = "meaning"
# One passage a transaction: the daemon stops between two (SIGTERM must end it within
# seconds, and a passage takes ~0.15 s, a batch of 4 took seconds on a busy machine).
BATCH = 1
MODE = "embed"  # the schedule mode (schedules/*.toml); such a job needs no channel
CHANGE_FIGURES = ("videos_added", "videos_updated", "videos_removed")


def changed_text(figures: dict) -> bool:
    """Whether a run's figures say it changed metadata or transcripts."""
    return any(figures.get(name) for name in CHANGE_FIGURES)


class MeaningUpkeep:
    """Runs `embed` against the daemon's database when asked; one run at a time."""

    def __init__(self, db_path: str, stop: threading.Event):
        self.db_path = db_path
        self.stop = stop
        self._wanted = threading.Event()
        self._running = threading.Lock()

    def request(self) -> None:
        """Ask for a run (the caller schedules `run` on EXECUTOR)."""
        self._wanted.set()

    def run(self) -> None:
        """Embed until no request is pending; another thread already at it makes this a no-op."""
        if not self._running.acquire(blocking=False):
            return
        try:
            while self._wanted.is_set() and not self.stop.is_set():
                self._wanted.clear()
                self._embed_once()
        finally:
            self._running.release()

    def _embed_once(self) -> None:
        from archivesync.db.schema import open_db
        from archivesync.search.meaning_index import embed_index

        def progress(done: int, total: int) -> None:
            if self.stop.is_set():
                raise Interrupted(f"embedding stopped after {done} of {total} passages")

        db = open_db(self.db_path, migrate=False)
        try:
            result = embed_index(db.conn, progress=progress, batch=BATCH)
        except Interrupted as e:
            log.info("%s (the next run goes on)", e, extra={"fields": {"event": "embed_stopped"}})
            return
        except ArchiveSyncError as e:
            log.error("embed failed: %s", e, extra={"fields": {"event": "embed_error"}})
            return
        finally:
            db.close()
        log.info(
            "embedded %d passages in %.1f s (%d in the meaning index)",
            result.embedded,
            result.seconds,
            result.passages,
            extra={"fields": {"event": "embed_finished", **result.as_dict()}},
        )
