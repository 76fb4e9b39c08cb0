"""`archivesync sync` and `archivesync stats`: thin shells over `run_sync` and `run_stats`."""

from __future__ import annotations

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


@click.command("sync")
@db_option
@click.option("--channel", "channel", required=True, type=ChannelParam(), help=CHANNEL_HELP)
@click.option("--full", is_flag=True, help="Re-read everything and detect removals.")
@endpoint_option
@settings_options
@click.option("--wait", is_flag=True, help="Wait for another sync on this database to end.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@log_options
@fail_cleanly
def sync_command(db_path, channel, full, api_endpoint, wait, as_json, log_format, verbose, **knobs):
    """Sync a channel into the index (incremental once it has had a full sync)."""
    api_key = resolve_api_key()
    setup_logging(log_format, verbose, secret=api_key)
    settings = make_settings(**knobs)
    channel_id = resolved_channel(
        db_path, channel, api_key=api_key, endpoint=api_endpoint, settings=settings
    )
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


@click.command("stats")
@db_option
@click.option("--channel", "channel", required=True, type=ChannelParam(), help=CHANNEL_HELP)
@endpoint_option
@settings_options
@click.option("--wait", is_flag=True, help="Wait for another sync on this database to end.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@log_options
@fail_cleanly
def stats_command(db_path, channel, api_endpoint, wait, as_json, log_format, verbose, **knobs):
    """Refresh the statistics of every video of a channel (videos.batchGetStats bucket)."""
    from archivesync.stats.run import run_stats

    api_key = resolve_api_key()
    setup_logging(log_format, verbose, secret=api_key)
    settings = make_settings(**knobs)
    channel_id = resolved_channel(
        db_path, channel, api_key=api_key, endpoint=api_endpoint, settings=settings
    )
    progress = progress_reporter("stats")
    outcome = run_stats(
        db_path,
        channel_id,
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
