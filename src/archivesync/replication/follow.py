"""Restoring a replica, and following one as a read-only copy: `litestream restore [-f]`."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from archivesync.errors import ConfigError, ReplicationError
from archivesync.replication.litestream import (
    check_url,
    child_env,
    die_with_parent,
    error_line,
    find_binary,
    meta_dir,
    private_dir,
    redact_url,
    run_with_url,
    write_config,
    write_state,
)
from archivesync.timestamps import format_utc, read_iso


def parse_timestamp(text: str) -> str:
    """A --timestamp as Litestream wants it (UTC, ISO 8601 with Z); ConfigError if unreadable."""
    moment = read_iso(text)
    if moment is None:
        raise ConfigError(
            f"--timestamp {text!r} is not a date and time (e.g. 2026-01-31T12:00:00Z)"
        )
    return format_utc(moment)


def restore_to(url: str, output: str | Path, *, timestamp: str | None = None) -> int:
    """Have Litestream write the replica's database to `output` (a new file); returns its txid."""
    args = ["-json"]
    if timestamp:
        args += ["-timestamp", parse_timestamp(timestamp)]
    result = run_with_url("restore", check_url(url), output, args, timeout=600)
    if result.returncode != 0:
        message = error_line(result)
        if timestamp and (
            "timestamp does not exist" in message or "no matching backup files" in message
        ):
            message = f"the replica has nothing as old as {timestamp}"
        raise ReplicationError(f"cannot restore from {redact_url(url)}: {message}")
    return int(json.loads(result.stdout)["txid"], 16)


def remove_database_files(db_path: str | Path) -> None:
    """Delete a database with its -wal, -shm and Litestream state, as Litestream's docs ask."""
    db_path = Path(db_path)
    for suffix in ("", "-wal", "-shm", "-txid"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_path}{suffix}").unlink()
    shutil.rmtree(meta_dir(db_path), ignore_errors=True)


def follower_txid(db_path: str | Path) -> int | None:
    """The transaction a following replica has applied (Litestream's `<db>-txid` file)."""
    try:
        return int(Path(f"{db_path}-txid").read_text().strip(), 16)
    except (OSError, ValueError):
        return None


def follow_command(config: str | Path, db_path: str | Path, interval: str = "1s") -> list[str]:
    """The Litestream command line that restores `db_path`'s replica (named in `config`, never
    here) to it and keeps applying changes."""
    return [
        find_binary(),
        "restore",
        "-config",
        str(config),
        "-no-expand-env",
        "-f",
        "-follow-interval",
        interval,
        str(db_path),
    ]


def _wait_first_restore(proc: subprocess.Popen, db_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while follower_txid(db_path) is None:
        if proc.poll() is not None:
            raise ReplicationError(
                f"litestream could not restore the replica (exit code {proc.returncode})"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise ReplicationError(f"the first restore took longer than {timeout:.0f} s")
        time.sleep(0.05)


def _leave_wal_mode(db_path: Path) -> None:
    """Make the followed copy a rollback-journal database before any reader opens it.

    Litestream applies each new transaction under an exclusive lock on the file. A reader of a
    WAL-mode database holds a shared lock for as long as its connection is open (Datasette
    keeps its connections), which would hold every update back forever; in rollback mode a
    reader holds it only while a query runs. Litestream itself marks the file so from its
    first update on; this does it for the initial copy too.
    """
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode = DELETE").fetchone()
    finally:
        conn.close()


def start_follower(
    url: str, db_path: str | Path, interval: str = "1s", stderr=None, timeout: float = 600
) -> subprocess.Popen:
    """Restore `url` to `db_path` and keep applying its changes, in a child that dies with us.

    Returns once the first restore is readable; records the follower in the state file.
    """
    db_path = Path(db_path)
    directory = private_dir()
    config = write_config(directory, db_path, url)
    try:
        proc = subprocess.Popen(
            follow_command(config, db_path, interval),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=die_with_parent,
            env=child_env(),
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    write_state(
        db_path,
        role="follower",
        url=url,
        pid=proc.pid,
        owner_pid=os.getpid(),
        started_at=datetime.now(UTC).isoformat(),
    )
    try:
        _wait_first_restore(proc, db_path, timeout)
    finally:
        # Litestream read its config at start; the URL need not stay on disk.
        shutil.rmtree(directory, ignore_errors=True)
    _leave_wal_mode(db_path)
    return proc
