"""What every console handler does the same way: read the index, render a template.

Reading runs on Datasette's read-only connections (`execute_fn`).
"""

from __future__ import annotations

from datasette.utils.asgi import Response
from sqlite_utils import Database

from archivesync.analysts.readonly_sql import staff_reads
from archivesync.web import data
from archivesync.web.access import config, current_user, database_name, session_ended
from archivesync.web.text import ENDED_LABELS


async def render(datasette, request, template: str, context: dict, status: int = 200):
    """A console template rendered with what every page needs (user, menu, channels)."""
    db_name = database_name(datasette)
    user = current_user(datasette, request)
    base = {
        "user": user,
        "is_staff": user is not None and user["role"] == "staff",
        "writable": bool(config(datasette).get("users_file")),
        "db_name": db_name,
        "all_channels": await read(datasette, data.channels),
        "path": request.path,
        "session_ended": ENDED_LABELS.get(session_ended(request) or ""),
    }
    html = await datasette.render_template(
        f"console/{template}", {**base, **context}, request=request
    )
    return Response.html(html, status=status)


async def read(datasette, fn, *args, **kwargs):
    """Run `fn(db, ...)` on a read-only connection of the index."""
    return await datasette.get_database(database_name(datasette)).execute_fn(
        lambda conn: fn(Database(conn), *args, **kwargs)
    )


async def read_as_staff(datasette, fn, *args, **kwargs):
    """`read`, with the staff-only tables and columns readable: call it for staff only."""

    def run(conn):
        with staff_reads():
            return fn(Database(conn), *args, **kwargs)

    return await datasette.get_database(database_name(datasette)).execute_fn(run)


async def read_for(datasette, request, fn, *args, **kwargs):
    """`read_as_staff` for a staff member, else `read` (who asked for a resync stays NULL)."""
    user = current_user(datasette, request)
    reader = read_as_staff if user and user["role"] == "staff" else read
    return await reader(datasette, fn, *args, **kwargs)


def wants_csv(request) -> bool:
    """Whether the page is asked for as CSV (`?format=csv`)."""
    return request.args.get("format") == "csv"
