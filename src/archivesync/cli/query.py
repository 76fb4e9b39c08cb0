"""The analysts' commands: sql, export, serve (search is in cli/search.py). Each opens the
index read-only; `archivesync.cli.COMMANDS` names them.
"""

from __future__ import annotations

import sys

import click

from archivesync.analysts import export as export_mod
from archivesync.analysts.readonly_sql import format_table, open_guarded, run_query
from archivesync.cli.common import db_option, fail_cleanly
from archivesync.db.schema import open_readonly
from archivesync.errors import ArchiveSyncError, ConfigError

__all__ = ["export_command", "serve_command", "sql_command"]


def _stdout_bytes():
    # Bytes, so that CSV's CRLF and UTF-8 reach the output unchanged on every OS.
    sys.stdout.flush()
    return sys.stdout.buffer


@click.command("sql")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of objects.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header (RFC 4180).")
@click.argument("sql")
@fail_cleanly
def sql_command(db_path, as_json, as_csv, sql):
    """Run one read-only SQL statement and print the rows (a table by default).

    Only SELECT, WITH, VALUES, EXPLAIN and PRAGMAs that report are run; anything that would
    change the file (writes, DDL, ATTACH, VACUUM, PRAGMA settings, load_extension) is refused.
    Long values are cut in the table: use --json or --csv for all of them.
    """
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    db, guard = open_guarded(db_path)
    try:
        columns, rows = run_query(db.conn, guard, sql)
        if as_json:
            export_mod.write_rows(_stdout_bytes(), columns, rows, "json")
        elif as_csv:
            export_mod.write_rows(_stdout_bytes(), columns, rows, "csv")
        elif columns:
            click.echo(format_table(columns, list(rows)))
    finally:
        db.close()


@click.command("export")
@db_option
@click.option("--table", help="Export this table.")
@click.option("--view", help="Export this view (see `archivesync sql` for the list).")
@click.option("--sql", "sql", help="Export the rows of this read-only query.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(export_mod.FORMATS),
    default="csv",
    show_default=True,
    help="csv (RFC 4180, UTF-8), json (an array) or jsonl (one object a line).",
)
@click.option(
    "--bom/--no-bom",
    default=None,
    help="Start the CSV with a UTF-8 byte order mark, which Excel needs to read Japanese "
    "text. Default: on when writing a CSV file (--output), off on stdout.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (replaced at the end, only if the export succeeds); default stdout.",
)
@fail_cleanly
def export_command(db_path, table, view, sql, fmt, bom, output):
    """Export a table, a view or a query's rows, streaming (any size fits in memory)."""
    if sum(x is not None for x in (table, view, sql)) != 1:
        raise click.UsageError("give exactly one of --table, --view, --sql")
    if bom and fmt != "csv":
        raise click.UsageError("--bom only applies to --format csv")
    count = export_mod.export(
        db_path,
        table=table,
        view=view,
        sql=sql,
        fmt=fmt,
        bom=bom,
        output=output,
        stdout=None if output else _stdout_bytes(),
    )
    if output:
        click.echo(f"{count} row{'s' if count != 1 else ''} written to {output}", err=True)


class DatasetteMissing(ArchiveSyncError):
    """The optional extra is not installed."""


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="Port."
)
@fail_cleanly
def serve_command(db_path, host, port):
    """Browse the index in Datasette, read-only, with descriptions and ready-made queries."""
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise DatasetteMissing(
            "Datasette is not installed: pip install 'archivesync[datasette]'"
        ) from None
    # Refuse a missing file before starting: Datasette would start and fail on every page.
    open_readonly(db_path).close()
    from archivesync.analysts.datasette_plugin import serve

    try:
        serve(db_path, host, port)
    except OSError as e:  # port in use, address not available
        raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        sys.exit(0)
