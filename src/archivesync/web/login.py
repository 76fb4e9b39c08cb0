"""Logging in and out of the console, and the rules that make guessing passwords slow.

- A login id that failed `LOCK_AFTER` times within `LOCK_WINDOW` is locked for `LOCK_FOR`
  from the last of those failures: even the right password is refused, with a Japanese message
  saying until when. A successful login clears the count.
- An address with more than `ADDRESS_FREE_FAILURES` failures within `LOCK_WINDOW` (whatever
  names it tried) must wait before its next attempt, twice as long after each further failure
  (up to `ADDRESS_MAX_WAIT`): 429 with Retry-After until then.

Both are counted from the audit trail (`login_failed` rows), so they hold across restarts and
for every process serving the same index. Every attempt is audited; never its password.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import datetime, timedelta

from datasette.utils.asgi import Response

from archivesync.db import audit
from archivesync.db.schema import open_db
from archivesync.errors import ArchiveSyncError
from archivesync.timestamps import parse_utc
from archivesync.web import access, sessions
from archivesync.web import users as users_mod
from archivesync.web.access import SESSION_KEY, config
from archivesync.web.respond import render
from archivesync.web.text import ENDED_LABELS, jst

LOCK_AFTER = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
ADDRESS_FREE_FAILURES = 10
ADDRESS_MAX_WAIT = timedelta(minutes=5)


def locked_until(db, name: str, now: datetime) -> datetime | None:
    """Until when `name` is locked (LOCK_AFTER failures within LOCK_WINDOW), or None."""
    since = now - LOCK_WINDOW - LOCK_FOR
    last_ok = list(audit.times_of(db, "login", since, target=name))
    if last_ok:
        since = parse_utc(last_ok[-1])
    failures = [
        parse_utc(t)
        for t in audit.times_of(db, "login_failed", since, target=name, outcome="bad_password")
    ]
    until = None
    for first, last in zip(failures, failures[LOCK_AFTER - 1 :], strict=False):
        if last - first <= LOCK_WINDOW:
            until = last + LOCK_FOR
    return until if until and until > now else None


def address_wait(db, remote_addr: str | None, now: datetime) -> timedelta | None:
    """How long `remote_addr` must still wait before trying again, or None."""
    if not remote_addr:
        return None
    failures = [
        parse_utc(t)
        for t in audit.times_of(
            db, "login_failed", now - LOCK_WINDOW, remote_addr=remote_addr, outcome="bad_password"
        )
    ]
    extra = len(failures) - ADDRESS_FREE_FAILURES
    if extra < 0:
        return None
    wait = min(timedelta(seconds=2**extra), ADDRESS_MAX_WAIT)
    left = failures[-1] + wait - now
    return left if left > timedelta(0) else None


def _audit_name(name: str) -> str:
    # What was typed as a user name goes in the trail only if it could be one (a password
    # typed into the wrong field must not be kept).
    try:
        return users_mod.check_name(name)
    except users_mod.UsersFileError:
        return "(invalid name)"


def _failed(db, target: str, now: datetime, remote_addr, outcome: str, detail=None) -> None:
    with db.conn:
        audit.record(
            db,
            "login_failed",
            at=now,
            actor=None,
            target=target,
            outcome=outcome,
            remote_addr=remote_addr,
            detail=detail,
        )


def is_locked(db_path: str, name: str, now: datetime) -> datetime | None:
    """`locked_until` on the index at `db_path` (for forms that ask for a password again)."""
    db = open_db(db_path, migrate=False)
    try:
        return locked_until(db, name, now)
    finally:
        db.close()


def record_failure(db_path: str, name: str, now: datetime, remote_addr, detail: str) -> None:
    """Audit a wrong password for `name` typed elsewhere than the login form (`detail` says
    where): it counts towards the lockout like a failed login."""
    db = open_db(db_path, migrate=False)
    try:
        _failed(db, _audit_name(name), now, remote_addr, "bad_password", detail)
    finally:
        db.close()


def attempt(cfg: dict, name: str, password: str, now: datetime, remote_addr: str | None):
    """Try to log in: ("ok", actor, token), ("bad"|"locked"|"slowed", None, until or wait)."""
    db = open_db(cfg["db_path"], migrate=False)
    try:
        target = _audit_name(name)

        def failed(outcome: str) -> None:
            _failed(db, target, now, remote_addr, outcome)

        wait = address_wait(db, remote_addr, now)
        if wait is not None:
            failed("slowed")
            return "slowed", None, wait
        until = locked_until(db, target, now)
        if until is not None:
            failed("locked")
            return "locked", None, until
        try:
            users = users_mod.load(cfg["users_file"])
        except users_mod.UsersFileError:
            users = {}
        actor = users_mod.authenticate(users, name, password)
        if actor is None:
            failed("bad_password")
            until = locked_until(db, target, now)
            return ("locked", None, until) if until else ("bad", None, None)
        token = sessions.start(cfg["db_path"], name, users[name], now, remote_addr)
        with db.conn:
            audit.record(db, "login", at=now, actor=name, target=name, remote_addr=remote_addr)
        return "ok", actor, token
    finally:
        db.close()


_SAFE_PATH = re.compile(r"^/(?![/\\])[\x21-\x7e]*$")


def safe_next(next_path: str | None, home: str = "/") -> str:
    """Where to go after login: a path on this site, else `home` (the console's own root).

    Browsers read `/\\host`, `/\t/host` and `//host` as another host, and a CR or LF would
    split the header: only a path of visible ASCII, with no backslash, starting with one "/".
    """
    if next_path and _SAFE_PATH.match(next_path) and "\\" not in next_path:
        return next_path
    return home


def set_session_cookie(response, datasette, request, user_id: str, token: str) -> None:
    """Give the browser the session's cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        sessions.COOKIE,
        sessions.cookie_value(datasette, user_id, token),
        httponly=True,
        samesite="lax",
        secure=request.scheme == "https",
    )


