"""The console's Datasette hooks, and Datasette's own pages made readable. Hooks only.

Registered by `web.app.make_datasette` (not through the entry point): a plain
`datasette archive.db` keeps Datasette's home page and gets no login.
"""

from __future__ import annotations

import io

from datasette import hookimpl
from datasette.utils.asgi import Response

from archivesync.web import pages
from archivesync.web.text import FILTERS


@hookimpl
def startup(datasette):
    """Datasette hook: the console's template filters."""
    datasette.jinja_env.filters.update(FILTERS)


@hookimpl
def register_routes(datasette):
    """Datasette hook: the console's pages."""
    return pages.ROUTES


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    """Datasette hook: with --read-login, only signed-in users see any page."""
    # `--read-login` closes Datasette's own pages too. Only a denial is returned: anything else
    # is left to Datasette's defaults.
    if action == "view-instance" and pages.config(datasette).get("read_login"):
        users_file = pages.config(datasette).get("users_file")
        if not actor or not users_file:
            return False
        from archivesync.web import users as users_mod

        try:
            return None if actor.get("id") in users_mod.load(users_file) else False
        except users_mod.UsersFileError:
            return False
    return None


@hookimpl
def forbidden(datasette, request, message):
    """Datasette hook: with --read-login, send a visitor to the login page."""
    if pages.config(datasette).get("read_login") and pages.current_user(datasette, request) is None:
        return pages._login_redirect(datasette, request)
    return None


@hookimpl
def extra_css_urls(template, database, table, columns, view_name, request, datasette):
    """Datasette hook: the console's stylesheet on Datasette's own pages."""
    # Datasette's pages only: the console's own templates link their stylesheet themselves.
    if template and template.startswith("console/"):
        return []
    return [datasette.urls.path("/-/console/datasette.css")]


@hookimpl
def extra_js_urls(template, database, table, columns, view_name, request, datasette):
    """Datasette hook: the console's script on Datasette's own pages."""
    if template and template.startswith("console/"):
        return []
    return [{"url": datasette.urls.path("/-/console/datasette.js"), "module": False}]


@hookimpl
def menu_links(datasette, actor, request):
    """Datasette hook: links to the console in Datasette's menu."""
    return [
        {"href": datasette.urls.instance(), "label": "コンソール (概要)"},
        {"href": datasette.urls.path("/-/search"), "label": "検索"},
    ]


def _csv_with_bom(datasette, columns, rows):
    """The rows of a table, view or query page as CSV with a UTF-8 BOM (for Excel)."""
    from archivesync.analysts.export import write_rows

    out = io.BytesIO()
    write_rows(out, columns, [list(r) for r in rows], "csv", bom=True)
    return Response(
        out.getvalue(),
        content_type="text/csv; charset=utf-8",
        headers={"content-disposition": "attachment"},
    )


@hookimpl
def register_output_renderer(datasette):
    """Datasette hook: the `.csvbom` output (CSV with a BOM, for Excel)."""
    return {"extension": "csvbom", "render": _csv_with_bom}
