"""The `archivesync` command: thin shells over the sync, the daemon and the query code.

User mistakes become one line on stderr and an exit code (1 error, 2 usage, 75 quota
exhausted); only bugs keep a traceback.
"""

from __future__ import annotations

import sys

import click

from archivesync.cli.common import (
    db_option,
    endpoint_option,
    fail_cleanly,
    finish,
    log_options,
    make_settings,
    settings_options,
    stop_on_signals,
)
from archivesync.errors import ArchiveSyncError
from archivesync.logs import setup_logging
from archivesync.reporting import progress_reporter
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target
from archivesync.youtube import resolve_api_key


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archivesync")
def cli():
    """Keep an SQLite index of a YouTube channel's metadata."""


@cli.command()
@db_option
@click.option("--channel", "channel_id", required=True, help="Channel id (UC...).")
@click.option("--full", is_flag=True, help="Re-read everything and detect removals.")
@endpoint_option
@settings_options
@click.option("--wait", is_flag=True, help="Wait for another sync on this database to end.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@log_options
@fail_cleanly
def sync(db_path, channel_id, full, api_endpoint, wait, as_json, log_format, verbose, **knobs):
    """Sync a channel into the index (incremental once it has had a full sync)."""
    api_key = resolve_api_key()
    setup_logging(log_format, verbose, secret=api_key)
    settings = make_settings(**knobs)
    progress = progress_reporter("sync")
    outcome = run_sync(
        db_path,
        Target("channel", [channel_id], full=full),
        api_key=api_key,
        endpoint=api_endpoint,
        trigger="cli",
        settings=settings,
        stop=stop_on_signals(),
        wait=wait,
        progress=progress,
    )
    progress.close()
    finish(outcome, as_json)


def _register_optional_commands() -> None:
    from archivesync.emulator.cli import emulator_command

    cli.add_command(emulator_command, name="emulator")

    from archivesync.cli.query import (
        export_command,
        schema_command,
        search_command,
        serve_command,
        sql_command,
        tables_command,
    )

    cli.add_command(search_command, name="search")
    cli.add_command(sql_command, name="sql")
    cli.add_command(tables_command, name="tables")
    cli.add_command(schema_command, name="schema")
    cli.add_command(export_command, name="export")
    cli.add_command(serve_command, name="serve")

    from archivesync.cli.ops import daemon_command, resync_command, status_command

    cli.add_command(daemon_command, name="daemon")
    cli.add_command(resync_command, name="resync")
    cli.add_command(status_command, name="status")

    from archivesync.cli.auth import auth_command

    cli.add_command(auth_command, name="auth")

    from archivesync.cli.users import users_group

    cli.add_command(users_group, name="users")

    from archivesync.cli.replication import follow_command, restore_command

    cli.add_command(restore_command, name="restore")
    cli.add_command(follow_command, name="follow")


_register_optional_commands()


EXIT_SIGINT = 128 + 2


def main() -> None:
    """The console entry point: run the command group."""
    try:
        cli(standalone_mode=True)
    except ArchiveSyncError as e:  # pragma: no cover - commands catch their own
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:  # a second Ctrl-C: the run is marked interrupted next time
        click.echo("Interrupted", err=True)
        sys.exit(EXIT_SIGINT)
