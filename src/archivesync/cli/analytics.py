"""`archivesync analytics`: read YouTube Analytics figures into the index (a thin shell)."""

from __future__ import annotations

from datetime import date

import click

from archivesync.analytics.run import run_analytics
from archivesync.cli.common import (
    db_option,
    endpoint_option,
    fail_cleanly,
    finish,
    log_options,
    oauth_token_option,
    stop_on_signals,
)
from archivesync.logs import setup_logging
from archivesync.reporting import progress_reporter


class _Day(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            if len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


@click.command("analytics")
@db_option
@click.option("--channel", "channel_id", required=True, help="Channel id (UC...).")
@click.option(
    "--since",
    type=_Day(),
    help="First day to read (default: the last 7 stored days again, then new ones; on a "
    "first run, each video's publication day).",
)
@click.option("--until", type=_Day(), help="Last day to read (default: today, Pacific time).")
@endpoint_option
@oauth_token_option
@click.option("--wait", is_flag=True, help="Wait for another run on this database to end.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@log_options
@fail_cleanly
def analytics_command(
    db_path, channel_id, since, until, api_endpoint, oauth_token, wait, as_json, log_format,
    verbose,
):  # fmt: skip
    """Read daily views, watch time and audience retention (YouTube Analytics) into the index."""
    if since is not None and until is not None and until < since:
        raise click.BadParameter(f"{until} is before --since {since}", param_hint="--until")
    setup_logging(log_format, verbose)
    progress = progress_reporter("analytics")
    outcome = run_analytics(
        db_path,
        channel_id,
        since=since,
        until=until,
        endpoint=api_endpoint,
        token_file=oauth_token,
        trigger="cli",
        stop=stop_on_signals(),
        wait=wait,
        progress=progress,
    )
    progress.close()
    finish(outcome, as_json)
