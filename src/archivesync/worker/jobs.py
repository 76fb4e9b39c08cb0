"""What the daemon's jobs do: run one scheduled job or one staff request, and log it.

The scheduler (worker/daemon.py) decides when; this module knows the kinds of runs (metadata
sync, statistics, analytics, transcripts, staff resyncs) and how their start and end are
logged. Each returns a `JobResult`, which the daemon hands to the notifier.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from archivesync.analytics.run import MODE as ANALYTICS_MODE
from archivesync.analytics.run import run_analytics
from archivesync.errors import ArchiveSyncError, LeaseHeld, NotWritable
from archivesync.reporting import figures_sentence, progress_reporter
from archivesync.stats.run import MODE as STATS_MODE
from archivesync.stats.run import run_stats
from archivesync.sync import requests as sync_requests
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Outcome, Settings, Target
from archivesync.sync.targets import target_of
from archivesync.worker.schedules import JobSpec

log = logging.getLogger("archivesync.daemon")

PROGRESS_LOG_SECONDS = 30.0


@dataclass
class JobResult:
    """How one job or request ended: its run's outcome, or the error that kept it from running."""

    job: str  # the schedule's job id, or "request N"
    mode: str | None = None  # the job's or request's mode (incremental, stats, analytics...)
    outcome: Outcome | None = None
    error: str | None = None  # an ArchiveSyncError raised before a run was recorded

    @property
    def failed(self) -> bool:
        """The job did not do its work (a failed run, or no run at all)."""
        if self.outcome is None:
            return self.error is not None
        return self.outcome.status not in ("ok", "interrupted")


class JobRunner:
    """Runs the daemon's jobs against one database, stopping when `stop` is set."""

    def __init__(
        self,
        db_path: str,
        *,
        api_key: str,
        endpoint: str | None,
        settings: Settings,
        stop: threading.Event,
        db: Callable[[], Database],
    ):
        self.db_path = db_path
        self.api_key = api_key
        self.endpoint = endpoint
        self.settings = settings
        self.stop = stop
        self._db = db

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

    def _run(self, spec: JobSpec, target: Target, origin: dict) -> Outcome:
        """The run a job's mode asks for; OAuth tokens come from ARCHIVESYNC_OAUTH_TOKEN_FILE."""
        common = {
            "stop": self.stop,
            "progress": self._progress(spec.id),
            "on_start": lambda run_id: self._log_start(run_id, target, origin),
        }
        if spec.mode == ANALYTICS_MODE:
            return run_analytics(
                self.db_path, spec.channel, endpoint=self.endpoint, trigger="schedule", **common
            )
        if spec.mode == STATS_MODE:
            return run_stats(
                self.db_path,
                spec.channel,
                api_key=self.api_key,
                endpoint=self.endpoint,
                settings=self.settings,
                trigger="schedule",
                **common,
            )
        if spec.mode == "transcripts":
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
                **common,
            )
        return run_sync(
            self.db_path,
            target,
            api_key=self.api_key,
            endpoint=self.endpoint,
            trigger="schedule",
            settings=self.settings,
            wait=False,
            **common,
        )

    def scheduled(self, spec: JobSpec) -> JobResult | None:
        """Run a scheduled job; None when it did not run (stopping, or a CLI sync is going)."""
        if self.stop.is_set():
            return None  # queued behind the last run when the signal came
        target = Target("channel", [spec.channel], full=spec.full)
        origin = {"trigger": "schedule", "job": spec.id}
        try:
            outcome = self._run(spec, target, origin)
        except LeaseHeld as e:
            # A CLI sync has the database; this job's next turn will catch up.
            log.warning(
                "job %s skipped: %s",
                spec.id,
                e,
                extra={"fields": {"event": "job_skipped", "job": spec.id, "reason": "lease"}},
            )
            return None
        except NotWritable:
            raise
        except ArchiveSyncError as e:
            log.error(
                "job %s could not run: %s",
                spec.id,
                e,
                extra={"fields": {"event": "job_error", "job": spec.id}},
            )
            return JobResult(spec.id, spec.mode, error=str(e))
        self._log_end(outcome, target, origin)
        return JobResult(spec.id, spec.mode, outcome)

    def request(self, request_id: int) -> JobResult | None:
        """Run a staff request the daemon picked up; None when it is not ours to run now."""
        if self.stop.is_set():
            return None  # stays queued for the next daemon
        db = self._db()
        if not sync_requests.claim(db, request_id):
            return None  # a `resync --wait` whose daemon seemed gone took it over
        request = sync_requests.get(db, request_id)
        target = target_of(request)
        label = f"request {request_id}"
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
                progress=self._progress(label),
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
            return JobResult(label, request["mode"], error=str(e))
        if outcome is None:
            return None
        self._log_end(outcome, target, origin)
        return JobResult(label, request["mode"], outcome)
