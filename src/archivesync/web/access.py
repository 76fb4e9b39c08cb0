"""Who is asking and what they may do: the console's settings, the signed-in user, roles.

Checked on every request against the users file, so a removed user or a changed role takes
effect at once.
"""

from __future__ import annotations

from urllib.parse import urlencode

from datasette.utils.asgi import Response

from archivesync.web import users as users_mod

CONFIG = "archivesync-console"


def config(datasette) -> dict:
    """The console's settings, as `make_datasette` put them in the plugin configuration."""
    return datasette.plugin_config(CONFIG) or {}


def database_name(datasette) -> str:
    """The name Datasette serves the index under (the file's stem)."""
    return next(iter(datasette.databases.keys() - {"_internal"}))


def current_user(datasette, request) -> dict | None:
    """The logged-in user {"id", "role"}, checked against the users file on every request.

    A removed user's cookie stops working at once; a changed role takes effect at once.
    """
    users_file = config(datasette).get("users_file")
    actor = request.actor
    if not users_file or not actor or not isinstance(actor.get("id"), str):
        return None
    try:
        user = users_mod.load(users_file).get(actor["id"])
    except users_mod.UsersFileError:
        return None
    return {"id": actor["id"], "role": user["role"]} if user else None


def can_read(datasette, request) -> bool:
    """Whether reading pages are open to this request (`--read-login` closes them)."""
    return not config(datasette).get("read_login") or current_user(datasette, request) is not None


def is_staff(datasette, request) -> bool:
    """Whether this request may queue resyncs: a logged-in staff user."""
    user = current_user(datasette, request)
    return user is not None and user["role"] == "staff"


def login_redirect(request) -> Response:
    """A redirect to the login page that comes back here afterwards."""
    return Response.redirect("/-/login?" + urlencode({"next": request.full_path}))
