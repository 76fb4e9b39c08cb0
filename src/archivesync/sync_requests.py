"""Staff resync requests: the `sync_requests` queue the daemon serves.

A request goes queued -> running -> done | failed | quota_exhausted | interrupted. Whoever runs
it (the daemon, or `resync` itself when no daemon is alive) first claims it with a conditional
UPDATE, so two processes can never both run one request. `execute` is the one place a request
becomes a `run_sync` call, for the daemon and the CLI alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from . import sync as sync_mod
from .errors import EXIT_ERROR, EXIT_OK, EXIT_QUOTA, ArchiveSyncError, Interrupted

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "quota_exhausted", "interrupted")
# sync_runs.status -> sync_requests.status
STATUS_OF_RUN = {
    "ok": "done",
    "failed": "failed",
    "quota_exhausted": "quota_exhausted",
    "interrupted": "interrupted",
}
ABANDONED = "the process running this request ended before it finished"


def describe(target_kind: str, target_id: str, mode: str) -> str:
    if target_kind == "channel":
        return f"{mode} sync of channel {target_id}"
    if target_kind == "playlist":
        return f"resync of playlist {target_id}"
    return f"resync of video(s) {target_id}"


def request_fields(target: sync_mod.Target) -> dict:
    """The target_kind, target_id and mode columns of a request for `target`."""
    if target.kind == "channel":
        mode = "full" if target.full else "incremental"
    elif target.kind == "playlist":
        mode = "playlist"
    else:
        mode = "videos"
    return {"target_kind": target.kind, "target_id": ",".join(target.ids), "mode": mode}


def target_of(request: dict) -> sync_mod.Target:
    kind, ids = request["target_kind"], request["target_id"].split(",")
    return sync_mod.Target(kind, ids, full=kind == "channel" and request["mode"] == "full")


def enqueue(db: Database, target: sync_mod.Target, requested_by: str | None) -> int:
    row = {
        "requested_at": sync_mod.utcnow(),
        "requested_by": requested_by,
        "status": "queued",
        **request_fields(target),
    }
    return db["sync_requests"].insert(row).last_pk


def get(db: Database, request_id: int) -> dict | None:
    return next(db.query("SELECT * FROM sync_requests WHERE id = ?", [request_id]), None)


def queued_ids(db: Database) -> list[int]:
    return [
        r["id"]
        for r in db.query("SELECT id FROM sync_requests WHERE status = 'queued' ORDER BY id")
    ]


def claim(db: Database, request_id: int) -> bool:
    """Take a queued request for running; False if someone else already has it."""
    cursor = db.execute(
        "UPDATE sync_requests SET status = 'running', started_at = ? "
        "WHERE id = ? AND status = 'queued'",
        [sync_mod.utcnow(), request_id],
    )
    return cursor.rowcount == 1


def requeue(db: Database, request_id: int) -> None:
    db.execute(
        "UPDATE sync_requests SET status = 'queued', started_at = NULL, run_id = NULL "
        "WHERE id = ? AND status = 'running'",
        [request_id],
    )


def _finish(db: Database, request_id: int, status: str, error: str | None, code: int) -> None:
    db["sync_requests"].update(
        request_id,
        {"status": status, "error": error, "exit_code": code, "finished_at": sync_mod.utcnow()},
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
            run = next(db.query("SELECT * FROM sync_runs WHERE id = ?", [request["run_id"]]), None)
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
    settings: sync_mod.Settings,
    stop: threading.Event,
    wait: bool,
    progress: sync_mod.Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> sync_mod.Outcome | None:
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
        outcome = sync_mod.run_sync(
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
