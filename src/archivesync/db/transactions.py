"""Transactions: all of a block or none of it, on the writer's connection."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the search process reads the index without sqlite-utils (or numpy)
    from sqlite_utils import Database


@contextlib.contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """All of the block or none of it: its own transaction, or part of the caller's.

    The sync's hot path uses this, not `Database.atomic()`. Inside an open transaction
    (every page of a sync is one) it adds no savepoint: an error leaves the caller's
    transaction to roll back, as every `with` block around it does. A savepoint there was
    pure cost: each SAVEPOINT and RELEASE makes FTS5 flush its pending terms into a new
    segment, and `atomic()` names each one with `secrets.token_hex`, a system call that hands
    the GIL to the fetching threads.
    """
    if conn.in_transaction:
        yield
        return
    conn.execute("SAVEPOINT archivesync")
    try:
        yield
    except BaseException:
        # An error that destroyed the transaction (RAISE(ROLLBACK)) took the savepoint with it.
        if conn.in_transaction:
            conn.execute("ROLLBACK TO SAVEPOINT archivesync")
            conn.execute("RELEASE SAVEPOINT archivesync")
        raise
    conn.execute("RELEASE SAVEPOINT archivesync")


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """A transaction that takes the write lock up front (BEGIN IMMEDIATE).

    A plain BEGIN reads first and upgrades to a write lock later; if another connection (the
    daemon's heartbeat, a queued resync) commits in between, SQLite fails the upgrade at once
    with "database is locked" instead of waiting out the busy timeout.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()
