"""Bring a database back from a replica, and check it before it replaces anything.

Litestream writes the restored database to a temporary file beside the target; only once that
file passes `PRAGMA integrity_check` and its migrations are known does it take the target's
place. A failed restore therefore leaves an existing database exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from archivesync.db.migrations import MIGRATIONS
from archivesync.db.schema import open_db
from archivesync.errors import ConfigError, ReplicationError
from archivesync.replication import follow, litestream, positions

# The tables whose row counts a restore reports: what a person checks first.
COUNTED_TABLES = (
    "channels",
    "videos",
    "video_stats",
    "video_changes",
    "chapters",
    "playlists",
    "playlist_items",
    "sync_runs",
)


@dataclass
class RestoreReport:
    """What was restored and what the checks found."""

    db_path: str
    url: str
    txid: int
    integrity: str
    migrations_applied: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)


def integrity_check(path: str | Path) -> str:
    """`PRAGMA integrity_check` of a database file: "ok" or SQLite's first complaint."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as e:
        return str(e)
    finally:
        conn.close()
    return "; ".join(r[0] for r in rows[:5])


def row_counts(path: str | Path) -> dict[str, int]:
    """Rows in each of the main tables that exist in the database at `path`."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {
            t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]
            for t in COUNTED_TABLES
            if t in have
        }
    finally:
        conn.close()


def _bring_to_current_version(path: Path) -> list[str]:
    """Apply the migrations this version knows and the backup lacks; refuse a newer backup."""
    db = open_db(path, migrate=False)
    try:
        known = {m.name for m in MIGRATIONS._migrations}
        unknown = [m.name for m in MIGRATIONS.applied(db) if m.name not in known]
        if unknown:
            raise ReplicationError(
                f"the backup was written by a newer archivesync (migration {unknown[-1]}): "
                "upgrade before restoring it"
            )
        pending = [m.name for m in MIGRATIONS.pending(db)]
        if pending:
            MIGRATIONS.apply(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return pending
    finally:
        db.close()


def restore(
    url: str, db_path: str | Path, *, timestamp: str | None = None, force: bool = False
) -> RestoreReport:
    """Restore the replica at `url` to `db_path` (optionally as of `timestamp`) and check it."""
    db_path = Path(db_path)
    litestream.check_url(url)
    if timestamp:
        follow.parse_timestamp(timestamp)  # a bad one fails before anything is read
    if not db_path.parent.is_dir():
        raise ConfigError(f"database directory {str(db_path.parent)!r} does not exist")
    if db_path.is_dir():
        raise ConfigError(f"{str(db_path)!r} is a directory, not a database file")
    if db_path.exists() and not force:
        raise ConfigError(f"{str(db_path)!r} already exists: use --force to replace it")
    if positions.replica_position(url) is None:
        raise ReplicationError(f"no backup found at {litestream.redact_url(url)}")
    tmp = db_path.with_name(f".{db_path.name}.restoring-{os.getpid()}")
    follow.remove_database_files(tmp)
    try:
        txid = follow.restore_to(url, tmp, timestamp=timestamp)
        integrity = integrity_check(tmp)
        if integrity != "ok":
            raise ReplicationError(f"the restored database fails integrity_check: {integrity}")
        applied = _bring_to_current_version(tmp)
        counts = row_counts(tmp)
        # The old file's WAL, shared memory and Litestream state belong to the old database:
        # SQLite or Litestream would apply them to the new one.
        follow.remove_database_files(db_path)
        os.replace(tmp, db_path)
    finally:
        follow.remove_database_files(tmp)
        with contextlib.suppress(FileNotFoundError):
            Path(f"{tmp}.tmp").unlink()
    return RestoreReport(
        db_path=str(db_path),
        url=litestream.redact_url(url),
        txid=txid,
        integrity=integrity,
        migrations_applied=applied,
        row_counts=counts,
    )
