"""Datasette assembled: the index read-only, the analysts' metadata and SQL functions, and the
web console's pages and login, served by `archivesync serve`.

The database is opened read-only (``mode=ro``), not ``immutable``: a sync may write at the same
time, and an immutable open would ignore the WAL file and could read a half-written state.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from archivesync.analysts.metadata import metadata


def register_plugin() -> None:
    """Register the SQL functions and the web console with Datasette, once."""
    from datasette.plugins import pm

    from archivesync.analysts import datasette_plugin
    from archivesync.web import plugin as console

    if not pm.is_registered(datasette_plugin) and pm.get_plugin("archivesync") is None:
        pm.register(datasette_plugin, name="archivesync")
    if not pm.is_registered(console):
        pm.register(console, name="archivesync-console")


def make_datasette(
    db_path: str | Path,
    *,
    users_file: str | Path | None = None,
    read_login: bool = False,
    daily_budget: int | None = None,
    session_idle: timedelta | None = None,
    clock: Callable[[], datetime] | None = None,
    **settings,
):
    """A Datasette over the index, read-only, with our metadata, SQL functions and console.

    `users_file` enables logins and the staff's write actions (without it they are absent);
    `read_login` makes every page, Datasette's included, need a login. `session_idle`: how
    long a session may sit unused (default 30 minutes); `clock`: now, for tests.
    """
    from importlib.resources import files

    from datasette.app import Datasette

    from archivesync.db.quota import DEFAULT_DAILY_BUDGET

    register_plugin()
    path = Path(db_path)
    meta = metadata(path.stem, base_url=settings.get("base_url", "/"))
    # Kept on the instance, not in the metadata: /-/metadata.json would show the paths.
    console = {
        "db_path": str(path.resolve()),
        "users_file": str(Path(users_file).resolve()) if users_file else None,
        "read_login": bool(read_login),
        "daily_budget": daily_budget or DEFAULT_DAILY_BUDGET,
        "session_idle": session_idle,
        "clock": clock,
    }
    ds = Datasette(
        [str(path)],
        metadata=meta,
        # Signs the session cookies: random per start unless set, as Datasette's own CLI does.
        secret=os.environ.get("DATASETTE_SECRET") or None,
        # The console's pages live in templates/console/, beside Datasette's own templates.
        template_dir=str(files("archivesync.web") / "templates"),
        settings={"sql_time_limit_ms": 3000, **settings},
    )
    ds.archivesync_console = console
    return ds


def serve(
    db_path: str | Path,
    host: str,
    port: int,
    *,
    users_file: str | Path | None = None,
    read_login: bool = False,
    daily_budget: int | None = None,
    session_idle: timedelta | None = None,
) -> None:
    """Run the console and Datasette until interrupted (what `archivesync serve` does)."""
    import asyncio

    import uvicorn

    if users_file:
        # Logins write sessions and the audit trail: the tables must exist (migration 0007).
        from archivesync.db.schema import open_db

        open_db(db_path).close()
    ds = make_datasette(
        db_path,
        users_file=users_file,
        read_login=read_login,
        daily_budget=daily_budget,
        session_idle=session_idle,
    )
    asyncio.run(ds.invoke_startup())
    # Bound here rather than by uvicorn, so that with port 0 the line below names the port
    # the system chose (tests and scripts read it).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before the line below: a client that reads it may connect at once, and waits
    # in the backlog until uvicorn accepts.
    sock.listen(2048)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"Serving {db_path} read-only on http://{shown}:{bound}/ (Ctrl-C to stop)", flush=True)
    server = uvicorn.Server(uvicorn.Config(ds.app(), log_level="warning"))
    server.run(sockets=[sock])
