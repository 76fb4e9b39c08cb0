"""The console's URLs and the handler of each; its static files (no CDN)."""

from __future__ import annotations

from importlib.resources import files

from datasette.utils.asgi import NotFound, Response

from archivesync.web import audit_page, browse, login, staff, users_page


async def static_file(request, datasette):
    """The console's stylesheet and script, served by the console itself (no CDN)."""
    name = request.url_vars["name"]
    if name not in ("console.css", "console.js", "datasette.css", "datasette.js"):
        raise NotFound("no such file")
    body = (files("archivesync.web") / "static" / name).read_text(encoding="utf-8")
    kind = "text/css" if name.endswith(".css") else "application/javascript"
    return Response(
        body,
        content_type=f"{kind}; charset=utf-8",
        headers={"cache-control": "max-age=300"},
    )


ROUTES = [
    (r"^/$", staff.overview),
    (r"^/-/login$", login.login),
    (r"^/-/logout$", login.logout),
    (r"^/-/resync$", staff.resync),
    (r"^/-/requests$", staff.request_list),
    (r"^/-/audit$", audit_page.audit_view),
    (r"^/-/users$", users_page.users_view),
    (r"^/-/users/(?P<name>[A-Za-z0-9][A-Za-z0-9._@-]{0,63})$", users_page.user_view),
    (r"^/-/password$", users_page.password_view),
    (r"^/-/requests/(?P<id>\d+)(?:\.(?P<format>json))?$", staff.request_detail),
    (r"^/-/requests/(?P<id>\d+)/cancel$", staff.request_cancel),
    (r"^/-/search$", browse.search_view),
    (r"^/-/video/(?P<id>[A-Za-z0-9_-]+)$", browse.video),
    (r"^/-/channel$", browse.channel),
    (r"^/-/channel/(?P<id>[A-Za-z0-9_-]+)$", browse.channel),
    (r"^/-/console/(?P<name>[a-z.]+)$", static_file),
]

__all__ = ["ROUTES"]
