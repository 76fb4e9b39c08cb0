"""From what the daemon sees to what operators hear: events, their subjects, their ends.

The daemon reports each job's end, each missed schedule, each replication check, each OAuth
token check and its own fatal error; `Watcher` turns them into state changes (notify/state.py)
and sends one message per change. Every decision takes its time from the injected clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from archivesync.db import app_state
from archivesync.db.quota import DEFAULT, STATS
from archivesync.notify import state
from archivesync.notify.messages import (
    console_link,
    problem_message,
    recovered_message,
)
from archivesync.notify.send import Sender
from archivesync.timestamps import format_utc, parse_utc

log = logging.getLogger("archivesync.notify")

# A refresh token whose recorded expiry is this close is worth a message.
EXPIRY_WARNING = timedelta(days=2)
OAUTH_MODES = ("analytics", "transcripts")
STAFF_REQUESTS = "staff requests"


def quota_bucket(message: str | None) -> str:
    """Which bucket a quota_exhausted run ran out of, from its message."""
    return STATS if message and STATS in message else DEFAULT


def is_oauth_refusal(message: str | None) -> bool:
    """Whether a run's error says the OAuth grant was refused or revoked."""
    return bool(message) and "invalid_grant" in message


class Watcher:
    """Tells operators about problems and recoveries, once each (state in the database)."""

    def __init__(
        self,
        sender: Sender | None,
        db: Callable[[], Database],
        *,
        clock: Callable[[], datetime],
        public_url: str | None = None,
    ):
        self.sender = sender
        self._db = db
        self.clock = clock
        self.public_url = public_url

    def observe(
        self,
        event: str,
        subject: str | None,
        *,
        problem: bool,
        cause: str | None = None,
        run_id: int | None = None,
        request_id: int | None = None,
    ) -> bool:
        """Record one observation; sends a message if it is news. True if one was sent."""
        if self.sender is None:
            return False
        now = self.clock()
        stamp = format_utc(now)
        db = self._db()
        change = state.observe(
            db, event, subject, problem=problem, now=stamp, cause=cause, run_id=run_id
        )
        if change is None:
            return False
        link = console_link(self.console_url(db), request_id)
        if change.recovered:
            message = recovered_message(
                event,
                subject,
                run_id=run_id,
                console_url=link,
                since=parse_utc(change.since),
                now=now,
            )
        else:
            message = problem_message(
                event,
                subject,
                cause,
                run_id=run_id,
                console_url=link,
                since=parse_utc(change.since),
            )
        delivered = self.sender.send(message)
        state.mark_sent(db, change.key, stamp, delivered)
        log.info(
            "notified: %s",
            message.title,
            extra={"fields": {"event": "notified", "key": change.key, "delivered": delivered}},
        )
        return True

    def console_url(self, db: Database) -> str | None:
        """The daemon's own --public-url (or [notify] public_url), else what `serve` recorded.

        Read at each message: a console started later with --public-url needs no restart here.
        """
        return self.public_url or app_state.get(db, app_state.PUBLIC_URL)

    # --- what the daemon reports ------------------------------------------------------------

    def job_ended(self, job: str, mode: str | None, result) -> None:
        """A scheduled job or staff request ended (`result` is a worker.jobs.JobResult)."""
        outcome = result.outcome
        status = outcome.status if outcome else ("failed" if result.error else None)
        message = outcome.message if outcome else result.error
        run_id = outcome.run_id if outcome else None
        request_id = int(job.split()[-1]) if job.startswith("request ") else None
        if status == "interrupted" or status is None:
            return
        if status == "quota_exhausted":
            self.observe(
                "quota_exhausted",
                quota_bucket(message),
                problem=True,
                cause=message,
                run_id=run_id,
                request_id=request_id,
            )
            return
        if is_oauth_refusal(message):
            self.observe(
                "oauth",
                "OAuth",
                problem=True,
                cause=message,
                run_id=run_id,
                request_id=request_id,
            )
            return
        failed = status != "ok"
        # Staff requests are one subject: each names a different target and never runs again,
        # so the next request that goes through is what ends the problem.
        subject = STAFF_REQUESTS if request_id is not None else job
        self.observe(
            "run_failed",
            subject,
            problem=failed,
            cause=message,
            run_id=run_id,
            request_id=request_id,
        )
        if not failed:
            # A run that spent units from a bucket again means that bucket's quota is back.
            if mode == "stats":
                self.observe("quota_exhausted", STATS, problem=False, run_id=run_id)
            elif mode != "analytics":
                self.observe("quota_exhausted", DEFAULT, problem=False, run_id=run_id)
            if mode in OAUTH_MODES:
                self.observe("oauth", "OAuth", problem=False, run_id=run_id)
        if not job.startswith("request "):
            self.observe("schedule_missed", job, problem=False, run_id=run_id)

    def job_missed(self, job: str, scheduled: datetime) -> None:
        """A scheduled run did not start within its grace time."""
        cause = f"予定時刻 {scheduled.strftime('%Y-%m-%d %H:%M %Z')} に開始できませんでした"
        self.observe("schedule_missed", job, problem=True, cause=cause)

    def replication_checked(self, data: dict, subject: str) -> None:
        """The replication section of status, as the daemon's periodic check saw it."""
        # A replica with no backup *yet* is a daemon that just started, not a stall.
        trouble = [w for w in data.get("warnings") or [] if "no backup yet" not in w]
        if data.get("state") != "on":
            trouble.insert(0, "Litestream is not running")
        self.observe(
            "replication", subject, problem=bool(trouble), cause="; ".join(trouble) or None
        )

    def token_checked(self, token_file: str | Path | None) -> None:
        """Warn once when the token file records a refresh-token expiry that is near."""
        expires = refresh_token_expiry(token_file)
        if expires is None:
            return
        left = expires - self.clock()
        soon = left <= EXPIRY_WARNING
        cause = f"期限 {format_utc(expires)}（残り {max(left.total_seconds(), 0) / 3600:.0f} 時間）"
        self.observe("oauth_expiring", "OAuth", problem=soon, cause=cause if soon else None)

    def daemon_failed(self, error: BaseException, subject: str) -> None:
        """The daemon is stopping on an error; sent even if the database cannot record it."""
        cause = str(error) or type(error).__name__
        try:
            self.observe("daemon_error", subject, problem=True, cause=cause)
        except Exception:  # the database may be the problem: tell anyway, once per process
            if self.sender is not None:
                self.sender.send(
                    problem_message(
                        "daemon_error",
                        subject,
                        cause,
                        run_id=None,
                        console_url=console_link(self.public_url),
                        since=self.clock(),
                    )
                )

    def daemon_started(self, subject: str) -> None:
        """A daemon started: a previous fatal stop is over."""
        self.observe("daemon_error", subject, problem=False)


def refresh_token_expiry(token_file: str | Path | None) -> datetime | None:
    """`refresh_token_expires_at` from an authorized-user JSON file, if it records one.

    Written when Google's token answer says `refresh_token_expires_in` (time-limited refresh
    tokens: apps left in "Testing" get 7 days): by `archivesync auth`, and at each refresh
    (oauth.ensure_fresh), so older token files learn it at their next run.
    """
    if not token_file:
        return None
    try:
        value = json.loads(Path(token_file).read_text(encoding="utf-8")).get(
            "refresh_token_expires_at"
        )
        return parse_utc(value) if isinstance(value, str) else None
    except (OSError, ValueError, AttributeError):
        return None
