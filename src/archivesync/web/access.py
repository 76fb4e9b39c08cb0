"""Who is asking and what they may do: the console's settings, the signed-in user, roles.

Checked on every request against the users file, so a removed user or a changed role takes
effect at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from datasette.utils.asgi import Response

from archivesync.web import users as users_mod

# Where web/guard.py leaves the checked session (web/sessions.py) of a request.
SESSION_KEY = "archivesync.session"
# ... and why a session that came with the request ended just now (sessions.Ended.reason).
ENDED_KEY = "archivesync.session_ended"


def config(datasette) -> dict:
    """The console's settings, as `make_datasette` put them on the Datasette instance."""
    # Not in the metadata: /-/metadata.json would show the users file's and database's paths.
    return getattr(datasette, "archivesync_console", None) or {}


def now(datasette) -> datetime:
    """The console's clock (tests give `make_datasette` their own)."""
    clock = config(datasette).get("clock")
    return clock() if clock else datetime.now(UTC)


def database_name(datasette) -> str:
    """The name Datasette serves the index under (the file's stem)."""
    return next(iter(datasette.databases.keys() - {"_internal"}))


def current_user(datasette, request) -> dict | None:
    """The logged-in user {"id", "role", "name"}: the session web/guard.py checked.

    The users file is read again on every request: a removed user's session ends at once, a
    changed role takes effect at once.
    """
    session = request.scope.get(SESSION_KEY)
    return session.user if session else None


def user_of(datasette, actor: dict | None) -> dict | None:
    """The user {"id", "role", "name"} Datasette's `actor` is, per the users file, or None."""
    users_file = config(datasette).get("users_file")
    if not users_file or not actor or not isinstance(actor.get("id"), str):
        return None
    try:
        user = users_mod.load(users_file).get(actor["id"])
    except users_mod.UsersFileError:
        return None
    return users_mod.actor(actor["id"], user) if user else None


def can_read(datasette, request) -> bool:
    """Whether reading pages are open to this request (`--read-login` closes them)."""
    return not config(datasette).get("read_login") or current_user(datasette, request) is not None


def is_staff(datasette, request) -> bool:
    """Whether this request may queue resyncs: a logged-in staff user."""
    user = current_user(datasette, request)
    return user is not None and user["role"] == "staff"


def session_ended(request) -> str | None:
    """Why the session this request came with ended just now ("idle", ...), or None."""
    return request.scope.get(ENDED_KEY)


def login_redirect(datasette, request) -> Response:
    """A redirect to the login page that comes back here afterwards (saying why, when the
    session ended just now)."""
    login = datasette.urls.path("/-/login")
    params = {"next": request.full_path}
    if session_ended(request):
        params["ended"] = session_ended(request)
    return Response.redirect(f"{login}?" + urlencode(params))
