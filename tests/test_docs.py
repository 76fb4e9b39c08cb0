"""The README documents every command, option, table, column and view."""

from __future__ import annotations

import ast
import re

import pytest

from archivesync.cli import cli
from archivesync.db.schema import open_db

from .helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
INTERNAL_TABLES = {"_sqlite_migrations", "sqlite_sequence"}  # SQLite's, for AUTOINCREMENT


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_a_section(name):
    assert f"### `archivesync {name}`" in README


@pytest.mark.parametrize(
    "name, option",
    [
        (name, opt)
        for name, command in sorted(cli.commands.items())
        for param in command.params
        for opt in [*param.opts, *getattr(param, "secondary_opts", [])]
        if opt.startswith("--") and opt != "--help"
    ],
)
def test_every_long_option_is_mentioned(name, option):
    section = README.split(f"### `archivesync {name}`", 1)[1].split("\n### ", 1)[0]
    assert option in section, f"{option} of {name} is not in its README section"


def schema_objects(tmp_path):
    db = open_db(tmp_path / "docs.db")
    tables = {
        t: [c.name for c in db[t].columns]
        for t in db.table_names()
        if t not in INTERNAL_TABLES and not t.startswith("search_")
    }
    views = {v: [c.name for c in db[v].columns] for v in db.view_names()}
    return tables, views


def test_every_table_and_column_is_documented(tmp_path):
    tables, _ = schema_objects(tmp_path)
    for table, columns in tables.items():
        match = re.search(rf"^### `{table}`\n(.*?)(?=^### |^## )", README, re.S | re.M)
        assert match, f"table {table} has no README section"
        for column in columns:
            assert f"`{column}`" in match.group(1), f"{table}.{column} is not documented"


def test_every_view_and_column_is_documented(tmp_path):
    _, views = schema_objects(tmp_path)
    assert views, "the schema defines the analysts' views"
    for view, columns in views.items():
        match = re.search(rf"^#### `{view}`\n(.*?)(?=^#### |^### |^## )", README, re.S | re.M)
        assert match, f"view {view} has no README section"
        for column in columns:
            assert f"`{column}`" in match.group(1), f"{view}.{column} is not documented"


def _is_setter(decorator) -> bool:
    return isinstance(decorator, ast.Attribute) and decorator.attr in ("setter", "deleter")


def public_functions():
    """(place, function node) for every public function and method of a public class."""
    for path in sorted((REPO / "src" / "archivesync").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        todo = [(tree.body, "")]
        while todo:
            body, prefix = todo.pop()
            for node in body:
                if getattr(node, "name", "_").startswith("_"):
                    continue  # private, or not a definition
                if isinstance(node, ast.ClassDef):
                    todo.append((node.body, f"{prefix}{node.name}."))
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    if any(_is_setter(d) for d in node.decorator_list):
                        continue  # a property's setter shares the getter's docstring
                    where = f"{path.relative_to(REPO)}:{node.lineno} {prefix}{node.name}"
                    yield where, node


def test_every_public_function_has_a_one_line_docstring():
    missing = [
        where
        for where, node in public_functions()
        if not (ast.get_docstring(node) or "").strip().splitlines()[:1]
    ]
    assert missing == []


def test_the_docstring_check_sees_functions():
    # A scan that found nothing would pass the test above without checking anything.
    names = {where.rsplit(" ", 1)[1] for where, _ in public_functions()}
    assert {"run_sync", "YouTubeClient.execute", "Emulator.inject_fault"} <= names


DEV_PATH = re.compile(r"/(work|root|home)/[A-Za-z]")


def test_no_path_of_a_development_machine_in_code_or_docs():
    places = [REPO / "README.md"]
    for folder in ("src", "docs", "schedules", "deploy"):
        places += [
            p for p in (REPO / folder).rglob("*") if p.is_file() and "egg-info" not in str(p)
        ]
    found = []
    for path in places:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # images and other binary files
        found += [
            f"{path.relative_to(REPO)}:{n}"
            for n, line in enumerate(text.splitlines(), 1)
            if DEV_PATH.search(line)
        ]
    assert found == []
