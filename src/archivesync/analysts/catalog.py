"""What is in an index: its tables and views with row counts, and their SQL schema.

`archivesync tables` and `archivesync schema` are thin shells over these, as in sqlite-utils.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database
from sqlite_utils.db import quote_identifier

from archivesync.analysts.export import exportable
from archivesync.errors import CatalogError

__all__ = ["CatalogError", "schema_sql", "table_rows"]


def table_rows(db: Database, *, views: bool = False) -> tuple[list[str], list[tuple]]:
    """One row per table (and view, if asked): name, type, row count and column names."""
    tables, view_names = exportable(db.conn)
    names = [(n, "table") for n in tables] + ([(n, "view") for n in view_names] if views else [])
    rows = []
    for name, kind in names:
        (count,) = db.conn.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()
        columns = [c.name for c in (db[name] if kind == "table" else db.view(name)).columns]
        rows.append((name, kind, count, ", ".join(columns)))
    return ["name", "type", "rows", "columns"], rows


def schema_sql(db: Database, names: Sequence[str] = ()) -> str:
    """The CREATE statements of the index, or of the named tables/views and their indexes."""
    objects = db.conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    if names:
        known = {name for kind, name, _, _ in objects if kind in ("table", "view")}
        unknown = [n for n in names if n not in known]
        if unknown:
            tables, views = exportable(db.conn)
            raise CatalogError(
                f"no table or view named {', '.join(map(repr, unknown))}; "
                f"tables: {', '.join(tables) or 'none'}; views: {', '.join(views) or 'none'}"
            )
        objects = [o for o in objects if o[2] in names]
    return "\n".join(f"{sql.strip()};" for _, _, _, sql in objects)
