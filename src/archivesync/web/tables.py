"""Tables for Excel: the console's CSV and .xlsx, with Japanese headers and Tokyo times.

The raw Datasette CSV (`.csv`) keeps column names and UTC for programs; everything here is for
people opening a file in Excel: Japanese headers, times in JST, and a text cell that begins
with = + - @ (or a tab or carriage return) neutralised so that Excel never runs it as a
formula (a video title is written by whoever uploads it).

.xlsx is written with openpyxl rather than a Datasette plugin such as datasette-xlsx: the
console's own pages (search results, requests, chapters) are not Datasette tables, openpyxl
gives control of headers, number formats, column widths and cell types in one place for both
the console and Datasette's views, and it is the most used Python xlsx library; the tests
read the files back with it.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from datasette.utils.asgi import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from archivesync.timestamps import read_iso
from archivesync.web.labels import COLUMN_LABELS
from archivesync.web.text import TOKYO

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What makes Excel (and LibreOffice) read a text cell as a formula or a command.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A stored UTC time: 2024-05-01T03:00:00Z (seconds and fractions optional).
UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$")
MAX_WIDTH = 60


@dataclass(frozen=True)
class Column:
    """One column of an export: the key in each row and the Japanese header."""

    key: str
    label: str


def neutralise(value):
    """A text that Excel would take for a formula, prefixed with ' (shown as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _tokyo(value):
    """A stored UTC time as a naive Tokyo datetime (Excel has no time zones); else as is."""
    if isinstance(value, str) and UTC_TIME.match(value):
        return read_iso(value).astimezone(TOKYO).replace(tzinfo=None)
    return value


def _text_width(value) -> int:
    """How many Latin characters wide a value shows: a CJK character counts two."""
    text = value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cells(columns: Sequence[Column], rows: Iterable) -> list[list]:
    """Row values in column order (rows are mappings or sequences), times in Tokyo time."""
    out = []
    for row in rows:
        values = [row[c.key] for c in columns] if hasattr(row, "keys") else list(row)
        out.append([_tokyo(v.hex() if isinstance(v, bytes) else v) for v in values])
    return out


def _csv_cell(value):
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return neutralise(value)


def csv_bytes(columns: Sequence[Column], rows: Iterable) -> bytes:
    """CSV for Excel: a UTF-8 BOM (else Excel reads Shift_JIS), CRLF, formulas neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    for values in _cells(columns, rows):
        writer.writerow([_csv_cell(v) for v in values])
    return out.getvalue().encode("utf-8")


def xlsx_bytes(columns: Sequence[Column], rows: Iterable, sheet: str = "データ") -> bytes:
    """An .xlsx workbook: bold Japanese headers, JST times, widths that fit the text."""
    book = Workbook()
    ws = book.active
    ws.title = sheet[:31]
    for i, column in enumerate(columns, start=1):
        ws.cell(row=1, column=i, value=column.label).font = Font(bold=True)
    widths = [_text_width(c.label) for c in columns]
    for r, values in enumerate(_cells(columns, rows), start=2):
        for i, value in enumerate(values):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters xlsx refuses
            cell = ws.cell(row=r, column=i + 1, value=value)
            if isinstance(value, str):
                # openpyxl stores "=..." as a formula: make it a text cell, marked as Excel
                # marks a typed '= (quotePrefix) so that editing the cell keeps it text.
                cell.data_type = "s"
                if value.startswith(FORMULA_START):
                    cell.quotePrefix = True
            elif hasattr(value, "strftime"):
                cell.number_format = "yyyy-mm-dd hh:mm"
            if value is not None:
                widths[i] = max(widths[i], _text_width(value))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
            MAX_WIDTH, width + 2
        )
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_response(fmt: str, stem: str, columns: Sequence[Column], rows: Iterable) -> Response:
    """The rows as a download: `fmt` is "csv" (for Excel) or "xlsx"."""
    if fmt == "xlsx":
        body, kind = xlsx_bytes(columns, rows), XLSX_TYPE
    else:
        body, kind = csv_bytes(columns, rows), "text/csv; charset=utf-8"
    return Response(
        body,
        content_type=kind,
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(stem)}.{fmt}"},
    )


def labelled(names: Sequence[str]) -> list[Column]:
    """Columns named by the index's column names, headed in Japanese where a label is known."""
    return [Column(name, COLUMN_LABELS.get(name, name)) for name in names]


def export_format(request) -> str | None:
    """The export a page is asked for (`?format=csv` or `?format=xlsx`), else None."""
    fmt = request.args.get("format")
    return fmt if fmt in FORMATS else None
