"""The daemon's heartbeat row: written by the daemon, read to know whether one is alive.

Kept apart from the daemon so that `status`, `resync` and the web console can ask without
importing APScheduler.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime

from sqlite_utils import Database

from archivesync.timestamps import iso_utc, parse_utc, utcnow

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


def write_heartbeat(
    db: Database, jobs: list, schedules_dir: str, *, started: bool = False, stopped: bool = False
) -> None:
    """Beat: now, and each (JobSpec, scheduled job or None)'s next run; who and where at start."""
    now = utcnow()
    listed = [
        {
            "id": spec.id,
            "channel": spec.channel,
            "mode": spec.mode,
            "schedule": spec.describe(),
            "next_run_at": iso_utc(job.next_run_time) if job else None,
        }
        for spec, job in jobs
    ]
    listed.sort(key=lambda j: (j["next_run_at"] or "~", j["id"]))
    row = {"id": 1, "heartbeat_at": now, "jobs": json.dumps(listed, ensure_ascii=False)}
    if started:
        row.update(
            pid=os.getpid(),
            hostname=socket.gethostname(),
            started_at=now,
            stopped_at=None,
            schedules_dir=schedules_dir,
        )
    if stopped:
        row["stopped_at"] = now
    db["daemon_heartbeat"].upsert(row, pk="id")
