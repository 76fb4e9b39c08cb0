"""Checks `serve` makes before it starts a web server: the file is an index, the port is free.

Without them a busy port printed "Serving ... on http://..." and then died with `[Errno 98]`,
and a file that is not an index (empty, another SQLite file, not SQLite) served error pages.
Kept apart from the server so that any front end (Datasette, the web console) can call them.
"""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from archivesync.db import access
from archivesync.db.schema import open_readonly
from archivesync.errors import ConfigError

SQLITE_HEADER = b"SQLite format 3\x00"
# Tables every archivesync index has had since its first migration.
INDEX_TABLES = ("videos", "sync_runs")


def check_serve(db_path: str | Path, host: str, port: int) -> None:
    """Raise ConfigError unless `db_path` is an archivesync index and `host:port` is free."""
    check_index(db_path)
    check_port(host, port)


def check_index(db_path: str | Path) -> None:
    """Raise ConfigError unless `db_path` is an archivesync index (says what it is instead)."""
    path = Path(db_path)
    access.check_readable(path)
    if not path.is_file():
        raise ConfigError(f"database {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise ConfigError(
            f"{path} is empty (0 bytes), not an archivesync index; `archivesync sync` fills it"
        )
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise ConfigError(f"{path} is not an SQLite database, so not an archivesync index")
    db = open_readonly(path)
    try:
        missing = [t for t in INDEX_TABLES if not db[t].exists()]
    finally:
        db.close()
    if missing:
        raise ConfigError(
            f"{path} is an SQLite database but not an archivesync index "
            f"(it has no {' or '.join(missing)} table)"
        )


def check_port(host: str, port: int) -> None:
    """Raise ConfigError if the server could not listen on `host:port` (in use, bad address)."""
    if port == 0:
        return  # the system picks a free one
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as e:
        raise ConfigError(f"cannot serve on {host}: {e.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        # As the server sets it: a closed connection in TIME_WAIT is no obstacle, a listener is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use (another `archivesync serve`?); "
                    "choose another with --port"
                ) from None
            raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
