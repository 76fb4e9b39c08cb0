"""The console's Datasette hooks, and Datasette's own pages made readable. Hooks only.

Registered by `web.app.make_datasette` (not through the entry point): a plain
`datasette archive.db` keeps Datasette's home page and gets no login.
"""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils.asgi import NotFound

from archivesync.analysts.readonly_sql import STAFF_TABLES
from archivesync.web import access, errors, guard, routes
from archivesync.web.tables import labelled, table_response
from archivesync.web.text import FILTERS


@hookimpl
def startup(datasette):
    """Datasette hook: the console's template filters."""
    datasette.jinja_env.filters.update(FILTERS)


@hookimpl
def register_routes(datasette):
    """Datasette hook: the console's pages."""
    return routes.ROUTES


@hookimpl
def asgi_wrapper(datasette):
    """Datasette hook: sessions, cross-site POSTs, staff-only pages, security headers."""
    return lambda app: guard.wrap(datasette, app)


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    """Datasette hook: with --read-login, only signed-in users see any page."""
    # `--read-login` closes Datasette's own pages too. Only a denial is returned: anything else
    # is left to Datasette's defaults.
    if action == "view-table" and resource and resource[1] in STAFF_TABLES:
        return False  # the console's audit page shows it to staff; Datasette never can
    if action == "execute-sql" and access.config(datasette).get("users_file"):
        # Free SQL is for signed-in people when there are users (docs/operators.md); canned
        # queries stay open like every other reading page.
        return None if access.user_of(datasette, actor) else False
    if action == "view-instance" and access.config(datasette).get("read_login"):
        users_file = access.config(datasette).get("users_file")
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
    """Datasette hook: with --read-login, send a visitor to the login page; else a Japanese
    403 page."""
    if (
        access.config(datasette).get("read_login")
        and access.current_user(datasette, request) is None
    ):
        return access.login_redirect(datasette, request)
    return errors.error_page(datasette, request, 403, message)


@hookimpl
def handle_exception(datasette, request, exception):
    """Datasette hook: a 404 in the console's Japanese page (JSON answers stay Datasette's)."""
    if isinstance(exception, NotFound):
        return errors.error_page(
            datasette, request, 404, str(exception.args[0]) if exception.args else ""
        )
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


def _excel_renderer(fmt: str):
    """A Datasette renderer writing a page's rows for Excel as `fmt` (csv or xlsx)."""

    def render(datasette, columns, rows, table, query_name):
        stem = table or query_name or "query"
        return table_response(fmt, stem, labelled(columns), [list(r) for r in rows])

    return render


@hookimpl
def register_output_renderer(datasette):
    """Datasette hook: `.csvbom` and `.xlsx`, the rows for Excel (Japanese headers, JST).

    Datasette's own `.csv` stays as it is (column names, UTC) for programs.
    """
    return [
        {"extension": "csvbom", "render": _excel_renderer("csv")},
        {"extension": "xlsx", "render": _excel_renderer("xlsx")},
    ]
