"""Staff resync requests: the `sync_requests` queue the daemon serves.

A request goes queued -> running -> done | failed | quota_exhausted | interrupted. Whoever runs
it (the daemon, or `resync` itself when no daemon is alive) first claims it with a conditional
UPDATE, so two processes can never both run one request. `execute` is the one place a request
becomes a `run_sync` call, for the daemon and the CLI alike.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from archivesync.db import audit
from archivesync.db.heartbeat import STALE_AFTER_SECONDS, daemon_alive, read_heartbeat
from archivesync.db.runs import FIGURES, get_run
from archivesync.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_QUOTA,
    ArchiveSyncError,
    DaemonGone,
    Interrupted,
)
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Outcome, Progress, Settings, Target
from archivesync.sync.targets import describe, request_fields, target_of
from archivesync.timestamps import format_utc, utcnow

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "quota_exhausted", "interrupted", "cancelled")
# sync_runs.status -> sync_requests.status
STATUS_OF_RUN = {
    "ok": "done",
    "failed": "failed",
    "quota_exhausted": "quota_exhausted",
    "interrupted": "interrupted",
}
ABANDONED = "the process running this request ended before it finished"


# --- what may be queued: one rule for the console and `archivesync resync` ------------------

# One videos.list call takes 50 ids: a request is at most one call's worth.
MAX_VIDEO_IDS = 50
REQUESTS_PER_HOUR = 20
_PAGE = 50


class RequestRefused(ArchiveSyncError):
    """A resync request the queue does not take; `message_ja` says why for the console."""

    def __init__(self, message: str, message_ja: str):
        super().__init__(message)
        self.message_ja = message_ja


def _pages(n: int | None) -> int:
    return max(1, -(-(n or 0) // _PAGE))


def estimate_units(db: Database, target: Target) -> int:
    """Roughly the quota units a request for `target` costs (1 unit per API page)."""
    if target.kind == "videos":
        return _pages(len(target.ids))
    if target.kind == "playlist":
        items = next(
            db.query("SELECT item_count FROM playlists WHERE id = ?", [target.ids[0]]), {}
        ).get("item_count")
        return 1 + 2 * _pages(items)  # the playlist, its item pages, their videos
    channel_id = target.ids[0]
    if not target.full:
        return 3  # the channel, the newest uploads page, its videos
    videos = db.execute(
        "SELECT count(*) FROM videos WHERE channel_id = ?", [channel_id]
    ).fetchone()[0]
    playlist_items = sum(
        _pages(r["item_count"])
        for r in db.query("SELECT item_count FROM playlists WHERE channel_id = ?", [channel_id])
    )
    return 1 + 2 * _pages(videos) + playlist_items


def known_channels(db: Database) -> set[str]:
    """The channels the institute syncs: those in the index."""
    return {r["id"] for r in db.query("SELECT id FROM channels")}


def check_request(
    db: Database,
    target: Target,
    requested_by: str | None,
    now: datetime,
    *,
    channels: set[str] | None,
) -> None:
    """RequestRefused unless `target` may be queued for `requested_by` now.

    `channels`: the channels (and so their playlists) that may be asked for; None: any (the
    CLI, whose users may run `archivesync sync` anyway). Ids per request and requests per
    person per hour are capped for everyone.
    """
    if target.kind == "videos" and len(target.ids) > MAX_VIDEO_IDS:
        raise RequestRefused(
            f"at most {MAX_VIDEO_IDS} videos per request ({len(target.ids)} given)",
            f"1 回の依頼は動画 {MAX_VIDEO_IDS} 本までです ({len(target.ids)} 本あります)。",
        )
    if channels is not None and target.kind == "channel" and target.ids[0] not in channels:
        raise RequestRefused(
            f"channel {target.ids[0]} is not one this index syncs",
            "このインデックスが同期しているチャンネルではありません。",
        )
    if channels is not None and target.kind == "playlist":
        row = next(db.query("SELECT channel_id FROM playlists WHERE id = ?", [target.ids[0]]), None)
        if row is None or row["channel_id"] not in channels:
            raise RequestRefused(
                f"playlist {target.ids[0]} is not one of the synced channels' playlists",
                "同期しているチャンネルの再生リストではありません。",
            )
    if requested_by:
        since = format_utc(now - timedelta(hours=1))
        recent = db.execute(
            "SELECT count(*) FROM sync_requests WHERE requested_by = ? AND requested_at >= ?",
            [requested_by, since],
        ).fetchone()[0]
        if recent >= REQUESTS_PER_HOUR:
            raise RequestRefused(
                f"{requested_by} has asked for {recent} resyncs in the last hour "
                f"(at most {REQUESTS_PER_HOUR}); try again later",
                f"この 1 時間の依頼が上限 ({REQUESTS_PER_HOUR} 件) に達しました。"
                "しばらくしてから依頼してください。",
            )


def waiting_twin(db: Database, target: Target) -> int | None:
    """The id of a queued request asking for exactly `target`, if one is waiting."""
    fields = request_fields(target)
    row = next(
        db.query(
            "SELECT id FROM sync_requests WHERE status = 'queued' AND target_kind = ? "
            "AND target_id = ? AND mode = ? ORDER BY id LIMIT 1",
            [fields["target_kind"], fields["target_id"], fields["mode"]],
        ),
        None,
    )
    return row["id"] if row else None


def submit(
    db: Database,
    target: Target,
    requested_by: str | None,
    *,
    actor: str,
    now: datetime,
    channels: set[str] | None,
    remote_addr: str | None = None,
) -> tuple[int, bool]:
    """Queue `target` under the rules above and audit it: (request id, merged into a twin)."""
    with db.conn:
        check_request(db, target, requested_by, now, channels=channels)
        twin = waiting_twin(db, target)
        request_id = twin if twin is not None else enqueue(db, target, requested_by, now)
        detail = describe(**request_fields(target))
        if requested_by and requested_by != actor:
            detail += f" for {requested_by}"
        audit.record(
            db,
            "resync_queued",
            at=now,
            actor=actor,
            target=str(request_id),
            outcome="merged" if twin is not None else "ok",
            remote_addr=remote_addr,
            detail=f"{detail}; about {estimate_units(db, target)} units",
        )
    return request_id, twin is not None


def enqueue(
    db: Database, target: Target, requested_by: str | None, now: datetime | None = None
) -> int:
    """Queue a request for `target`; returns its id."""
    row = {
        "requested_at": format_utc(now) if now else utcnow(),
        "requested_by": requested_by,
        "status": "queued",
        **request_fields(target),
    }
    return db["sync_requests"].insert(row).last_pk


def cancel(
    db: Database, request_id: int, *, actor: str, now: datetime, remote_addr: str | None = None
) -> bool:
    """Take a request out of the queue before it runs, and audit it; False if it was not
    waiting (already running or finished)."""
    with db.conn:
        cursor = db.execute(
            "UPDATE sync_requests SET status = 'cancelled', finished_at = ?, error = ? "
            "WHERE id = ? AND status = 'queued'",
            [format_utc(now), f"cancelled by {actor}", request_id],
        )
        done = cursor.rowcount == 1
        audit.record(
            db,
            "resync_cancelled",
            at=now,
            actor=actor,
            target=str(request_id),
            outcome="ok" if done else "not_queued",
            remote_addr=remote_addr,
        )
    return done


def get(db: Database, request_id: int) -> dict | None:
    """A request's row, or None."""
    return next(db.query("SELECT * FROM sync_requests WHERE id = ?", [request_id]), None)


