"""`archivesync tables` and `archivesync schema`: what is in the index, as sqlite-utils shows it."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from archivesync.cli import cli
from archivesync.db.schema import open_db
from archivesync.db.views import VIEWS

from .search_queries import VIDEOS, build


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "archive.db"
    db = open_db(path)
    build(db)
    db.close()
    return path


def run(*args):
    return CliRunner().invoke(cli, [*map(str, args)])


def test_tables_lists_every_table_with_its_row_count(db_path):
    result = run("tables", "--db", db_path, "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["videos"]["rows"] == len(VIDEOS)
    assert rows["videos"]["type"] == "table"
    assert rows["videos"]["columns"].startswith("id, ")
    assert rows["sync_runs"]["rows"] == 0
    assert not any(name.startswith(("search_fts", "sqlite_")) for name in rows)
    assert not set(VIEWS) & set(rows)


def test_tables_with_views_and_as_text(db_path):
    result = run("tables", "--db", db_path, "--views")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "type", "rows", "columns"]
    videos = next(line for line in lines if line.startswith("videos "))
    assert videos.split()[1:3] == ["table", str(len(VIDEOS))]
    overview = next(line for line in lines if line.startswith("video_overview "))
    assert overview.split()[1:3] == ["view", str(len(VIDEOS))]
    assert {line.split()[0] for line in lines[2:]} >= set(VIEWS)
    csv_out = run("tables", "--db", db_path, "--csv").stdout_bytes.decode()
    assert csv_out.startswith("name,type,rows,columns\r\n")


def test_schema_prints_the_create_statements(db_path):
    result = run("schema", "--db", db_path)
    assert result.exit_code == 0, result.output
    assert re.search(r"^CREATE TABLE \W?videos\W? \(", result.stdout, re.M)
    assert "CREATE VIEW" in result.stdout
    one = run("schema", "--db", db_path, "chapters", "video_overview").stdout
    assert "chapters" in one and "video_overview" in one
    assert re.search(r"^CREATE TABLE \W?chapters\W? \(", one, re.M)
    assert not re.search(r"^CREATE TABLE \W?videos\W? \(", one, re.M)
    assert one.rstrip().endswith(";")


def test_schema_of_an_unknown_name_lists_what_exists(db_path):
    result = run("schema", "--db", db_path, "vidoes")
    assert result.exit_code == 1
    assert "no table or view named 'vidoes'" in result.output
    assert "videos" in result.output and "video_overview" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["tables", "schema"])
def test_missing_database(command, tmp_path):
    result = run(command, "--db", tmp_path / "none.db")
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert not (tmp_path / "none.db").exists()
