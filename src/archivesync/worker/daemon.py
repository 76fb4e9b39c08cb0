"""The scheduled worker: an APScheduler 3.x BlockingScheduler over `sync.run_sync`.

* Syncs (scheduled jobs and staff requests) share one worker thread, and `run_sync` takes the
  database's writer lease, so two runs never overlap, whoever started them.
* The heartbeat and the request poll have their own small executor: they keep going during a
  long sync, which is how `status` and `resync` know the daemon is alive.
* SIGTERM/SIGINT set the stop Event the running sync checks between requests: it records its
  run as `interrupted`, the scheduler shuts down, the heartbeat row gets `stopped_at`.
* Jobs are rebuilt from the schedule files at every start: no persistent job store.
* A second daemon on the same database is refused (an flock on `<db>.daemon.lock`), since two
  schedulers would run every job twice.
* With a replica URL, Litestream runs as the daemon's child from before the first job until
  after the last run is recorded; the daemon's connections leave checkpoints to it, and on
  SIGTERM the daemon waits for the replica to hold its last committed transaction.
* A database it cannot write stops it with exit 1, at start (db/access.py checks the file, its
  directory and the lock files) or at the first write refused later: looping on a heartbeat
  that cannot be written would look alive to systemd and do nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlite_utils import Database

from archivesync.db import heartbeat, schema
from archivesync.db.access import NotWritable, check_writable, is_write_failure, write_failure
from archivesync.db.schema import open_db
from archivesync.errors import ConfigError
from archivesync.notify.send import Sender
from archivesync.notify.watch import OAUTH_MODES, Watcher
from archivesync.oauth import TOKEN_FILE_ENV
from archivesync.replication import status as replication_status
from archivesync.replication.litestream import redact_url
from archivesync.replication.replicator import Replicator
from archivesync.sync import requests as sync_requests
from archivesync.sync.lease import Lease
from archivesync.sync.run import Settings
from archivesync.timestamps import Clock, iso_utc, system_clock
from archivesync.worker import meaning_job
from archivesync.worker.jobs import JobResult, JobRunner
from archivesync.worker.schedules import DEFAULT_GRACE, JobSpec, parse_every

log = logging.getLogger("archivesync.daemon")

HEARTBEAT_SECONDS = 2.0
# The replica and the OAuth token are looked at this often, or more often for a short
# `stall_after` (and the console's cached replication state refreshed).
CHECK_SECONDS = 30.0
POLL_SECONDS = 1.0
SYNC_EXECUTOR = "default"
HOUSEKEEPING_EXECUTOR = "housekeeping"


class Daemon:
    def __init__(
        self,
        db_path: str | Path,
        jobs: list[JobSpec],
        *,
        api_key: str,
        endpoint: str | None,
        settings: Settings,
        schedules_dir: str | Path,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        replicate_to: str | None = None,
        notifier: Sender | None = None,
        public_url: str | None = None,
        clock: Clock = system_clock,
        stall_seconds: float = replication_status.STALL_SECONDS,
        check_seconds: float | None = None,
    ):
        self.db_path = str(db_path)
        self.jobs = jobs
        self.api_key = api_key
        self.endpoint = endpoint
        self.settings = settings
        self.schedules_dir = str(Path(schedules_dir).resolve())
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self.replicate_to = replicate_to
        self.stall_seconds = stall_seconds
        # At least twice within the stall time, so a stall is told soon after it counts as one.
        self.check_seconds = check_seconds or max(1.0, min(CHECK_SECONDS, stall_seconds / 2))
        self.replicator: Replicator | None = None
        self.stop = threading.Event()
        self._local = threading.local()
        self._connections: list[Database] = []
        self._connections_lock = threading.Lock()
        self._dispatched: set[int] = set()
        self._dispatched_lock = threading.Lock()
        self._shutdown_thread: threading.Thread | None = None
        self.fatal: NotWritable | None = None
        self._fatal_lock = threading.Lock()
        self.runner = JobRunner(
            self.db_path,
            api_key=api_key,
            endpoint=endpoint,
            settings=settings,
            stop=self.stop,
            db=self._db,
        )
        self.meaning = meaning_job.MeaningUpkeep(self.db_path, self.stop)
        self.watcher = Watcher(notifier, self._db, clock=clock, public_url=public_url)
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={
                SYNC_EXECUTOR: ThreadPoolExecutor(1),
                HOUSEKEEPING_EXECUTOR: ThreadPoolExecutor(3),
                meaning_job.EXECUTOR: ThreadPoolExecutor(1),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                # Each job says how late it may start (`grace`, worker/schedules.py); missed
                # runs of one job coalesce into one.
                "misfire_grace_time": parse_every(DEFAULT_GRACE),
            },
        )

    # --- database -------------------------------------------------------------------------

    def _db(self) -> Database:
        """This thread's connection: the scheduler's threads must not share one."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = open_db(self.db_path, migrate=False)
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    def _close_connections(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

    # --- lifecycle --------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT; returns once the current run is recorded.

        Raises NotWritable if the database cannot be written, at start or later.
        """
        check_writable(self.db_path, extra=[f"{self.db_path}.daemon.lock"])
        db = open_db(self.db_path)  # creates or upgrades the schema before anything else
        db.close()
        daemon_lock = Lease(f"{self.db_path}.daemon")
        if not daemon_lock.try_acquire():
            raise ConfigError(f"another daemon is already running on {self.db_path}")
        try:
            if self.replicate_to:
                self._start_replication()
            self._recover_abandoned_requests()
            self._add_jobs()
            self.scheduler.add_listener(
                self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
            )
            self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
            try:
                self.scheduler.start()  # blocks until _shutdown
            except Exception as e:
                self.watcher.daemon_failed(e, self.db_path)
                raise
            if self._shutdown_thread:
                self._shutdown_thread.join()
            if self.fatal:
                self.watcher.daemon_failed(self.fatal, self.db_path)
                raise self.fatal
            self._write_heartbeat(stopped=True)
            self._close_connections()
            if self.replicator:
                # After the last write: the heartbeat's `stopped_at` is in the replica too.
                self.replicator.stop(final_sync=True)
            log.info("daemon stopped", extra={"fields": {"event": "daemon_stopped"}})
        finally:
            self._close_connections()
            if self.replicator and self.replicator.running():
                self.replicator.stop(final_sync=True)  # what is committed is worth keeping
            daemon_lock.release()

    def _start_replication(self) -> None:
        # Before any connection of ours is opened, so none of them ever checkpoints.
        schema.leave_checkpoints_to_litestream()
        self.replicator = Replicator(
            self.db_path, self.replicate_to, stall_seconds=self.stall_seconds
        )
        self.replicator.start()
        shown = redact_url(self.replicate_to)
        log.info(
            "replicating to %s (litestream pid %d)",
            shown,
            self.replicator.proc.pid,
            extra={"fields": {"event": "replication_started", "url": shown}},
        )

    def _on_started(self, event) -> None:
        # Called in the main thread by start() once the jobs have their first run times and the
        # scheduler is running, so a signal from now on can always shut it down.
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._guarded(self._write_heartbeat)(started=True)
        self._notify(self.watcher.daemon_started, self.db_path)
        log.info(
            "daemon started: %d job(s) from %s",
            len(self.jobs),
            self.schedules_dir,
            extra={"fields": {"event": "daemon_started", "pid": os.getpid()}},
        )
        for spec in self.jobs:
            next_run = iso_utc(self.scheduler.get_job(spec.id).next_run_time)
            log.info(
                "job %s: %s sync of %s, %s, next run %s",
                spec.id,
                spec.mode,
                spec.channel,
                spec.describe(),
                next_run,
                extra={"fields": {"event": "job", "job": spec.id, "next_run": next_run}},
            )

    def _recover_abandoned_requests(self) -> None:
        lease = Lease(self.db_path)
        if not lease.try_acquire():
            return  # a CLI sync is running; its requests are not ours to judge
        try:
            fixed = sync_requests.recover_abandoned(self._db())
            if fixed:
                log.warning("marked %d request(s) left running by a dead process", fixed)
        finally:
            lease.release()

    def _add_jobs(self) -> None:
        for spec in self.jobs:
            self.scheduler.add_job(
                self._guarded(self._scheduled_run),
                spec.trigger(),
                args=[spec],
                id=spec.id,
                name=spec.id,
                executor=SYNC_EXECUTOR,
                misfire_grace_time=parse_every(spec.grace),
            )
        # Housekeeping: late is useless, so never catch up on missed beats or polls.
        self.scheduler.add_job(
            self._guarded(self._write_heartbeat),
            "interval",
            seconds=self.heartbeat_seconds,
            id=":heartbeat",
            executor=HOUSEKEEPING_EXECUTOR,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(
            self._guarded(self._checks),
            "interval",
            seconds=self.check_seconds,
            id=":checks",
            executor=HOUSEKEEPING_EXECUTOR,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(
            self._guarded(self._poll_requests),
            "interval",
            seconds=self.poll_seconds,
            id=":requests",
            executor=HOUSEKEEPING_EXECUTOR,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),  # requests queued while we were down
        )

    def _guarded(self, func):
        """`func` as a job that stops the daemon when the database can no longer be written."""

        def job(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except Exception as e:
                if not is_write_failure(e):
                    raise
                self._stop_fatally(write_failure(self.db_path, e))

        return job

    def _stop_fatally(self, error: NotWritable) -> None:
        with self._fatal_lock:
            if self.fatal is not None:
                return
            self.fatal = error
            already_stopping = self.stop.is_set()
        log.error(
            "stopping: %s",
            error,
            extra={"fields": {"event": "stopping", "reason": "database not writable"}},
        )
        if already_stopping:  # a signal's shutdown is under way; run() raises the error after it
            return
        self.stop.set()
        self._shutdown_thread = threading.Thread(target=self._shutdown, name="shutdown")
        self._shutdown_thread.start()

    def _on_signal(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set():
            log.warning("%s: already stopping, waiting for the current page", name)
            return
        log.warning(
            "%s: stopping after the current page",
            name,
            extra={"fields": {"event": "stopping", "signal": name}},
        )
        self.stop.set()
        # Not in the handler itself: the main thread may be inside the scheduler's loop, holding
        # its locks, when the signal arrives.
        self._shutdown_thread = threading.Thread(target=self._shutdown, name="shutdown")
        self._shutdown_thread.start()

    def _shutdown(self) -> None:
        # wait=True: returns once the running sync has recorded its run.
        self.scheduler.shutdown(wait=True)

    def _on_job_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            # APScheduler has logged the traceback; this line says which job, in our format.
            log.error(
                "job %s failed: %r",
                event.job_id,
                getattr(event, "exception", None),
                extra={"fields": {"event": "job_error", "job": event.job_id}},
            )
        elif event.code == EVENT_JOB_MISSED:
            log.warning(
                "job %s missed its run at %s",
                event.job_id,
                iso_utc(event.scheduled_run_time),
                extra={"fields": {"event": "job_missed", "job": event.job_id}},
            )
            if not event.job_id.startswith(":"):
                self._notify(self.watcher.job_missed, event.job_id, event.scheduled_run_time)
        elif not event.job_id.startswith(":"):
            log.info(
                "job %s skipped: its previous run is still going or waiting",
                event.job_id,
                extra={"fields": {"event": "job_skipped", "job": event.job_id, "reason": "busy"}},
            )

    # --- heartbeat and request queue ------------------------------------------------------

    def _write_heartbeat(self, *, started: bool = False, stopped: bool = False) -> None:
        jobs = [(spec, None if stopped else self.scheduler.get_job(spec.id)) for spec in self.jobs]
        heartbeat.write_heartbeat(
            self._db(), jobs, self.schedules_dir, started=started, stopped=stopped
        )

    def _poll_requests(self) -> None:
        if self.stop.is_set():
            return
        for request_id in sync_requests.queued_ids(self._db()):
            with self._dispatched_lock:
                if request_id in self._dispatched:
                    continue
                self._dispatched.add(request_id)
            # On the sync executor, so it waits for (and never overlaps) a running sync.
            self.scheduler.add_job(
                self._guarded(self._run_request),
                args=[request_id],
                id=f":request-{request_id}",
                executor=SYNC_EXECUTOR,
                misfire_grace_time=None,
            )

    # --- runs --------------------------------------------------------------------------------

    def _scheduled_run(self, spec: JobSpec) -> None:
        if spec.mode == meaning_job.MODE:
            return self._embed_soon()
        self._after_job(self.runner.scheduled(spec))

    def _embed_soon(self) -> None:
        """Bring the meaning index up to date on its own thread: a sync never waits for it."""
        if self.stop.is_set():
            return  # stopping: a later change, an `embed` job or `archivesync embed` catches up
        self.meaning.request()
        self.scheduler.add_job(
            self._guarded(self.meaning.run),
            executor=meaning_job.EXECUTOR,
            misfire_grace_time=None,
        )

    def _run_request(self, request_id: int) -> None:
        try:
            self._after_job(self.runner.request(request_id))
        finally:
            with self._dispatched_lock:
                self._dispatched.discard(request_id)

    def _after_job(self, result: JobResult | None) -> None:
        """Tell operators when a job's end begins or ends a problem; embed what it changed."""
        if (
            result is not None
            and result.outcome
            and meaning_job.changed_text(result.outcome.figures)
        ):
            self._embed_soon()
        if result is not None:
            self._notify(self.watcher.job_ended, result.job, result.mode, result)

    def _notify(self, report, *args) -> None:
        # A notification that fails must not fail the job or the scheduler; a database that
        # can no longer be written still stops the daemon (see _guarded).
        try:
            report(*args)
        except Exception as e:
            if is_write_failure(e):
                raise
            log.warning("notification step failed: %s", type(e).__name__, exc_info=True)

    def _checks(self) -> None:
        """The periodic checks: the replica (and the console's cached view of it), the token."""
        if self.replicate_to:
            data = replication_status.collect(self.db_path, stall_seconds=self.stall_seconds)
            replication_status.write_cache(self.db_path, data, self.watcher.clock())
            self._notify(self.watcher.replication_checked, data, redact_url(self.replicate_to))
        if any(spec.mode in OAUTH_MODES for spec in self.jobs):
            self._notify(self.watcher.token_checked, os.environ.get(TOKEN_FILE_ENV))
