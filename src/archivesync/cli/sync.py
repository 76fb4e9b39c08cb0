"""`archivesync sync` and `archivesync stats`: thin shells over `run_sync` and `run_stats`."""

from __future__ import annotations

from collections.abc import Callable

import click

from archivesync.cli.common import (
    CHANNEL_HELP,
    ChannelParam,
    db_option,
    endpoint_option,
    fail_cleanly,
    finish,
    log_options,
    make_settings,
    resolved_channel,
    settings_options,
    stop_on_signals,
)
from archivesync.logs import setup_logging
from archivesync.reporting import progress_reporter
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target
from archivesync.youtube import resolve_api_key


def channel_run_options(*extra):
    """The options `sync` and `stats` share (--db, --channel, then `extra`, the endpoint,
    settings, --wait, --json and logging), in that order in --help."""
    options = [
        db_option,
        click.option("--channel", "channel", required=True, type=ChannelParam(), help=CHANNEL_HELP),
        *extra,
        endpoint_option,
        settings_options,
        click.option("--wait", is_flag=True, help="Wait for another sync on this database to end."),
        click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON."),
        log_options,
    ]

    def apply(func):
        for option in reversed(options):
            func = option(func)
        return func

    return apply


def run_for_channel(
    name: str,
    run: Callable[..., object],
    target: Callable[[str], object],
    *,
    db_path,
    channel,
    api_endpoint,
    wait,
    as_json,
    log_format,
    verbose,
    **knobs,
) -> None:
    """Resolve the key, the logging, the settings and the channel, then `run(db_path,
    target(channel_id), ...)` with a progress bar, and print its outcome."""
    api_key = resolve_api_key()
    setup_logging(log_format, verbose, secret=api_key)
    settings = make_settings(**knobs)
    channel_id = resolved_channel(
        db_path, channel, api_key=api_key, endpoint=api_endpoint, settings=settings
    )
    progress = progress_reporter(name)
    outcome = run(
        db_path,
        target(channel_id),
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


@click.command("sync")
@channel_run_options(
    click.option("--full", is_flag=True, help="Re-read everything and detect removals.")
)
@fail_cleanly
def sync_command(full, **options):
    """Sync a channel into the index (incremental once it has had a full sync)."""
    run_for_channel(
        "sync", run_sync, lambda channel_id: Target("channel", [channel_id], full=full), **options
    )


@click.command("stats")
@channel_run_options()
@fail_cleanly
def stats_command(**options):
    """Refresh the statistics of every video of a channel (videos.batchGetStats bucket)."""
    from archivesync.stats.run import run_stats

    run_for_channel("stats", run_stats, lambda channel_id: channel_id, **options)
