"""Replication commands: `restore` and `follow`. Thin shells over archivesync.replication.

Registered by name in `archivesync.cli.COMMANDS`.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from archivesync.cli.common import db_option, fail_cleanly
from archivesync.errors import ReplicationError
from archivesync.replication import follow, litestream, positions
from archivesync.replication.restore import restore


@click.command("restore")
@click.option("--from", "url", required=True, help="Replica URL (file:///dir, s3://bucket/path).")
@db_option
@click.option("--timestamp", help="Restore the database as it was at this time (ISO 8601, UTC).")
@click.option("--force", is_flag=True, help="Replace an existing database file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@fail_cleanly
def restore_command(url, db_path, timestamp, force, as_json):
    """Restore the index from a Litestream replica, then check it."""
    report = restore(url, db_path, timestamp=timestamp, force=force)
    if as_json:
        click.echo(json.dumps(report.__dict__, ensure_ascii=False, indent=2))
        return
    click.echo(f"restored {report.db_path} from {report.url} at txid {report.txid}")
    click.echo(f"integrity_check: {report.integrity}")
    applied = ", ".join(report.migrations_applied) or "none needed"
    click.echo(f"migrations applied: {applied}")
    for table, count in report.row_counts.items():
        click.echo(f"  {table:<15} {count:>8}")


@click.command("follow")
@click.option("--from", "url", required=True, help="Replica URL to follow.")
@db_option
@click.option(
    "--interval",
    default="1s",
    show_default=True,
    help="How often to look for new changes (Litestream duration: 500ms, 1s, 1m).",
)
@click.option("--force", is_flag=True, help="Replace an existing database file first.")
@fail_cleanly
def follow_command(url, db_path, interval, force):
    """Keep a read-only copy of the index current from a replica, until SIGTERM/SIGINT."""
    litestream.check_url(url)
    path = Path(db_path)
    if not path.parent.is_dir():
        raise ReplicationError(f"database directory {str(path.parent)!r} does not exist")
    if path.exists():
        if not force:
            raise ReplicationError(f"{db_path!r} already exists: use --force to replace it")
        follow.remove_database_files(path)
    if positions.replica_position(url) is None:
        raise ReplicationError(f"no backup found at {litestream.redact_url(url)}")
    proc = follow.start_follower(url, path, interval)

    def stop(signum, frame):
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    shown = litestream.redact_url(url)
    click.echo(f"following {shown} into {db_path} (read it with `archivesync serve`)", err=True)
    while proc.poll() is None:
        time.sleep(0.2)
    state = litestream.read_state(path) or {}
    litestream.write_state(path, **{**state, "pid": None})
    if proc.returncode not in (0, -signal.SIGTERM):
        # Litestream's own message is on stderr, just above.
        raise ReplicationError(f"litestream stopped following (exit code {proc.returncode})")
    sys.exit(0)
