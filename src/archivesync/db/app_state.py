"""What archivesync remembers between processes: `app_state`, one value per key.

Settings given once that another process needs (the console's public address, declared by
`serve --public-url`, read by the daemon for links in its messages) and facts learnt from the
API that must outlive a run (videos.batchGetStats unavailable, already said).
"""

from __future__ import annotations

from sqlite_utils import Database

PUBLIC_URL = "console.public_url"
STATS_FALLBACK = "stats.batch_get_stats_unavailable"


def create_table(db: Database) -> None:
    """The table, for migration 0011."""
    db.execute(
        "CREATE TABLE app_state (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT NOT NULL)"
    )


def get(db: Database, key: str) -> str | None:
    """The value recorded for `key`, or None (also on a database older than the table)."""
    if not db["app_state"].exists():
        return None
    row = next(db.query("SELECT value FROM app_state WHERE key = ?", [key]), None)
    return row["value"] if row else None


def put(db: Database, key: str, value: str, now: str) -> None:
    """Record `value` for `key`."""
    db.execute(
        "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value, now],
    )


def forget(db: Database, key: str) -> bool:
    """Drop what was recorded for `key`; True if there was something."""
    return db.execute("DELETE FROM app_state WHERE key = ?", [key]).rowcount > 0
