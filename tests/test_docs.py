"""The docs: generated pages match the code, links resolve, every command, option, table,
column and view is documented, every public function has a docstring."""

from __future__ import annotations

import ast
import io
import re
from contextlib import redirect_stderr, redirect_stdout

import pytest
from cogapp import Cog

from archivesync.cli import cli
from archivesync.db.schema import open_db

from .helpers import REPO

DOCS = REPO / "docs"
GENERATED = ("docs/cli-reference.md", "docs/schema.md", "docs/development.md")
CLI_REFERENCE = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
SCHEMA = (DOCS / "schema.md").read_text(encoding="utf-8")
INTERNAL_TABLES = {"_sqlite_migrations", "sqlite_sequence"}  # SQLite's, for AUTOINCREMENT


@pytest.mark.parametrize("path", GENERATED)
def test_generated_docs_match_the_code(path, monkeypatch):
    monkeypatch.chdir(REPO)  # the cog blocks read src/ relative to the top of the repository
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        status = Cog().main(["cog", "--check", path])
    assert status == 0, f"{path} is out of date with the code: run `make docs`\n{out.getvalue()}"


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_a_section(name):
    assert f"## `archivesync {name}`" in CLI_REFERENCE, "run `make docs`"


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
    section = CLI_REFERENCE.split(f"## `archivesync {name}`", 1)[1].split("\n## ", 1)[0]
    assert option in section, f"{option} of {name} is not in docs/cli-reference.md: run `make docs`"


def schema_objects(tmp_path):
    db = open_db(tmp_path / "docs.db")
    tables = {
        t: [c.name for c in db[t].columns]
        for t in db.table_names()
        if t not in INTERNAL_TABLES and not t.startswith("search_")
    }
    views = {v: [c.name for c in db[v].columns] for v in db.view_names()}
    return tables, views


def test_every_table_view_and_column_is_documented(tmp_path):
    tables, views = schema_objects(tmp_path)
    assert views, "the schema defines the analysts' views"
    for name, columns in {**tables, **views}.items():
        match = re.search(rf"^### `{name}`\n(.*?)(?=^### |^## |\Z)", SCHEMA, re.S | re.M)
        assert match, f"{name} has no section in docs/schema.md: describe it in columns.toml"
        for column in columns:
            assert f"| `{column}` |" in match.group(1), f"{name}.{column} is not documented"


# --- links -------------------------------------------------------------------------------------

PAGES = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The Markdown a reader sees: no fenced code, no HTML comments (cog's code lives there)."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchors(text: str) -> set[str]:
    """The #anchors GitHub gives a page's headings."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", _prose(text), re.M):
        words = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
        slug = re.sub(r"[^\w\- ]", "", words.strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def links():
    for page in PAGES:
        for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
            if not re.match(r"[a-z]+:", target):  # http:, https:, mailto: are not checked
                yield page, target


def test_the_link_check_sees_links():
    # A scan that found nothing would pass the test below without checking anything.
    targets = [t for _, t in links()]
    assert len(targets) > 50 and any("#" in t for t in targets)
    assert "archivesync-sync" in anchors(CLI_REFERENCE)


def test_every_relative_link_and_anchor_resolves():
    broken = []
    for page, target in links():
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        where = f"{page.relative_to(REPO)} -> {target}"
        if not file.exists():
            broken.append(f"{where}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text("utf-8")):
            broken.append(f"{where}: no such heading")
    assert broken == []


# --- docstrings --------------------------------------------------------------------------------


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
