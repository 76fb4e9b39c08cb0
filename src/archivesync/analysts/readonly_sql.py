"""Run an analyst's SQL against the index with no way to change it.

Three locks, each enough on its own for the common case, together for the odd one:

1. the connection is ``mode=ro`` with ``PRAGMA query_only`` (`schema.open_readonly`), and
   extension loading is off;
2. only statements starting with SELECT, WITH, VALUES, EXPLAIN or PRAGMA are run, one at a time
   (VACUUM INTO writes a new file even on a read-only connection, so it must never be prepared);
3. an authorizer (`sqlite3.Connection.set_authorizer`) allows reading and nothing else: no
   write, DDL, ATTACH/DETACH, transaction, ``load_extension``, nor a PRAGMA that sets something.
   It sees every statement SQLite prepares, including those inside views and FTS5 tables.

The same guard stands on every connection Datasette opens on the index (the plugin's
`prepare_connection`), with two more limits there (`limit_connection`), because a visitor can
send SQL: no single value (a string, a blob, a row) may exceed `VALUE_LIMIT` bytes, so
``zeroblob(1000000000)`` is refused by SQLite itself before any memory is taken, and no answer may
hold more than `ANSWER_LIMIT` bytes, so many medium rows cannot add up to a large one either.
Tables that only staff may read (`STAFF_TABLES`) are refused on those connections; the console
reads them through `staff_reads()`.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import unicodedata
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlite_utils import Database

from archivesync.db.schema import open_readonly
from archivesync.errors import SqlError, SqlRefused

__all__ = [
    "SqlError",
    "SqlRefused",
    "display_width",
    "first_keyword",
    "format_table",
    "install_guard",
    "limit_connection",
    "open_guarded",
    "run_query",
    "staff_reads",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Refused by name, for a clear message; anything else that is not an allowed statement is a
# syntax error SQLite will report (the authorizer still stands behind this list).
REFUSED_STATEMENTS = _words(
    """ALTER ANALYZE ATTACH BEGIN COMMIT CREATE DELETE DETACH DROP END INSERT REINDEX RELEASE
    REPLACE ROLLBACK SAVEPOINT UPDATE UPSERT VACUUM"""
)

# PRAGMAs that only report, without an argument...
READ_PRAGMAS = _words(
    """application_id auto_vacuum automatic_index busy_timeout cache_size cache_spill
    cell_size_check checkpoint_fullfsync collation_list compile_options data_version
    database_list defer_foreign_keys encoding foreign_key_check foreign_key_list foreign_keys
    freelist_count fullfsync function_list hard_heap_limit ignore_check_constraints
    index_info index_list index_xinfo integrity_check journal_mode journal_size_limit
    legacy_alter_table locking_mode max_page_count mmap_size module_list page_count page_size
    pragma_list query_only quick_check read_uncommitted recursive_triggers
    reverse_unordered_selects schema_version secure_delete soft_heap_limit synchronous
    table_info table_list table_xinfo temp_store threads trusted_schema user_version
    wal_autocheckpoint"""
)
# ...and those whose argument names what to report on rather than a value to set.
READ_PRAGMAS_WITH_ARGUMENT = _words(
    """foreign_key_check foreign_key_list index_info index_list index_xinfo integrity_check
    quick_check table_info table_list table_xinfo"""
)
# Settings of the connection only, never of the file: sqlite-utils' Database() sets this one.
SESSION_PRAGMAS = _words("recursive_triggers")
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})

# The largest value (string, blob or row) a web connection may build or read, and the most an
# answer may hold in all. The longest value the index keeps is a caption file (a few hundred
# KB for a long lecture); the rest are a few KB at most.
VALUE_LIMIT = 4_000_000
ANSWER_LIMIT = 16_000_000
# Who asked for what, and who did what: staff only (the console checks the role, then reads
# them inside `staff_reads()`); on a guarded web connection reading them is refused.
STAFF_TABLES = frozenset({"audit_log", "sessions"})
STAFF_COLUMNS = frozenset({("sync_requests", "requested_by")})
_staff = threading.local()


@contextlib.contextmanager
def staff_reads():
    """Let statements run in this thread read the staff-only tables (the console, for staff)."""
    _staff.on = True
    try:
        yield
    finally:
        _staff.on = False


# Authorizer action codes by name (the module's SQLITE_* error codes share the numbers).
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in _words(
        """CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE
    CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE
    DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW
    INSERT TRANSACTION UPDATE ATTACH DETACH ALTER_TABLE REINDEX ANALYZE CREATE_VTABLE
    DROP_VTABLE SAVEPOINT"""
    )
}
_SCHEMA_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master"})
_PREPOSITIONS = {"INSERT": "into", "DELETE": "from", "UPDATE": "of"}


_COMMENT_OR_SPACE = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?(?:\*/|\Z))", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")


def first_keyword(sql: str) -> str:
    """The statement's first word in upper case, after comments and whitespace ("" if none)."""
    position = 0
    while match := _COMMENT_OR_SPACE.match(sql, position):
        if match.end() == position:
            break
        position = match.end()
    word = _WORD.match(sql, position)
    return word.group(0).upper() if word else ""


