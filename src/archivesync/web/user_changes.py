"""A change to the users file and its audit row, made together: for `archivesync users` and
the console's users and password pages alike.

The index's write lock is taken first (so a database that cannot be written stops the change
before the file is touched), then the users file is changed, then the audit row is written and
committed; a change that fails leaves no row. A removal or a new password also ends the
person's open sessions (db/audit.record_user_change).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from archivesync.db import audit
from archivesync.db.schema import open_db
from archivesync.db.transactions import write_transaction


def change_users(
    db_path: str | Path | None,
    change: Callable[[], str],
    *,
    target: str,
    actor: str | None,
    at: datetime,
    remote_addr: str | None = None,
) -> str:
    """Run `change()` (it changes the users file and returns the audit action it was) and audit
    it; without `db_path` (the CLI without --db) only the change. Returns the action."""
    if not db_path:
        return change()
    db = open_db(db_path)  # the audit table exists before the file is touched
    try:
        with write_transaction(db):
            action = change()
            audit.record_user_change(
                db, action, at=at, actor=actor, target=target, remote_addr=remote_addr
            )
        return action
    finally:
        db.close()
