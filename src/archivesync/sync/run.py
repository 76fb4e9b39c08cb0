"""The run envelope: the writer lease, the `sync_runs` row, and a transaction per page.

Every kind of run (metadata syncs in sync/channel.py, and any later job that calls an API and
writes the index) goes through `run_envelope`. It takes the writer lease, records a `sync_runs`
row, and commits each page in its own transaction together with the run's figures and the quota
ledger, so a run stopped at any moment keeps what it had and the next run finishes the job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from archivesync.db import quota, store
from archivesync.db.access import is_write_failure, write_failure
from archivesync.db.quota import QuotaGuard
from archivesync.db.runs import latest_running, mark_stale_runs, start_run, update_run
from archivesync.db.schema import open_db, open_readonly
from archivesync.db.transactions import write_transaction
from archivesync.errors import (
    EXIT_ERROR,
    EXIT_OK,
    ArchiveSyncError,
    Interrupted,
    QuotaExhausted,
)
from archivesync.sync.lease import Lease
from archivesync.timestamps import Clock, format_utc, parse_utc, system_clock
from archivesync.youtube import YouTubeClient

log = logging.getLogger(__name__)


@dataclass
class Settings:
    """Knobs a deployment may change; defaults suit the real API's 10,000-unit day."""

    daily_budget: int = quota.DEFAULT_DAILY_BUDGET
    safety_margin: int = quota.DEFAULT_SAFETY_MARGIN
    # The videos.batchGetStats bucket (statistics refreshes): its own day, limit and margin.
    stats_daily_budget: int = quota.BUCKETS[quota.STATS].daily_limit
    stats_safety_margin: int = quota.BUCKETS[quota.STATS].safety_margin
    recent_days: int = 30
    workers: int = 4
    timeout: float = 30.0
    retries: int = 6
    feed_probe: bool | None = None  # None: only against the real YouTube
    feed_url: str | None = None


@dataclass
class Target:
    kind: str  # channel | playlist | videos
    ids: list[str]
    full: bool = False

    @property
    def label(self) -> str:
        """The target as `sync_runs.target` records it."""
        return f"{self.kind} {','.join(self.ids)}"


@dataclass
class Outcome:
    run_id: int | None
    status: str
    exit_code: int
    message: str = ""
    figures: dict = field(default_factory=dict)
    # What the figures alone do not say ("10 videos checked, none has captions").
    notes: list[str] = field(default_factory=list)


Progress = Callable[[dict], None]


def ledger_guard(
    db: Database, settings: Settings, now: datetime, bucket: str = quota.DEFAULT
) -> QuotaGuard:
    """A run's guard for a bucket: the Pacific-day spend as of `now` against budget less margin."""
    spent = quota.spent_on(db, quota.pacific_day(now), bucket)
    if bucket == quota.STATS:
        budget = settings.stats_daily_budget - settings.stats_safety_margin
    else:
        budget = settings.daily_budget - settings.safety_margin
    return QuotaGuard(budget, spent, bucket)


def client_factory(
    client_class: type[YouTubeClient],
    *args: Any,
    settings: Settings,
    stop: threading.Event,
    clock: Clock,
) -> Callable[[Database], YouTubeClient]:
    """A run's `make_client`: `client_class(*args)` (an API key or credentials, and the
    endpoint) with the settings' timeout and retries, the ledger's quota guard as of the run's
    clock, and the stop."""

    def make_client(db: Database) -> YouTubeClient:
        return client_class(
            *args,
            timeout=settings.timeout,
            retries=settings.retries,
            guard=ledger_guard(db, settings, clock()),
            stop=stop,
        )

    return make_client


class RunContext:
    """One run's database, client and figures; `page()` commits a page with its bookkeeping."""

    def __init__(
        self,
        db: Database,
        client: YouTubeClient,
        run_id: int,
        progress: Progress,
        clock: Clock = system_clock,
    ):
        self.db = db
        self.client = client
        self.run_id = run_id
        self.progress = progress
        self.clock = clock
        self.added = self.updated = self.removed = self.pages = self.seen = 0
        self.total: int | None = None
        self.notes: list[str] = []
        self.phase = "starting"
        self._flushed_units: dict[str, int] = {}

    def set_phase(self, phase: str) -> None:
        """Name the part of the run now going (uploads and videos, playlists, removals...)."""
        if phase != self.phase:
            self.phase = phase
            log.debug("run %d: %s", self.run_id, phase)
            self.progress({**self.figures(), "total": self.total, "phase": phase})

    def count(self, result: store.SaveResult) -> None:
        """Add a page's saved rows to the run's figures."""
        self.added += result.added
        self.updated += result.updated + result.returned

    @contextlib.contextmanager
    def page(self, pages: int = 1) -> Iterator[str]:
        """One transaction holding `pages` pages and the run's figures; yields the time."""
        now = format_utc(self.clock())
        with write_transaction(self.db):
            yield now
            self.pages += pages
            self.flush(now)
        log.debug(
            "run %d: page %d committed (%s): %d videos seen, %d added, %d updated, %d units",
            self.run_id,
            self.pages,
            self.phase,
            self.seen,
            self.added,
            self.updated,
            sum(g.units for g in self.client.guards.values()),
        )
        self.progress({**self.figures(), "total": self.total, "phase": self.phase})

    def flush(self, now: str) -> None:
        """Write the units spent since the last flush (per bucket) and the run's figures."""
        day = quota.pacific_day(parse_utc(now))
        for bucket, guard in self.client.guards.items():
            units = guard.units
            quota.record_units(self.db, day, units - self._flushed_units.get(bucket, 0), bucket)
            self._flushed_units[bucket] = units
        update_run(self.db, self.run_id, {**self.figures(), "heartbeat_at": now})

    def figures(self) -> dict:
        """The run's figures so far."""
        return {
            "api_calls": self.client.calls,
            "quota_units": sum(g.units for g in self.client.guards.values()),
            "videos_added": self.added,
            "videos_updated": self.updated,
            "videos_removed": self.removed,
            "pages": self.pages,
            "videos_seen": self.seen,
        }