class _Guard:
    """The authorizer, remembering what it refused so that the message can say it."""

    def __init__(self, web: bool = False) -> None:
        self.refused: str | None = None
        self.web = web

    def __call__(self, action, arg1, arg2, db_name, source) -> int:
        if action == sqlite3.SQLITE_READ and self.web and not getattr(_staff, "on", False):
            # No column (count(*)): how many rows is not a secret, and Datasette counts them.
            if arg1 in STAFF_TABLES and arg2:
                return self._deny(f"reading {arg1} (staff only, on the console)")
            if (arg1, arg2) in STAFF_COLUMNS:
                return sqlite3.SQLITE_IGNORE  # reads as NULL
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if self.web and action in (sqlite3.SQLITE_SAVEPOINT, sqlite3.SQLITE_TRANSACTION):
            # sqlite-utils wraps each console read in a savepoint; Datasette itself only lets
            # a visitor's SQL be one SELECT, on a connection that is mode=ro and query_only.
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES:
            # SQLite asks this while it connects a virtual table (FTS5, pragma_table_info):
            # it only reads the schema. A real UPDATE of the schema table would need
            # PRAGMA writable_schema, which is refused, on a connection that is mode=ro anyway.
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() not in DENIED_FUNCTIONS:
                return sqlite3.SQLITE_OK
            return self._deny(f"the function {arg2}()")
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if arg2 is None and name in READ_PRAGMAS:
                return sqlite3.SQLITE_OK
            if arg2 is not None and name in READ_PRAGMAS_WITH_ARGUMENT | SESSION_PRAGMAS:
                return sqlite3.SQLITE_OK
            setting = f" = {arg2}" if arg2 is not None else ""
            return self._deny(f"PRAGMA {arg1}{setting}")
        what = _ACTION_NAMES.get(action, f"authorizer action {action}")
        if action == sqlite3.SQLITE_TRANSACTION:
            return self._deny(f"{arg1} (transactions)")
        if what in _PREPOSITIONS and arg1:
            return self._deny(f"{what} {_PREPOSITIONS[what]} {arg1}")
        return self._deny(f"{what} {arg1}" if arg1 else what)

    def _deny(self, what: str) -> int:
        if self.refused is None:
            self.refused = what
        return sqlite3.SQLITE_DENY


def install_guard(conn: sqlite3.Connection, *, web: bool = False) -> _Guard:
    """Make `conn` read-only at the statement level (see the module docstring).

    `web`: a Datasette connection, where staff-only tables are refused outside `staff_reads()`.
    """
    # Pythons built without extension support have no such method, and no way to load one.
    if hasattr(conn, "enable_load_extension"):
        conn.enable_load_extension(False)
    guard = _Guard(web)
    conn.set_authorizer(guard)
    return guard


class AnswerTooLarge(sqlite3.OperationalError):
    """An answer grew past ANSWER_LIMIT bytes."""


def _value_size(value) -> int:
    if isinstance(value, str | bytes):
        return len(value) + 16
    return 16


