"""Read-only connections to the index, with sqlite3 alone.

`schema.open_readonly` wraps one in a sqlite-utils `Database`; `archivesync search` uses it
as it is, so that a search never pays for importing sqlite-utils (most of its start-up).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from archivesync.db import access
from archivesync.errors import ConfigError

# Readers (analysts, Datasette, `status`) must never wait behind a sync, and a writer should
# wait for a reader's short lock rather than fail.
BUSY_TIMEOUT_MS = 10_000


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """Open an existing index for reading only: analysts' commands can never change it."""
    path = Path(path)
    access.check_readable(path)
    if not path.is_file():
        raise ConfigError(f"database {str(path)!r} does not exist")
    try:
        conn = sqlite3.connect(
            f"file:{path.resolve()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute("PRAGMA query_only = 1")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"cannot open database {str(path)!r}: {e}") from None
    return conn
