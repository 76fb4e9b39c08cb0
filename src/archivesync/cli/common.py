"""Options, decorators and helpers shared by the CLI modules.

Kept light: `archivesync search` imports this module, so the sync's modules (and the API
client they import) are imported only inside the helpers that need them.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from typing import TYPE_CHECKING, NoReturn

import click

from archivesync.db.access import write_failure
from archivesync.db.quota import DEFAULT_DAILY_BUDGET, DEFAULT_SAFETY_MARGIN
from archivesync.errors import EXIT_ERROR, ArchiveSyncError, Interrupted
from archivesync.reporting import run_summary
from archivesync.urls import ChannelRef, parse_channel

if TYPE_CHECKING:
    from archivesync.sync.run import Outcome, Settings

DEFAULT_RECENT_DAYS = 30  # Settings.recent_days (tests/test_cli_imports.py checks they agree)


def closed_pipe_exit(code: int | str | None = 0) -> NoReturn:
    """The reader stopped reading (`archivesync status | head -5`): not an error, exit 0.

    stdout goes to /dev/null first, or Python would fail again flushing it at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


def fail_cleanly(func):
    """Our errors become `Error: ...` and their exit code, not a traceback.

    A closed pipe (`archivesync sql ... | head`) ends the command quietly, as in any Unix tool.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Interrupted as e:  # stopped by a signal before a run began (waiting for the lease)
            click.echo(f"Error: {e}", err=True)
            sys.exit(signal_exit_code(e.exit_code))
        except ArchiveSyncError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(e.exit_code)
        except BrokenPipeError:
            closed_pipe_exit()
        except sqlite3.OperationalError as e:
            # A write refused after the checks at start (file made read-only meanwhile, say).
            readonly = (getattr(e, "sqlite_errorname", "") or "").startswith("SQLITE_READONLY")
            if not readonly or "db_path" not in kwargs:
                raise
            click.echo(f"Error: {write_failure(kwargs['db_path'], e)}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


def db_option(func):
    """The --db option every command takes."""
    return click.option(
        "--db",
        "db_path",
        required=True,
        # readable=False: our own checks say which permission is missing and who may grant it.
        type=click.Path(dir_okay=False, readable=False),
        help="Path to the SQLite index.",
    )(func)


OUTPUT_FLAGS = {
    "csv": "CSV with a header (RFC 4180, UTF-8).",
    "tsv": "Tab-separated values with a header.",
    "json": "A JSON array of objects.",
    "nl": "Newline-delimited JSON: one object a line (with or without --json).",
}


def output_options(func):
    """--csv, --tsv, --json, --nl: the output formats, spelled as sqlite-utils spells them."""
    for flag, text in reversed(OUTPUT_FLAGS.items()):
        func = click.option(f"--{flag}", f"out_{flag}", is_flag=True, help=text)(func)
    return func


def output_format(out_csv=False, out_tsv=False, out_json=False, out_nl=False, legacy=None):
    """The one format the flags ask for (csv, tsv, json, jsonl) or None; two is a usage error.

    `--json --nl` is JSON Lines, as in sqlite-utils; `legacy` is an older spelling such as
    export's `--format jsonl`, which must agree with any flag given.
    """
    chosen = [f for f, on in (("csv", out_csv), ("tsv", out_tsv)) if on]
    if out_nl:
        chosen.append("jsonl")
    elif out_json:
        chosen.append("json")
    if legacy is not None and legacy not in chosen:
        chosen.append(legacy)
    if len(chosen) > 1:
        flags = {"jsonl": "nl"}
        raise click.UsageError(
            "give one output format, not " + " and ".join(f"--{flags.get(f, f)}" for f in chosen)
        )
    return chosen[0] if chosen else None


class ChannelParam(click.ParamType):
    """A channel as people paste it: UC id, channel URL, @handle or handle URL."""

    name = "channel"

    def convert(self, value, param, ctx):
        """The option's text as a ChannelRef; a usage error for anything else."""
        if isinstance(value, ChannelRef):
            return value
        try:
            return parse_channel(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


CHANNEL_HELP = "Channel id (UC...), channel URL, @handle or handle URL."


def resolved_channel(db_path, ref: ChannelRef, *, api_key, endpoint, settings) -> str:
    """The channel id for `ref`; a handle is looked up (1 unit) and the id shown."""
    from archivesync.sync.channel import resolve_channel  # the API client: only when syncing

    channel_id = resolve_channel(
        db_path, ref, api_key=api_key, endpoint=endpoint, settings=settings
    )
    if ref.handle:
        click.echo(f"{ref.handle} is channel {channel_id}", err=True)
    return channel_id


def endpoint_option(func):
    """The --api-endpoint option (or ARCHIVESYNC_API_ENDPOINT)."""
    return click.option(
        "--api-endpoint",
        envvar="ARCHIVESYNC_API_ENDPOINT",
        default=None,
        help="API base URL (default: Google's; env ARCHIVESYNC_API_ENDPOINT).",
    )(func)


def oauth_token_option(func):
    """The --oauth-token option (or its environment variable) of every command that needs the
    channel owner's consent."""
    # Imported here: oauth.py brings google-auth, which `archivesync search` never needs.
    from archivesync.oauth import TOKEN_FILE_ENV

    return click.option(
        "--oauth-token",
        "oauth_token",
        envvar=TOKEN_FILE_ENV,
        type=click.Path(dir_okay=False),
        help=f"Token file written by `archivesync auth` (env {TOKEN_FILE_ENV}).",
    )(func)


def log_options(func):
    """The --log-format and -v options."""
    func = click.option(
        "--log-format",
        type=click.Choice(["plain", "json"]),
        default="plain",
        show_default=True,
        help="Log line format on stderr.",
    )(func)
    return click.option("-v", "--verbose", is_flag=True, help="Log more detail.")(func)


def daily_budget_option(help_text: str):
    """The --daily-budget option (env ARCHIVESYNC_DAILY_BUDGET), with a command's own help."""
    return click.option(
        "--daily-budget",
        type=click.IntRange(min=1),
        default=DEFAULT_DAILY_BUDGET,
        show_default=True,
        envvar="ARCHIVESYNC_DAILY_BUDGET",
        help=help_text,
    )


def settings_options(func):
    """Quota and sync knobs shared by sync, resync and daemon."""
    options = [
        daily_budget_option("Quota units a Pacific-time day (env ARCHIVESYNC_DAILY_BUDGET)."),
        click.option(
            "--safety-margin",
            type=click.IntRange(min=0),
            default=DEFAULT_SAFETY_MARGIN,
            show_default=True,
            envvar="ARCHIVESYNC_SAFETY_MARGIN",
            help="Units of the budget kept back (env ARCHIVESYNC_SAFETY_MARGIN).",
        ),
        click.option(
            "--recent-days",
            type=click.IntRange(min=0),
            default=DEFAULT_RECENT_DAYS,
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


def make_settings(daily_budget, safety_margin, recent_days, feed_probe) -> Settings:
    """Settings from the quota and sync options, checking that they fit together."""
    from archivesync.sync.run import Settings

    if safety_margin >= daily_budget:
        raise click.BadParameter(
            "must be smaller than --daily-budget", param_hint="--safety-margin"
        )
    return Settings(
        daily_budget=daily_budget,
        safety_margin=safety_margin,
        recent_days=recent_days,
        feed_probe=feed_probe,
    )


# The signal that stopped this command, for its exit status (the CLI runs one command).
_stopped_by: int | None = None


def signal_exit_code(default: int) -> int:
    """128 + the signal that stopped the command (130 Ctrl-C, 143 SIGTERM), as shells do.

    A stopped sync must not look like a finished one to `sync && export`. `default` if no
    signal came.
    """
    return 128 + _stopped_by if _stopped_by else default


def stop_on_signals() -> threading.Event:
    """SIGTERM/SIGINT finish the current page and record the run, instead of killing it."""
    stop = threading.Event()

    def handler(signum, frame):
        global _stopped_by
        if stop.is_set():  # a second Ctrl-C means now; the next run marks this one interrupted
            raise SystemExit(128 + signum)  # click would turn KeyboardInterrupt into exit 1
        logging.getLogger("archivesync").warning(
            "%s: stopping after the current page", signal.Signals(signum).name
        )
        _stopped_by = signum
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def finish(outcome: Outcome, as_json: bool = False) -> None:
    """Print the run's summary (or JSON) and exit with its code; 130/143 if a signal ended it."""
    code = outcome.exit_code
    if outcome.status == "interrupted":
        code = signal_exit_code(code)
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
        click.echo(run_summary(outcome), err=code != 0)
    sys.exit(code)