def queued_ids(db: Database) -> list[int]:
    """The ids of queued requests, in the order they will run."""
    return [
        r["id"]
        for r in db.query("SELECT id FROM sync_requests WHERE status = 'queued' ORDER BY id")
    ]


def claim(db: Database, request_id: int) -> bool:
    """Take a queued request for running; False if someone else already has it."""
    cursor = db.execute(
        "UPDATE sync_requests SET status = 'running', started_at = ? "
        "WHERE id = ? AND status = 'queued'",
        [utcnow(), request_id],
    )
    return cursor.rowcount == 1


def requeue(db: Database, request_id: int) -> None:
    """Put a request that was running back in the queue."""
    db.execute(
        "UPDATE sync_requests SET status = 'queued', started_at = NULL, run_id = NULL "
        "WHERE id = ? AND status = 'running'",
        [request_id],
    )


def _finish(db: Database, request_id: int, status: str, error: str | None, code: int) -> None:
    db["sync_requests"].update(
        request_id,
        {"status": status, "error": error, "exit_code": code, "finished_at": utcnow()},
    )


def recover_abandoned(db: Database) -> int:
    """Settle `running` requests whose runner died; call only while holding the sync lease.

    With the lease in hand nobody else is syncing, so a request still marked running either
    has a finished run (its runner died just before recording the result) or no live run.
    """
    fixed = 0
    for request in list(db.query("SELECT * FROM sync_requests WHERE status = 'running'")):
        run = None
        if request["run_id"] is not None:
            run = get_run(db, request["run_id"])
        if run is not None and run["status"] in STATUS_OF_RUN:
            status, error = STATUS_OF_RUN[run["status"]], run["error"]
            code = {"ok": EXIT_OK, "interrupted": EXIT_OK, "quota_exhausted": EXIT_QUOTA}.get(
                run["status"], EXIT_ERROR
            )
        else:
            status, error, code = "interrupted", ABANDONED, EXIT_ERROR
        _finish(db, request["id"], status, error, code)
        fixed += 1
    return fixed


