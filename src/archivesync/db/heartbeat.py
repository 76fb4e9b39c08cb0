"""Reading the daemon's heartbeat row: is a daemon alive and serving the resync queue?

Kept apart from the daemon so that `status`, `resync` and the web console can ask without
importing APScheduler.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

from archivesync.timestamps import parse_utc

# A heartbeat older than this means the daemon is gone (killed, host asleep, wedged).
STALE_AFTER_SECONDS = 15.0


def read_heartbeat(db: Database) -> dict | None:
    """The daemon's heartbeat row, or None if no daemon ever ran here."""
    if not db["daemon_heartbeat"].exists():
        return None
    return next(db.query("SELECT * FROM daemon_heartbeat WHERE id = 1"), None)


def heartbeat_age(row: dict | None, now: datetime | None = None) -> float | None:
    """Seconds since the last heartbeat, or None."""
    beat = parse_utc(row["heartbeat_at"]) if row and row["heartbeat_at"] else None
    if beat is None:
        return None
    return ((now or datetime.now(UTC)) - beat).total_seconds()


def daemon_alive(row: dict | None, now: datetime | None = None) -> bool:
    """A daemon serves the queue: it has not said it stopped and its heartbeat is fresh."""
    age = heartbeat_age(row, now)
    return age is not None and row["stopped_at"] is None and age <= STALE_AFTER_SECONDS
