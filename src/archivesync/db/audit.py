"""The audit trail (`audit_log`) and the console's sessions (`sessions`): who did what, when.

One row per event, written by the console and the CLI alike through `record`. A row names the
actor (a login id, or the OS user for the CLI), what was done to what, how it ended and from
which address; never a password, a token or a cookie. Times are UTC ISO 8601 with `Z`.

A session row is the server's side of a signed session cookie: the cookie carries a random
token, the row only its SHA-256 (`id`), so the table alone lets nobody in. Ending a session
(logout, password change, user removed, idle or too old) sets `ended_at`; a cookie whose row is
ended, missing or too old opens nothing.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Iterator
from datetime import datetime

from sqlite_utils import Database

from archivesync.timestamps import format_utc

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "resync_queued",
    "resync_cancelled",
    "user_added",
    "user_removed",
    "password_changed",
    "session_expired",
)


def create_tables(db: Database) -> None:
    """The audit_log and sessions tables (migration 0007)."""
    db.executescript(
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            target TEXT,
            outcome TEXT NOT NULL,
            remote_addr TEXT,
            detail TEXT
        );
        CREATE INDEX audit_log_action_target ON audit_log (action, target, at);
        CREATE INDEX audit_log_remote ON audit_log (remote_addr, action, at);
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            user TEXT NOT NULL,
            credential TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            ended_at TEXT,
            end_reason TEXT,
            remote_addr TEXT
        );
        CREATE INDEX sessions_user ON sessions (user, ended_at);
        """
    )


def os_user() -> str:
    """The operating-system user running this process: the actor of a CLI command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid with no passwd entry, as in some containers
        return f"uid {os.getuid()}"


def record(
    db: Database,
    action: str,
    *,
    at: datetime,
    actor: str | None,
    target: str | None = None,
    outcome: str = "ok",
    remote_addr: str | None = None,
    detail: str | None = None,
) -> int:
    """Append one event to the audit trail; returns its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    row = {
        "at": format_utc(at),
        "actor": actor,
        "action": action,
        "target": target,
        "outcome": outcome,
        "remote_addr": remote_addr,
        "detail": detail,
    }
    return db["audit_log"].insert(row).last_pk


def entries(
    db: Database, *, actor: str | None = None, action: str | None = None, limit: int = 500
) -> list[dict]:
    """The newest events first, optionally of one person (actor or target) and one action."""
    where, params = [], []
    if actor:
        where.append("(actor = ? OR target = ?)")
        params += [actor, actor]
    if action:
        where.append("action = ?")
        params.append(action)
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    return list(db.query(sql, [*params, limit]))


def times_of(
    db: Database, action: str, since: datetime, *, target=None, remote_addr=None, outcome=None
) -> Iterator[str]:
    """The `at` of events of `action` since `since` (for one target or address), oldest first."""
    sql = "SELECT at FROM audit_log WHERE action = ? AND at >= ?"
    params: list = [action, format_utc(since)]
    for column, value in (("target", target), ("remote_addr", remote_addr), ("outcome", outcome)):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    for row in db.query(sql + " ORDER BY at, id", params):
        yield row["at"]


# --- sessions ------------------------------------------------------------------------------


def token_id(token: str) -> str:
    """The sessions.id of a cookie's token (its SHA-256): the table never holds the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    db: Database, token: str, user: str, credential: str, at: datetime, remote_addr=None
) -> None:
    """Record a new session for `user`."""
    now = format_utc(at)
    db["sessions"].insert(
        {
            "id": token_id(token),
            "user": user,
            "credential": credential,
            "created_at": now,
            "last_seen_at": now,
            "remote_addr": remote_addr,
        }
    )


def get_session(db: Database, token: str, *, ended: bool = False) -> dict | None:
    """The open session of a cookie's token (or an ended one too, with `ended`), or None."""
    sql = "SELECT * FROM sessions WHERE id = ?" + ("" if ended else " AND ended_at IS NULL")
    return next(db.query(sql, [token_id(token)]), None)


def touch_session(db: Database, token: str, at: datetime) -> None:
    """Note activity on a session (idle expiry counts from here)."""
    db.execute(
        "UPDATE sessions SET last_seen_at = ? WHERE id = ?", [format_utc(at), token_id(token)]
    )


def end_session(db: Database, token: str, at: datetime, reason: str) -> None:
    """End one session."""
    db.execute(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
        [format_utc(at), reason, token_id(token)],
    )


def end_sessions_of(db: Database, user: str, at: datetime, reason: str) -> int:
    """End every open session of `user` (password changed, user removed); how many."""
    cursor = db.execute(
        "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE user = ? AND ended_at IS NULL",
        [format_utc(at), reason, user],
    )
    return cursor.rowcount


# A change to the users file that must end the person's open sessions, and the reason given.
ENDS_SESSIONS = {"user_removed": "user_removed", "password_changed": "password_changed"}


def record_user_change(
    db: Database,
    action: str,
    *,
    at: datetime,
    actor: str | None,
    target: str,
    remote_addr: str | None = None,
) -> int:
    """Audit a change to the users file (from the CLI or the console); a removal or a new
    password also ends the person's open sessions. Returns the audit row's id."""
    reason = ENDS_SESSIONS.get(action)
    ended = end_sessions_of(db, target, at, reason) if reason else 0
    return record(
        db,
        action,
        at=at,
        actor=actor,
        target=target,
        remote_addr=remote_addr,
        detail=f"{ended} open session(s) ended" if ended else None,
    )
