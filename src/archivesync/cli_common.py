"""Decorators shared by the CLI modules (cli.py imports the query commands, so they cannot
import cli.py back)."""

from __future__ import annotations

import functools
import os
import sys

import click

from .errors import ArchiveSyncError


def fail_cleanly(func):
    """Our errors become `Error: ...` and their exit code, not a traceback.

    A closed pipe (`archivesync sql ... | head`) ends the command quietly, as in any Unix tool.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ArchiveSyncError as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(e.exit_code)
        except BrokenPipeError:
            # Python would complain again when it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)

    return wrapper


def db_option(func):
    return click.option(
        "--db",
        "db_path",
        required=True,
        type=click.Path(dir_okay=False),
        help="Path to the SQLite index.",
    )(func)
