"""The description of every table, view and column of the index, kept as data (columns.toml).

One source for Datasette's metadata (analysts/metadata.py) and the schema reference
(docs/schema.md, written by `make docs`).
"""

from __future__ import annotations

import functools
import tomllib
from importlib.resources import files


@functools.cache
def describe_tables() -> dict[str, dict]:
    """{table or view: {"description", "columns": {column: description}, "hidden"?}}, in order."""
    text = files("archivesync.db").joinpath("columns.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