def execute(
    db: Database,
    db_path: str | Path,
    request_id: int,
    *,
    api_key: str,
    endpoint: str | None,
    settings: Settings,
    stop: threading.Event,
    wait: bool,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Outcome | None:
    """Run a request already claimed (status running) and record how it ended.

    Returns the run's outcome; None if `stop` came while waiting for the database, in which
    case the request is queued again for whoever serves the queue next.
    """
    request = get(db, request_id)
    target = target_of(request)

    def started(run_id: int) -> None:
        db["sync_requests"].update(request_id, {"run_id": run_id})
        if on_start:
            on_start(run_id)

    try:
        outcome = run_sync(
            db_path,
            target,
            api_key=api_key,
            endpoint=endpoint,
            trigger="manual",
            settings=settings,
            stop=stop,
            wait=wait,
            progress=progress,
            on_start=started,
        )
    except Interrupted:
        requeue(db, request_id)
        return None
    except ArchiveSyncError as e:
        # Set-up failures (lease held, bad endpoint or database) never made a run.
        _finish(db, request_id, "failed", str(e), e.exit_code)
        raise
    except BaseException:
        _finish(db, request_id, "failed", "unexpected error; see the log", EXIT_ERROR)
        raise
    _finish(
        db, request_id, STATUS_OF_RUN[outcome.status], outcome.message or None, outcome.exit_code
    )
    return outcome


RUN_STATUS_OF_REQUEST = {v: k for k, v in STATUS_OF_RUN.items()}
FOLLOW_POLL_SECONDS = 0.5


def run_figures(db: Database, run_id: int | None) -> dict | None:
    """The figures of a run as it stands (None if there is no such run)."""
    if run_id is None:
        return None
    run = get_run(db, run_id)
    return {k: run[k] for k in FIGURES} if run else None


def outcome_of(db: Database, request: dict) -> Outcome:
    """The outcome of a finished request, read back from its row and its run."""
    figures = {}
    status = RUN_STATUS_OF_REQUEST.get(request["status"], "failed")
    if request["run_id"] is not None:
        run = get_run(db, request["run_id"])
        if run:
            figures = {k: run[k] for k in FIGURES}
            status = run["status"]
    return Outcome(
        request["run_id"], status, request["exit_code"] or 0, request["error"] or "", figures
    )


def queue_position(db: Database, request_id: int) -> int | None:
    """1 for the next request the daemon takes; None once the request left the queue."""
    ids = queued_ids(db)
    return ids.index(request_id) + 1 if request_id in ids else None


def follow(
    db: Database,
    request_id: int,
    *,
    stop: threading.Event,
    on_progress: Callable[[dict], None] | None = None,
    take_over: Callable[[int], None] | None = None,
    poll: float = FOLLOW_POLL_SECONDS,
) -> dict | None:
    """Follow a request to its end; returns its finished row, or None if `stop` came first.

    If the daemon goes away while the request is still queued, the request is claimed and
    `take_over(request_id)` runs it here. If it goes away while running the request, a killed
    daemon never records the run: DaemonGone after `STALE_AFTER_SECONDS`.
    """
    lost_at = None
    while True:
        request = get(db, request_id)
        if request["status"] in FINISHED:
            return request
        alive = daemon_alive(read_heartbeat(db))
        if request["status"] == "queued" and not alive and take_over and claim(db, request_id):
            log.warning("the daemon stopped before taking request %d: running it here", request_id)
            take_over(request_id)
            request = get(db, request_id)
            if request["status"] in FINISHED or stop.is_set():
                return request if request["status"] in FINISHED else None
            continue
        figures = run_figures(db, request["run_id"])
        if figures is not None and on_progress:
            on_progress(figures)
        # A daemon stopping cleanly records its run within seconds; a killed one never will.
        lost_at = (lost_at or time.monotonic()) if not alive else None
        if lost_at is not None and time.monotonic() - lost_at > STALE_AFTER_SECONDS:
            raise DaemonGone(
                f"the daemon went away while running request {request_id}; see `archivesync status`"
            )
        if stop.wait(poll):
            return None
