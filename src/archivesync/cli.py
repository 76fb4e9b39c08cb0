"""The `archivesync` command: thin shells over the sync, the daemon and the query code.

User mistakes become one line on stderr and an exit code (1 error, 2 usage, 75 quota
exhausted); only bugs keep a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
import threading

import click

from . import sync as sync_mod
from .errors import EXIT_ERROR, ArchiveSyncError
from .logs import setup_logging
from .reporting import progress_reporter, run_summary
from .youtube import resolve_api_key


def fail_cleanly(func):
    """Turn our errors into `Error: ...` and the right exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ArchiveSyncError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper


def db_option(func):
    return click.option(
        "--db",
        "db_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="Path to the SQLite index.",
    )(func)


def endpoint_option(func):
    return click.option(
        "--api-endpoint",
        envvar="ARCHIVESYNC_API_ENDPOINT",
        default=None,
        help="API base URL (default: Google's; env ARCHIVESYNC_API_ENDPOINT).",
    )(func)


def log_options(func):
    func = click.option(
        "--log-format",
        type=click.Choice(["plain", "json"]),
        default="plain",
        show_default=True,
        help="Log line format on stderr.",
    )(func)
    return click.option("-v", "--verbose", is_flag=True, help="Log more detail.")(func)


def settings_options(func):
    """Quota and sync knobs shared by sync, resync and daemon."""
    options = [
        click.option(
            "--daily-budget",
            type=click.IntRange(min=1),
            default=sync_mod.Settings.daily_budget,
            show_default=True,
            envvar="ARCHIVESYNC_DAILY_BUDGET",
            help="Quota units a Pacific-time day (env ARCHIVESYNC_DAILY_BUDGET).",
        ),
        click.option(
            "--safety-margin",
            type=click.IntRange(min=0),
            default=sync_mod.Settings.safety_margin,
            show_default=True,
            envvar="ARCHIVESYNC_SAFETY_MARGIN",
            help="Units of the budget kept back (env ARCHIVESYNC_SAFETY_MARGIN).",
        ),
        click.option(
            "--recent-days",
            type=click.IntRange(min=0),
            default=sync_mod.Settings.recent_days,
            show_default=True,
            help="Incremental syncs refresh videos published within this many days.",
        ),
        click.option(
            "--feed-probe/--no-feed-probe",
            default=None,
            help="Ask the channel's Atom feed first (default: only against the real YouTube).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def make_settings(daily_budget, safety_margin, recent_days, feed_probe) -> sync_mod.Settings:
    if safety_margin >= daily_budget:
        raise click.BadParameter(
            "must be smaller than --daily-budget", param_hint="--safety-margin"
        )
    return sync_mod.Settings(
        daily_budget=daily_budget,
        safety_margin=safety_margin,
        recent_days=recent_days,
        feed_probe=feed_probe,
    )


def stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT finish the current page and record the run, instead of killing it."""
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():  # a second Ctrl-C means now
            raise KeyboardInterrupt
        logging.getLogger("archivesync").warning(
            "%s: stopping after the current page", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def finish(outcome: sync_mod.Outcome, as_json: bool = False) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run_id": outcome.run_id,
                    "status": outcome.status,
                    "error": outcome.message or None,
                    **outcome.figures,
                },
                ensure_ascii=False,
            )
        )
    else:
        click.echo(run_summary(outcome), err=outcome.exit_code != 0)
    sys.exit(outcome.exit_code)


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
    outcome = sync_mod.run_sync(
        db_path,
        sync_mod.Target("channel", [channel_id], full=full),
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
    from .emulator.cli import emulator_command

    cli.add_command(emulator_command, name="emulator")

    from .cli_ops import daemon_command, resync_command, status_command

    cli.add_command(daemon_command, name="daemon")
    cli.add_command(resync_command, name="resync")
    cli.add_command(status_command, name="status")


_register_optional_commands()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ArchiveSyncError as e:  # pragma: no cover - commands catch their own
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted", err=True)
        sys.exit(EXIT_ERROR)
