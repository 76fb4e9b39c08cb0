"""The analysts' commands: sql, tables, schema, export, serve (search is in cli/search.py).
Each opens the index read-only; `archivesync.cli.COMMANDS` names them.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from archivesync.analysts import export as export_mod
from archivesync.analysts.catalog import schema_sql, table_rows
from archivesync.analysts.readonly_sql import format_table, open_guarded, run_query
from archivesync.analysts.serve_checks import check_serve
from archivesync.cli.common import (
    daily_budget_option,
    db_option,
    fail_cleanly,
    output_format,
    output_options,
)
from archivesync.cli.notify import PublicUrl, record_public_url
from archivesync.db.schema import open_readonly
from archivesync.db.views import VIEWS
from archivesync.errors import ConfigError, DatasetteMissing

__all__ = [
    "export_command",
    "schema_command",
    "serve_command",
    "sql_command",
    "tables_command",
]


def _stdout_bytes():
    # Bytes, so that CSV's CRLF and UTF-8 reach the output unchanged on every OS.
    sys.stdout.flush()
    return sys.stdout.buffer


def _print_rows(columns, rows, fmt: str | None) -> None:
    """Rows in `fmt`, or as an aligned table when no format was asked for."""
    if fmt is not None:
        export_mod.write_rows(_stdout_bytes(), columns, rows, fmt)
    elif columns:
        click.echo(format_table(columns, list(rows)))


@click.command("sql")
@db_option
@output_options
@click.argument("sql")
@fail_cleanly
def sql_command(db_path, out_csv, out_tsv, out_json, out_nl, sql):
    """Run one read-only SQL statement and print the rows (a table by default).

    Only SELECT, WITH, VALUES, EXPLAIN and PRAGMAs that report are run; anything that would
    change the file (writes, DDL, ATTACH, VACUUM, PRAGMA settings, load_extension) is refused.
    Long values are cut in the table: use --json, --nl, --csv or --tsv for all of them.
    """
    fmt = output_format(out_csv, out_tsv, out_json, out_nl)
    db, guard = open_guarded(db_path)
    try:
        columns, rows = run_query(db.conn, guard, sql)
        _print_rows(columns, rows, fmt)
    finally:
        db.close()


@click.command("tables")
@db_option
@click.option("--views", "with_views", is_flag=True, help="List the views too.")
@output_options
@fail_cleanly
def tables_command(db_path, with_views, out_csv, out_tsv, out_json, out_nl):
    """List the tables (and views) of the index with their row counts and columns."""
    fmt = output_format(out_csv, out_tsv, out_json, out_nl)
    db = open_readonly(db_path)
    try:
        columns, rows = table_rows(db, views=with_views)
    finally:
        db.close()
    _print_rows(columns, rows, fmt)


@click.command("schema")
@db_option
@click.argument("names", nargs=-1, metavar="[TABLE_OR_VIEW]...")
@fail_cleanly
def schema_command(db_path, names):
    """Print the SQL schema of the index, or of the tables and views named."""
    db = open_readonly(db_path)
    try:
        text = schema_sql(db, names)
    finally:
        db.close()
    if text:
        click.echo(text)


@click.command("export")
@db_option
@click.option("--table", help="Export this table (`archivesync tables` lists them).")
@click.option(
    "--view",
    help=f"Export this view: {', '.join(sorted(VIEWS))}.",
)
@click.option("--sql", "sql", help="Export the rows of this read-only query.")
@output_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*export_mod.FORMATS, *export_mod.FORMAT_ALIASES]),
    default=None,
    help="The same as --csv, --tsv, --json or --nl (jsonl/nl); kept for older scripts. "
    "Default: csv.",
)
@click.option(
    "--bom/--no-bom",
    default=None,
    help="Start the CSV/TSV with a UTF-8 byte order mark, which Excel needs to read Japanese "
    "text. Default: on when writing a CSV or TSV file (--output), off on stdout.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file (replaced at the end, only if the export succeeds); default stdout.",
)
@fail_cleanly
def export_command(db_path, table, view, sql, out_csv, out_tsv, out_json, out_nl, fmt, bom, output):
    """Export a table, a view or a query's rows, streaming (any size fits in memory).

    Formats: --csv (the default; RFC 4180, UTF-8), --tsv, --json (an array), --nl (one JSON
    object a line).
    """
    if sum(x is not None for x in (table, view, sql)) != 1:
        raise click.UsageError("give exactly one of --table, --view, --sql")
    legacy = export_mod.FORMAT_ALIASES.get(fmt, fmt)
    fmt = output_format(out_csv, out_tsv, out_json, out_nl, legacy=legacy) or "csv"
    if bom and fmt not in ("csv", "tsv"):
        raise click.UsageError("--bom only applies to CSV and TSV")
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


@click.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port (0: any free port, named in the first line printed).",
)
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Users file (`archivesync users add`): enables logins and the staff's resync form.",
)
@click.option(
    "--read-login",
    is_flag=True,
    help="Every page, Datasette's included, needs a login (needs --users).",
)
@click.option(
    "--session-idle",
    type=click.IntRange(1, 24 * 60),
    default=30,
    show_default=True,
    help="Minutes a console session may sit unused before it ends (sessions end after "
    "12 hours whatever happens).",
)
@click.option(
    "--public-url",
    type=PublicUrl(),
    help="The console's address as staff open it (https://... behind a proxy): recorded in "
    "the database, so the daemon's notifications link to it without a setting of their own.",
)
@daily_budget_option("Quota units a Pacific-time day, shown on the overview.")
@fail_cleanly
def serve_command(
    db_path, host, port, users_file, read_login, session_idle, public_url, daily_budget
):
    """Serve the Japanese web console and Datasette, read-only, on one port.

    Staff queue resyncs (with --users); analysts search, read videos and channels, and browse
    the tables in Datasette.
    """
    if read_login and not users_file:
        raise click.UsageError("--read-login needs --users")
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise DatasetteMissing(
            "Datasette is not installed: pip install 'archivesync[datasette]'"
        ) from None
    # Before starting: Datasette would start, then fail on every page or on the busy port.
    check_serve(db_path, host, port)
    if users_file:
        from archivesync.web.users import load

        load(users_file)  # a malformed file is an error now, not at the first login
    if public_url:
        record_public_url(db_path, public_url)
    from archivesync.web.app import serve

    try:
        serve(
            db_path,
            host,
            port,
            users_file=users_file,
            read_login=read_login,
            daily_budget=daily_budget,
            session_idle=timedelta(minutes=session_idle),
        )
    except OSError as e:  # port in use, address not available
        raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        sys.exit(0)
