"""Export a table, a view or a query as CSV, TSV, JSON or JSON Lines, streaming row by row.

CSV follows RFC 4180 (CRLF line ends, quotes only where needed) and is UTF-8. Excel guesses
the encoding of a CSV file it opens by double-click from the system code page (Shift_JIS on a
Japanese Windows) unless the file starts with a UTF-8 byte order mark, so Japanese text turns
to mojibake without one. Hence: a CSV written to a file gets the BOM unless --no-bom; a CSV
written to stdout does not (it is usually piped to another program) unless --bom.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from sqlite_utils.db import quote_identifier

from archivesync.analysts.readonly_sql import open_guarded, run_query
from archivesync.errors import ExportError

__all__ = ["FORMATS", "ExportError", "export", "exportable", "write_rows"]

FORMATS = ("csv", "tsv", "json", "jsonl")
# Spellings that name the same format (sqlite-utils calls JSON Lines "nl").
FORMAT_ALIASES = {"nl": "jsonl"}
BOM = "\ufeff"


def _value(value):
    # SQLite gives str, int, float, None or bytes; bytes have no JSON or CSV form of their own.
    return value.hex() if isinstance(value, bytes) else value


def _csv_rows(text: io.TextIOBase, columns, rows, delimiter: str = ",") -> int:
    writer = csv.writer(text, lineterminator="\r\n", delimiter=delimiter)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else _value(v) for v in row])
        count += 1
    return count


def _json_line(columns, row) -> str:
    return json.dumps({c: _value(v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False)


def write_rows(
    stream: BinaryIO,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    fmt: str,
    *,
    bom: bool = False,
) -> int:
    """Write `rows` to a binary stream as `fmt`, one row at a time; returns the row count."""
    fmt = FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    # newline="" so that csv's CRLF and JSON's LF reach the stream as written, on any OS.
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        if bom:
            text.write(BOM)
        if fmt in ("csv", "tsv"):
            count = _csv_rows(text, columns, rows, "," if fmt == "csv" else "\t")
        elif fmt == "jsonl":
            count = 0
            for count, row in enumerate(rows, start=1):  # noqa: B007 (count is the result)
                text.write(_json_line(columns, row) + "\n")
        else:
            count = 0
            text.write("[")
            for row in rows:
                text.write(("\n" if count == 0 else ",\n") + _json_line(columns, row))
                count += 1
            text.write("\n]\n" if count else "]\n")
        text.flush()
    finally:
        text.detach()  # the caller owns the stream: do not close it
    return count


# Internal tables: the search index is a contentless FTS5 table (its columns read as NULL) and
# its shadow tables hold binary index pages.
_INTERNAL = ("search_fts", "sqlite_")


def exportable(conn) -> tuple[list[str], list[str]]:
    """(tables, views) that can be exported, sorted by name."""
    rows = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name"
    ).fetchall()
    tables = [n for t, n in rows if t == "table" and not n.startswith(_INTERNAL)]
    views = [n for t, n in rows if t == "view"]
    return tables, views


def _source_sql(conn, table: str | None, view: str | None) -> str:
    tables, views = exportable(conn)
    if table is not None:
        if table not in tables:
            hint = " (it is a view: use --view)" if table in views else ""
            raise ExportError(
                f"no table named {table!r}{hint}; tables: {', '.join(tables) or 'none'}"
            )
        return f"SELECT * FROM {quote_identifier(table)}"
    assert view is not None
    if view not in views:
        hint = " (it is a table: use --table)" if view in tables else ""
        raise ExportError(f"no view named {view!r}{hint}; views: {', '.join(views) or 'none'}")
    return f"SELECT * FROM {quote_identifier(view)}"


def export(
    db_path: str | Path,
    *,
    table: str | None = None,
    view: str | None = None,
    sql: str | None = None,
    fmt: str = "csv",
    bom: bool | None = None,
    output: str | Path | None = None,
    stdout: BinaryIO | None = None,
) -> int:
    """Export one source (exactly one of table, view, sql); returns the number of rows.

    `bom=None` means: a BOM for CSV written to a file, none otherwise. A file is written under
    a temporary name and renamed at the end, so a failed export never leaves half a file.
    `sql` goes through the same read-only guard as `archivesync sql`.
    """
    if sum(x is not None for x in (table, view, sql)) != 1:
        raise ValueError("give exactly one of table, view, sql")
    fmt = FORMAT_ALIASES.get(fmt, fmt)
    if bom is None:
        bom = fmt in ("csv", "tsv") and output is not None
    db, guard = open_guarded(db_path)
    try:
        query = sql if sql is not None else _source_sql(db.conn, table, view)
        columns, rows = run_query(db.conn, guard, query)
        if output is None:
            if stdout is None:
                raise ValueError("no output: give output or stdout")
            return write_rows(stdout, columns, rows, fmt, bom=bom)
        return _write_file(Path(output), columns, rows, fmt, bom)
    finally:
        db.close()


def _write_file(path: Path, columns, rows, fmt: str, bom: bool) -> int:
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: directory does not exist")
    # Not mkstemp: its 0600 mode would stay on the renamed file; open() honours the umask.
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "xb") as f:
            count = write_rows(f, columns, rows, fmt, bom=bom)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write {str(path)!r}: {e.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