# --- the one entry point for the CLI, the daemon and staff resyncs ---------------------------


def describe_running(db_path: str | Path) -> str:
    """Names the run that holds the database, for the message a second writer sees."""
    try:
        db = open_readonly(db_path)
        row = latest_running(db)
        db.close()
    except Exception:
        row = None
    if row is None:
        return "another sync"
    return (
        f"sync run {row['id']} ({row['mode']} {row['channel_id'] or ''}, trigger "
        f"{row['trigger']}, pid {row['pid']}, started {row['started_at']})"
    ).replace(" ,", ",")


def run_envelope(
    db_path: str | Path,
    *,
    mode: Callable[[Database], str],
    channel_id: str | None,
    label: str,
    trigger: str,
    make_client: Callable[[Database], YouTubeClient],
    work: Callable[[RunContext], tuple[str, str | None]],
    secret: str | None = None,
    stop: threading.Event | None = None,
    wait: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    clock: Clock = system_clock,
) -> Outcome:
    """Run `work` under the writer lease as one recorded run; errors become the outcome.

    `mode(db)` names the run before it starts; `work(ctx)` returns the mode it really ran in and
    the channel it concerned. `secret` is blanked out of any recorded message. Every time the
    run writes or decides by comes from `clock` (`ctx.clock`). Only set-up mistakes (bad
    database path, lease held without `wait`) raise.
    """
    stop = stop or threading.Event()
    progress = progress or (lambda figures: None)
    db = open_db(db_path)
    lease = Lease(db_path)
    try:
        lease.acquire(wait=wait, describe_holder=lambda: describe_running(db_path), stop=stop)
        try:
            return _run_locked(
                db,
                mode,
                channel_id,
                label,
                trigger,
                make_client,
                work,
                secret,
                progress,
                on_start,
                clock,
            )
        finally:
            lease.release()
    except (sqlite3.DatabaseError, OSError) as e:
        if is_write_failure(e):
            raise write_failure(db_path, e) from None
        raise
    finally:
        db.close()


def _run_locked(
    db, mode, channel_id, label, trigger, make_client, work, secret, progress, on_start, clock
):
    now = format_utc(clock())
    mark_stale_runs(db, now)
    client = make_client(db)
    mode = mode(db)
    run_id = start_run(
        db,
        {
            "channel_id": channel_id,
            "mode": mode,
            "trigger": trigger,
            "target": label,
            "started_at": now,
            "status": "running",
            "pid": os.getpid(),
            "heartbeat_at": now,
        },
    )
    if on_start:
        on_start(run_id)
    ctx = RunContext(db, client, run_id, progress, clock)
    status, code, message = "ok", EXIT_OK, ""
    try:
        mode, channel_id = work(ctx)
    except QuotaExhausted as e:
        status, code, message = "quota_exhausted", e.exit_code, str(e)
    except Interrupted as e:
        status, code, message = "interrupted", EXIT_OK, str(e)
    except ArchiveSyncError as e:
        status, code, message = "failed", e.exit_code, str(e)
    except Exception as e:  # a bug: record it, and keep the traceback for the log
        if is_write_failure(e):
            raise  # nothing can be recorded; the next run marks this one interrupted
        log.exception("sync run %s failed unexpectedly", run_id)
        status, code, message = "failed", EXIT_ERROR, f"unexpected error: {type(e).__name__}: {e}"
    message = message.replace(secret, "***") if secret else message
    finished = format_utc(clock())
    with write_transaction(db):
        ctx.flush(finished)
        update_run(
            db,
            run_id,
            {
                "status": status,
                "mode": mode,
                "channel_id": channel_id,
                "finished_at": finished,
                "error": message or None,
            },
        )
    return Outcome(run_id, status, code, message, ctx.figures(), ctx.notes)