def limit_connection(conn: sqlite3.Connection) -> None:
    """Cap the size of any value (`VALUE_LIMIT`) and of any answer (`ANSWER_LIMIT`) on `conn`."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_LIMIT)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)
    sizes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    make_row = conn.row_factory

    # Called for every row fetched, before the row is kept: the count is per cursor, that is
    # per statement, and the answer stops growing the moment it passes the limit.
    def counting_row(cursor, row):
        size = sizes.get(cursor, 0) + sum(_value_size(v) for v in row)
        sizes[cursor] = size
        if size > ANSWER_LIMIT:
            raise AnswerTooLarge(
                f"the answer is larger than {ANSWER_LIMIT // 1_000_000} MB: "
                "ask for fewer rows or shorter columns"
            )
        return make_row(cursor, row) if make_row else row

    conn.row_factory = counting_row


def open_guarded(path: str | Path) -> tuple[Database, _Guard]:
    """Open the index read-only with the statement guard installed."""
    db = open_readonly(path)
    return db, install_guard(db.conn)


_READ_ONLY_HINT = (
    "archivesync only reads here: SELECT, WITH, VALUES, EXPLAIN and PRAGMAs that report"
)


def run_query(
    conn: sqlite3.Connection,
    guard: _Guard,
    sql: str,
    params: Sequence | dict | None = None,
) -> tuple[list[str], Iterator[tuple]]:
    """Column names and a row iterator for one read-only statement.

    Raises SqlRefused (it would change something, or is more than one statement) or SqlError.
    Rows are fetched lazily, so an export streams; errors while fetching are SqlError too.
    """
    keyword = first_keyword(sql)
    if not keyword:
        raise SqlError("the SQL is empty")
    if keyword in REFUSED_STATEMENTS:
        raise SqlRefused(f"refused: {keyword} statements are not allowed; {_READ_ONLY_HINT}")
    guard.refused = None
    try:
        cursor = conn.execute(sql, params or ())
    except (sqlite3.Warning, sqlite3.ProgrammingError) as e:
        if "one statement" in str(e):
            raise SqlRefused("refused: give one SQL statement at a time") from None
        raise SqlError(f"SQL error: {e}") from None
    except sqlite3.DatabaseError as e:
        if guard.refused is not None or "not authorized" in str(e):
            what = guard.refused or "this statement"
            raise SqlRefused(f"refused: {what} is not allowed; {_READ_ONLY_HINT}") from None
        raise SqlError(f"SQL error: {e}") from None
    columns = [d[0] for d in cursor.description or ()]
    return columns, _rows(cursor)


def _rows(cursor: sqlite3.Cursor) -> Iterator[tuple]:
    try:
        while batch := cursor.fetchmany(500):
            yield from batch
    except sqlite3.DatabaseError as e:
        raise SqlError(f"SQL error: {e}") from None
    finally:
        cursor.close()


# --------------------------------------------------------------------------------------------
# A readable table for the terminal
# --------------------------------------------------------------------------------------------

MAX_CELL_WIDTH = 60


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide and full-width characters (漢字, ＤＸ) take two."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def cell_text(value) -> str:
    """A value as text for a table cell: '' for NULL, hex for bytes."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.hex()
    # Newlines and tabs would break the row; descriptions are full of them.
    return str(value).replace("\r\n", "\n").replace("\n", "⏎").replace("\t", " ")


def _clip(text: str, limit: int) -> str:
    if display_width(text) <= limit:
        return text
    out, width = [], 0
    for ch in text:
        w = display_width(ch)
        if width + w > limit - 1:
            break
        out.append(ch)
        width += w
    return "".join(out) + "…"


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - display_width(text))
    return gap + text if right else text + gap


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence], max_width: int = MAX_CELL_WIDTH
) -> str:
    """Rows as an aligned text table; long cells are cut with "…" (use --json for all)."""
    if not columns:
        return ""
    cells = [[_clip(cell_text(v), max_width) for v in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]
    widths = [
        max([display_width(c), *(display_width(row[i]) for row in cells)])
        for i, c in enumerate(columns)
    ]
    lines = [
        "  ".join(_pad(c, w, False) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in cells:
        lines.append(
            "  ".join(
                _pad(v, w, right) for v, w, right in zip(row, widths, numeric, strict=True)
            ).rstrip()
        )
    count = len(rows)
    lines.append(f"({count} row{'s' if count != 1 else ''})")
    return "\n".join(lines)
