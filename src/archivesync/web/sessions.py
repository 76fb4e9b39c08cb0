"""Console sessions: a signed cookie holding a random token, checked against `sessions`.

The cookie is Datasette's `ds_actor` (so Datasette's own pages know who is signed in), signed
with the server's secret; besides the actor it carries a random token whose SHA-256 names a
row of the `sessions` table (db/audit.py). A session is valid while its row is open, its user
is still in the users file with the same password (`credential`), it has seen a request within
the idle time and it is younger than the maximum age. `check` is asked once per request by the
console's ASGI wrapper (web/guard.py); a cookie that fails it is dropped before Datasette sees
it, and an idle or too old session is ended and audited as `session_expired`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature

from archivesync.db import audit
from archivesync.db.schema import open_db
from archivesync.timestamps import parse_utc
from archivesync.web import users as users_mod

COOKIE = "ds_actor"
IDLE_MINUTES = 30
MAX_AGE = timedelta(hours=12)
# A session's last_seen_at is written at most this often: a page and its JSON polls do not
# each cost a write, and idle expiry is still exact to within a minute.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass
class Session:
    """A checked session: who, and the token that names it."""

    user: dict
    token: str


@dataclass
class Ended:
    """A session that was open until this request, and why it ended: "idle", "max_age",
    "user_removed" or "password_changed" (the console tells the person)."""

    reason: str


def credential(user: dict) -> str:
    """A fingerprint of the user's password hash: a new password changes it."""
    return hashlib.sha256(user["hash"].encode()).hexdigest()[:32]


def cookie_value(datasette, user_id: str, token: str) -> str:
    """The signed ds_actor cookie of a session."""
    return datasette.sign({"a": {"id": user_id}, "t": token}, "actor")


def start(db_path: str, user_id: str, user: dict, now: datetime, remote_addr=None) -> str:
    """A new session for `user_id` (already authenticated); returns its token."""
    token = secrets.token_urlsafe(32)
    db = open_db(db_path, migrate=False)
    try:
        with db.conn:
            audit.start_session(db, token, user_id, credential(user), now, remote_addr)
    finally:
        db.close()
    return token


def token_of(datasette, cookie: str | None) -> tuple[str, str] | None:
    """(user id, token) from a ds_actor cookie, or None if it is not one of ours."""
    if not cookie:
        return None
    try:
        decoded = datasette.unsign(cookie, "actor")
    except BadSignature:
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("t"), str):
        return None
    actor = decoded.get("a")
    if not isinstance(actor, dict) or not isinstance(actor.get("id"), str):
        return None
    return actor["id"], decoded["t"]


def check(
    db_path: str,
    users_file: str,
    user_id: str,
    token: str,
    now: datetime,
    idle: timedelta,
    remote_addr: str | None = None,
) -> Session | Ended | None:
    """The session if it is still valid; Ended if it ended just now (an expired one is also
    audited); None if the cookie names no open session."""
    try:
        users = users_mod.load(users_file)
    except users_mod.UsersFileError:
        return None
    db = open_db(db_path, migrate=False)
    try:
        row = audit.get_session(db, token, ended=True)
        if row is None or row["user"] != user_id:
            return None
        if row["ended_at"] is not None:
            # Ended by another request (a staff member's reset, `users remove`, a logout).
            return Ended(row["end_reason"])
        user = users.get(user_id)
        if user is None or credential(user) != row["credential"]:
            with db.conn:
                reason = "user_removed" if user is None else "password_changed"
                audit.end_session(db, token, now, reason)
            return Ended(reason)
        if now - parse_utc(row["last_seen_at"]) > idle:
            reason = "idle"
        elif now - parse_utc(row["created_at"]) > MAX_AGE:
            reason = "max_age"
        else:
            if now - parse_utc(row["last_seen_at"]) >= TOUCH_EVERY:
                with db.conn:
                    audit.touch_session(db, token, now)
            return Session(users_mod.actor(user_id, user), token)
        with db.conn:
            audit.end_session(db, token, now, reason)
            audit.record(
                db,
                "session_expired",
                at=now,
                actor=user_id,
                target=user_id,
                outcome=reason,
                remote_addr=remote_addr,
            )
        return Ended(reason)
    finally:
        db.close()


def end(db_path: str, token: str, now: datetime, reason: str = "logout") -> None:
    """End one session (logout)."""
    db = open_db(db_path, migrate=False)
    try:
        with db.conn:
            audit.end_session(db, token, now, reason)
    finally:
        db.close()