def remote_addr(request) -> str | None:
    """The client's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    client = request.scope.get("client")
    return client[0] if client else None


async def login(request, datasette):
    """GET: the login form. POST: check the password, start a session, set its cookie."""
    cfg = config(datasette)
    home = datasette.urls.instance()
    next_path = safe_next(request.args.get("next"), home)
    if not cfg.get("users_file"):
        return await render(
            datasette, request, "login.html", {"disabled": True, "next": next_path}, 404
        )
    error, username, status, headers = None, "", 200, {}
    if request.method == "POST":
        form = await request.post_vars()
        next_path = safe_next(form.get("next") or next_path, home)
        username = (form.get("username") or "")[:64]
        try:
            result, actor, extra = await asyncio.to_thread(
                attempt,
                cfg,
                username,
                form.get("password") or "",
                access.now(datasette),
                remote_addr(request),
            )
        except (ArchiveSyncError, sqlite3.Error):
            # No session and no audit row can be written: nobody signs in meanwhile.
            result, actor, extra = "unavailable", None, None
        if result == "ok":
            response = Response.redirect(next_path)
            set_session_cookie(response, datasette, request, actor["id"], extra)
            return response
        status = 401
        if result == "locked":
            error = (
                f"ログインに続けて失敗したため、このユーザー名は {jst(extra)} まで"
                "ロックされています。その後にもう一度お試しください。"
            )
        elif result == "slowed":
            seconds = max(1, int(extra.total_seconds() + 0.999))
            error = f"失敗が続いたため、{seconds} 秒待ってからもう一度お試しください。"
            status, headers = 429, {"retry-after": str(seconds)}
        elif result == "unavailable":
            error = (
                "いまはログインを記録できないため、ログインできません。運用担当に連絡してください。"
            )
            status = 503
        else:
            error = "ユーザー名またはパスワードが違います。"
    context = {"error": error, "next": next_path, "username": username}
    if request.method != "POST" and request.args.get("ended") in ENDED_LABELS:
        # Sent here by access.login_redirect: why the person was signed out.
        context["session_ended"] = ENDED_LABELS[request.args["ended"]]
    response = await render(datasette, request, "login.html", context, status)
    response.headers.update(headers)
    return response


async def logout(request, datasette):
    """POST: end the session (the form carries the CSRF token)."""
    if request.method != "POST":
        return Response.redirect(datasette.urls.instance())
    session = request.scope.get(SESSION_KEY)
    if session is not None:
        cfg = config(datasette)
        at = access.now(datasette)

        def end():
            sessions.end(cfg["db_path"], session.token, at)
            db = open_db(cfg["db_path"], migrate=False)
            try:
                with db.conn:
                    user = session.user["id"]
                    audit.record(
                        db,
                        "logout",
                        at=at,
                        actor=user,
                        target=user,
                        remote_addr=remote_addr(request),
                    )
            finally:
                db.close()

        await asyncio.to_thread(end)
    response = Response.redirect(datasette.urls.instance())
    response.set_cookie(sessions.COOKIE, "", expires=0, max_age=0)
    return response
