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

import io
import json
import logging
import os
import signal
import socket
import threading
import time
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

from archivesync.analytics.run import MODE as ANALYTICS_MODE
from archivesync.analytics.run import run_analytics
from archivesync.db import schema
from archivesync.db.access import NotWritable, check_writable, is_write_failure, write_failure
from archivesync.db.schema import open_db
from archivesync.errors import ArchiveSyncError, ConfigError, LeaseHeld
from archivesync.replication.litestream import Replicator, redact_url
from archivesync.reporting import figures_sentence, progress_reporter
from archivesync.sync import requests as sync_requests
from archivesync.sync.channel import run_sync
from archivesync.sync.lease import Lease
from archivesync.sync.run import Outcome, Settings, Target
from archivesync.timestamps import iso_utc, utcnow
from archivesync.worker.schedules import JobSpec

log = logging.getLogger("archivesync.daemon")

HEARTBEAT_SECONDS = 2.0
POLL_SECONDS = 1.0
# A run due while another one is still going waits this long before it counts as missed;
# missed runs of one job coalesce into one.
MISFIRE_GRACE_SECONDS = 15 * 60
PROGRESS_LOG_SECONDS = 30.0
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
        self.scheduler = BlockingScheduler(
            timezone=UTC,
            executors={
                SYNC_EXECUTOR: ThreadPoolExecutor(1),
                HOUSEKEEPING_EXECUTOR: ThreadPoolExecutor(2),
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
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
            self.scheduler.start()  # blocks until _shutdown
            if self._shutdown_thread:
                self._shutdown_thread.join()
            if self.fatal:
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
        self.replicator = Replicator(self.db_path, self.replicate_to)
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
        log.info(
            "daemon started: %d job(s) from %s",
            len(self.jobs),
            self.schedules_dir,
            extra={"fields": {"event": "daemon_started", "pid": os.getpid()}},
        )
        for spec in self.jobs:
            log.info(
                "job %s: %s sync of %s, %s, next run %s",
                spec.id,
                spec.mode,
                spec.channel,
                spec.describe(),
                iso_utc(self.scheduler.get_job(spec.id).next_run_time),
                extra={"fields": {"event": "job", "job": spec.id}},
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
        elif not event.job_id.startswith(":"):
            log.info(
                "job %s skipped: its previous run is still going or waiting",
                event.job_id,
                extra={"fields": {"event": "job_skipped", "job": event.job_id, "reason": "busy"}},
            )

    # --- heartbeat and request queue ------------------------------------------------------

    def _jobs_json(self, *, running: bool = True) -> str:
        jobs = []
        for spec in self.jobs:
            job = self.scheduler.get_job(spec.id) if running else None
            jobs.append(
                {
                    "id": spec.id,
                    "channel": spec.channel,
                    "mode": spec.mode,
                    "schedule": spec.describe(),
                    "next_run_at": iso_utc(job.next_run_time) if job else None,
                }
            )
        jobs.sort(key=lambda j: (j["next_run_at"] or "~", j["id"]))
        return json.dumps(jobs, ensure_ascii=False)

    def _write_heartbeat(self, *, started: bool = False, stopped: bool = False) -> None:
        now = utcnow()
        row = {"id": 1, "heartbeat_at": now, "jobs": self._jobs_json(running=not stopped)}
        if started:
            row.update(
                pid=os.getpid(),
                hostname=socket.gethostname(),
                started_at=now,
                stopped_at=None,
                schedules_dir=self.schedules_dir,
            )
        if stopped:
            row["stopped_at"] = now
        self._db()["daemon_heartbeat"].upsert(row, pk="id")

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

    def _progress(self, label: str):
        # Log lines, never a terminal bar (the StringIO is no TTY), and none for a run that is
        # over in seconds: its start and end lines say it all.
        report = progress_reporter(label, stream=io.StringIO(), min_interval=PROGRESS_LOG_SECONDS)
        started = time.monotonic()

        def progress(figures: dict) -> None:
            if time.monotonic() - started >= PROGRESS_LOG_SECONDS:
                report(figures)

        return progress

    def _log_start(self, run_id: int, target: Target, origin: dict) -> None:
        log.info(
            "run %d started: %s (%s)",
            run_id,
            target.label,
            ", ".join(f"{k} {v}" for k, v in origin.items()),
            extra={
                "fields": {"event": "run_started", "run_id": run_id, "target": target.label}
                | origin
            },
        )

    def _log_end(self, outcome: Outcome, target: Target, origin: dict) -> None:
        f = outcome.figures
        level = logging.INFO if outcome.status in ("ok", "interrupted") else logging.WARNING
        log.log(
            level,
            "run %s %s: %s; %s%s",
            outcome.run_id,
            "finished" if outcome.status == "ok" else "ended",
            outcome.status,
            figures_sentence(f),
            f"; {outcome.message}" if outcome.message else "",
            extra={
                "fields": {
                    "event": "run_finished",
                    "run_id": outcome.run_id,
                    "target": target.label,
                    "status": outcome.status,
                    "error": outcome.message or None,
                    **f,
                }
                | origin
            },
        )

    def _transcripts_run(self, spec: JobSpec, target: Target, origin: dict):
        """A `mode = "transcripts"` job: the token from ARCHIVESYNC_OAUTH_TOKEN_FILE."""
        from archivesync.oauth import resolve_token_file
        from archivesync.transcripts.sync import TranscriptOptions, run_transcripts

        return run_transcripts(
            self.db_path,
            spec.channel,
            token_file=resolve_token_file(None),
            endpoint=self.endpoint,
            options=TranscriptOptions(max_units=spec.max_units),
            settings=self.settings,
            trigger="schedule",
            stop=self.stop,
            progress=self._progress(spec.id),
            on_start=lambda run_id: self._log_start(run_id, target, origin),
        )

    def _scheduled_run(self, spec: JobSpec) -> None:
        if self.stop.is_set():
            return  # queued behind the last run when the signal came
        target = Target("channel", [spec.channel], full=spec.full)
        origin = {"trigger": "schedule", "job": spec.id}
        try:
            if spec.mode == ANALYTICS_MODE:
                # The OAuth token comes from ARCHIVESYNC_OAUTH_TOKEN_FILE, as for the CLI.
                outcome = run_analytics(
                    self.db_path,
                    spec.channel,
                    endpoint=self.endpoint,
                    trigger="schedule",
                    stop=self.stop,
                    progress=self._progress(spec.id),
                    on_start=lambda run_id: self._log_start(run_id, target, origin),
                )
            elif spec.mode == "transcripts":
                outcome = self._transcripts_run(spec, target, origin)
            else:
                outcome = run_sync(
                    self.db_path,
                    target,
                    api_key=self.api_key,
                    endpoint=self.endpoint,
                    trigger="schedule",
                    settings=self.settings,
                    stop=self.stop,
                    wait=False,
                    progress=self._progress(spec.id),
                    on_start=lambda run_id: self._log_start(run_id, target, origin),
                )
        except LeaseHeld as e:
            # A CLI sync has the database; this job's next turn will catch up.
            log.warning(
                "job %s skipped: %s",
                spec.id,
                e,
                extra={"fields": {"event": "job_skipped", "job": spec.id, "reason": "lease"}},
            )
            return
        except NotWritable:
            raise
        except ArchiveSyncError as e:
            log.error(
                "job %s could not run: %s",
                spec.id,
                e,
                extra={"fields": {"event": "job_error", "job": spec.id}},
            )
            return
        self._log_end(outcome, target, origin)

    def _run_request(self, request_id: int) -> None:
        try:
            if self.stop.is_set():
                return  # stays queued for the next daemon
            db = self._db()
            if not sync_requests.claim(db, request_id):
                return  # a `resync --wait` whose daemon seemed gone took it over
            request = sync_requests.get(db, request_id)
            target = sync_requests.target_of(request)
            origin = {
                "trigger": "manual",
                "request_id": request_id,
                "requested_by": request["requested_by"],
            }
            try:
                outcome = sync_requests.execute(
                    db,
                    self.db_path,
                    request_id,
                    api_key=self.api_key,
                    endpoint=self.endpoint,
                    settings=self.settings,
                    stop=self.stop,
                    # Staff asked for this one: wait for a CLI sync to end rather than drop it.
                    wait=True,
                    progress=self._progress(f"request {request_id}"),
                    on_start=lambda run_id: self._log_start(run_id, target, origin),
                )
            except NotWritable:
                raise
            except ArchiveSyncError as e:
                log.warning(
                    "request %d failed: %s",
                    request_id,
                    e,
                    extra={"fields": {"event": "request_failed", **origin}},
                )
                return
            if outcome is not None:
                self._log_end(outcome, target, origin)
        finally:
            with self._dispatched_lock:
                self._dispatched.discard(request_id)
