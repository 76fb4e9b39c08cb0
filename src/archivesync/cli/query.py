"""The analysts' commands: search, sql, export, serve. Each opens the index read-only.

cli.py registers them (`cli.add_command(search_command, name="search")` and so on).
"""

from __future__ import annotations

import json
import sys

import click

from archivesync.analysts import export as export_mod
from archivesync.analysts.catalog import schema_sql, table_rows
from archivesync.analysts.readonly_sql import format_table, open_guarded, run_query
from archivesync.analysts.serve_checks import check_serve
from archivesync.cli.common import db_option, fail_cleanly, output_format, output_options
from archivesync.db.quota import DEFAULT_DAILY_BUDGET
from archivesync.db.schema import open_readonly
from archivesync.db.views import VIEWS
from archivesync.errors import ConfigError, DatasetteMissing, MissingIndex
from archivesync.parsing import format_duration
from archivesync.search.query import search
from archivesync.search.text import EmptyQuery

__all__ = [
    "export_command",
    "schema_command",
    "search_command",
    "serve_command",
    "sql_command",
    "tables_command",
]


def _stdout_bytes():
    # Bytes, so that CSV's CRLF and UTF-8 reach the output unchanged on every OS.
    sys.stdout.flush()
    return sys.stdout.buffer


def format_hits(hits: list[dict]) -> str:
    """Plain-text search results: one block per video, the link at the matching chapter."""
    blocks = []
    for hit in hits:
        lines = [hit["title"] or hit["video_id"]]
        if hit.get("removed_at"):
            lines[0] += f"  (removed {hit['removed_at']})"
        lines.append(f"  {hit['chapter_url'] or hit['url']}")
        if hit["chapter_position"] is not None:
            at = format_duration(hit["start_seconds"], hours=True) or ""
            lines.append(f"  chapter {hit['chapter_position']} at {at}: {hit['chapter_title']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class _SearchCommand(click.Command):
    """Unknown options are usage errors; a dash before a non-ASCII word is part of the query.

    `--limt 3` must not become search words, but "-防災" cannot be an option of ours: such
    words go after a `--` before click parses, as a user could have typed them.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            head, tail = args[:cut], args[cut:]
        else:
            head, tail = args, []
        words = [a for a in head if _is_dash_word(a)]
        if words:
            head = [a for a in head if not _is_dash_word(a)]
            tail = ["--", *words, *tail[1:]]
        return super().parse_args(ctx, head + tail)


def _is_dash_word(arg: str) -> bool:
    return len(arg) > 1 and arg[0] == "-" and not arg[1].isascii()


@click.command("search", cls=_SearchCommand)
@db_option
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Most hits shown."
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON array.")
@click.option("--include-removed", is_flag=True, help="Also search videos no longer online.")
@click.argument("query", nargs=-1, required=True)
@fail_cleanly
def search_command(db_path, limit, as_json, include_removed, query):
    """Find videos whose title, description, tags or chapter titles contain every word.

    Case and full-/half-width are ignored (ＤＸ finds DX); Japanese words of any length are
    found inside longer text (人材 in 人材育成). Everything in QUERY is taken literally; put
    `--` before a query that starts with an ASCII dash (`-- -DX`).
    Videos with every word in the title come first, then those with every word in the title
    or a chapter title (linked at that chapter), then the rest; newest first within each.
    """
    db = open_readonly(db_path)
    try:
        if not db["search_fts"].exists():
            raise MissingIndex(
                "this index has no search tables yet: open it once with this version of "
                "archivesync for writing (e.g. run `archivesync sync`) to add them"
            )
        try:
            hits = search(db, " ".join(query), limit=limit, include_removed=include_removed)
        except EmptyQuery as e:
            raise click.UsageError(str(e)) from None
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(hits, ensure_ascii=False, indent=2))
    elif hits:
        click.echo(format_hits(hits))
    else:
        click.echo("No videos match.", err=True)


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
    "--daily-budget",
    type=click.IntRange(min=1),
    default=DEFAULT_DAILY_BUDGET,
    show_default=True,
    envvar="ARCHIVESYNC_DAILY_BUDGET",
    help="Quota units a Pacific-time day, shown on the overview.",
)
@fail_cleanly
def serve_command(db_path, host, port, users_file, read_login, daily_budget):
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
    from archivesync.analysts.datasette_plugin import serve

    try:
        serve(
            db_path,
            host,
            port,
            users_file=users_file,
            read_login=read_login,
            daily_budget=daily_budget,
        )
    except OSError as e:  # port in use, address not available
        raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        sys.exit(0)
