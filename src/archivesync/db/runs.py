"""Every read and write of `sync_runs`, the record of each run, in one place.

The run envelope (sync/run.py) writes it; `status`, the resync queue and the daemon read it.
"""

from __future__ import annotations

from sqlite_utils import Database

# A run's figures, in the order `status` and the JSON outcome show them.
FIGURES = (
    "pages",
    "videos_seen",
    "videos_added",
    "videos_updated",
    "videos_removed",
    "api_calls",
    "quota_units",
)


def start_run(db: Database, row: dict) -> int:
    """Insert a new run's row (status `running`) and return its id."""
    return db["sync_runs"].insert(row).last_pk


def update_run(db: Database, run_id: int, values: dict) -> None:
    """Set columns of a run's row."""
    # A plain UPDATE: Table.update() introspects the table on every call, once per page.
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    db.execute(
        f"UPDATE sync_runs SET {assignments} WHERE id = :run_id", {**values, "run_id": run_id}
    )


def mark_stale_runs(db: Database, now: str) -> int:
    """Runs still `running` while we hold the lease belong to a process that died."""
    cursor = db.execute(
        "UPDATE sync_runs SET status = 'interrupted', finished_at = ?, "
        "error = coalesce(error, 'the process ended before the run finished') "
        "WHERE status = 'running'",
        [now],
    )
    return cursor.rowcount


def get_run(db: Database, run_id: int) -> dict | None:
    """One run's row, or None."""
    return next(db.query("SELECT * FROM sync_runs WHERE id = ?", [run_id]), None)


def latest_running(db: Database) -> dict | None:
    """The newest run still marked `running`, or None."""
    return next(
        db.query(
            "SELECT id, mode, channel_id, trigger, started_at, pid FROM sync_runs "
            "WHERE status = 'running' ORDER BY id DESC LIMIT 1"
        ),
        None,
    )


def _rows(db: Database, sql: str, params=()) -> list[dict]:
    # A database written by an older archivesync may lack the table.
    return list(db.query(sql, params)) if db["sync_runs"].exists() else []


def running_runs(db: Database) -> list[dict]:
    """Every run marked `running`."""
    return _rows(db, "SELECT * FROM sync_runs WHERE status = 'running'")


def last_finished_per_channel(db: Database) -> list[dict]:
    """The last finished run of each channel (runs of unknown channel have none)."""
    return _rows(
        db,
        "SELECT * FROM sync_runs WHERE id IN (SELECT max(id) FROM sync_runs "
        "WHERE status != 'running' AND channel_id IS NOT NULL GROUP BY channel_id) "
        "ORDER BY channel_id",
    )


def last_finished_per_channel_and_mode(db: Database) -> list[dict]:
    """The last finished run of each channel in each mode, by channel then mode."""
    return _rows(
        db,
        "SELECT * FROM sync_runs WHERE id IN (SELECT max(id) FROM sync_runs "
        "WHERE status != 'running' GROUP BY channel_id, mode) ORDER BY channel_id, mode",
    )


def failed_since(db: Database, since: str, limit: int = 100) -> list[dict]:
    """Runs started at or after `since` that ended other than ok, newest first."""
    return _rows(
        db,
        "SELECT * FROM sync_runs WHERE status NOT IN ('ok', 'running') AND started_at >= ? "
        "ORDER BY id DESC LIMIT ?",
        [since, limit],
    )


def recent_finished(db: Database, limit: int) -> list[dict]:
    """The last `limit` finished runs, newest first."""
    return _rows(
        db, "SELECT * FROM sync_runs WHERE status != 'running' ORDER BY id DESC LIMIT ?", [limit]
    )
