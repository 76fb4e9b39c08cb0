"""Opening the index: create or upgrade it (the migrations in db/migrations.py), or read it.

A missing directory, an unwritable file or a file that is not SQLite is a clear error here,
before anything is written.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from archivesync.db import access
from archivesync.db.migrations import MIGRATIONS
from archivesync.db.readonly import BUSY_TIMEOUT_MS, connect_readonly
from archivesync.errors import ConfigError

# While Litestream replicates the database it must own checkpointing (its docs: "disable
# autocheckpoints"): a checkpoint of ours could race its switch of WAL and force a new snapshot.
# The daemon turns this off in its own process when it starts Litestream; None keeps SQLite's
# default (a passive checkpoint every 1000 pages).
_wal_autocheckpoint: int | None = None


def leave_checkpoints_to_litestream() -> None:
    """Connections opened from now on in this process never checkpoint the WAL themselves."""
    global _wal_autocheckpoint
    _wal_autocheckpoint = 0


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (and create or upgrade) the index at `path`.

    A missing directory is a user mistake, not something to create silently: a typo in `--db`
    would otherwise start a second, empty index somewhere unexpected.
    """
    path = Path(path)
    if not path.parent.exists():
        raise ConfigError(f"database directory {str(path.parent)!r} does not exist")
    # Before SQLite, which would open an unwritable file read-only and fail at the first write.
    access.check_writable(path)
    if path.exists() and path.is_dir():
        raise ConfigError(f"{str(path)!r} is a directory, not a database file")
    access.create_file(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        db = Database(conn)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        if _wal_autocheckpoint is not None:
            db.execute(f"PRAGMA wal_autocheckpoint = {_wal_autocheckpoint}")
        if migrate:
            MIGRATIONS.apply(db)
    except sqlite3.DatabaseError as e:
        if access.is_write_failure(e):
            raise access.write_failure(path, e) from None
        raise ConfigError(f"cannot open database {str(path)!r}: {e}") from None
    return db


def open_readonly(path: str | Path) -> Database:
    """Open an existing index for reading only: analysts' commands can never change it."""
    return Database(connect_readonly(path))
