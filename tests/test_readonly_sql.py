"""`archivesync sql`: reads anything, changes nothing, refuses clearly."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archivesync.analysts import readonly_sql
from archivesync.cli.query import sql_command
from archivesync.db.schema import open_db

from .search_queries import build


@pytest.fixture(scope="module")
def live_db(tmp_path_factory):
    """An index with a writer still connected, so that part of it is only in the -wal file."""
    path = tmp_path_factory.mktemp("live") / "archive.db"
    writer = open_db(path)
    build(writer)
    writer.execute("UPDATE videos SET view_count = 12345 WHERE id = 'vid001'")
    assert Path(f"{path}-wal").stat().st_size > 0
    yield path
    writer.close()


def digest(path: Path) -> dict[str, str | None]:
    found = {}
    for suffix in ("", "-wal"):
        f = Path(f"{path}{suffix}")
        found[suffix] = hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else None
    return found


def run(*args):
    return CliRunner().invoke(sql_command, [*map(str, args)])


@pytest.mark.parametrize(
    ("sql", "keyword"),
    [
        ("select 1", "SELECT"),
        ("  -- a comment\n /* another */ WITH x AS (SELECT 1) SELECT * FROM x", "WITH"),
        ("/* unterminated", ""),
        ("", ""),
        ("pragma table_info(videos)", "PRAGMA"),
        ("\n\tvacuum", "VACUUM"),
    ],
)
def test_first_keyword(sql, keyword):
    assert readonly_sql.first_keyword(sql) == keyword


READS = [
    "SELECT id, title FROM videos ORDER BY id LIMIT 3",
    "WITH t AS (SELECT title FROM videos) SELECT count(*) FROM t",
    "VALUES (1, 'a'), (2, 'b')",
    "EXPLAIN QUERY PLAN SELECT * FROM videos WHERE id = 'x'",
    "PRAGMA table_info(videos)",
    "PRAGMA journal_mode",
    "PRAGMA user_version",
    "SELECT * FROM pragma_table_info('chapters')",
    "SELECT * FROM video_overview",
    "SELECT * FROM stats_latest",
    "SELECT rowid FROM search_fts WHERE search_fts MATCH '\"人材\"'",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n",
    "select 1;  -- a trailing semicolon and comment are one statement",
]


@pytest.mark.parametrize("sql", READS)
def test_reads_are_allowed(live_db, sql):
    before = digest(live_db)
    result = run("--db", live_db, "--json", sql)
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list)
    assert digest(live_db) == before


def test_reads_see_what_is_only_in_the_wal(live_db):
    result = run("--db", live_db, "--json", "SELECT view_count FROM videos WHERE id = 'vid001'")
    assert json.loads(result.stdout) == [{"view_count": 12345}]


REFUSED = [
    "INSERT INTO videos (id) VALUES ('x')",
    "UPDATE videos SET title = 'x'",
    "DELETE FROM videos",
    "REPLACE INTO quota_usage (day, units) VALUES ('2024-01-01', 1)",
    "WITH x AS (SELECT 1) DELETE FROM videos",
    "CREATE TABLE t (x)",
    "CREATE TEMP TABLE t (x)",
    "CREATE VIEW v AS SELECT 1",
    "CREATE INDEX i ON videos (title)",
    "DROP TABLE videos",
    "DROP VIEW video_overview",
    "ALTER TABLE videos ADD COLUMN x",
    "ATTACH DATABASE '{tmp}/other.db' AS other",
    "DETACH DATABASE main",
    "SELECT load_extension('/tmp/evil.so')",
    "VACUUM",
    "VACUUM INTO '{tmp}/copy.db'",
    "PRAGMA journal_mode=delete",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version=5",
    "PRAGMA query_only=0",
    "PRAGMA writable_schema=1",
    "PRAGMA wal_checkpoint(TRUNCATE)",
    "PRAGMA optimize",
    "ANALYZE",
    "REINDEX",
    "BEGIN IMMEDIATE",
    "SAVEPOINT s",
    "SELECT 1; DELETE FROM videos",
    "SELECT 1; SELECT 2",
    "INSERT INTO search_fts (search_fts) VALUES ('delete-all')",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_changes_are_refused_and_the_file_is_untouched(live_db, tmp_path, sql):
    sql = sql.format(tmp=tmp_path)
    before = digest(live_db)
    result = run("--db", live_db, sql)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: refused")
    assert "Traceback" not in result.output
    assert digest(live_db) == before
    assert not (tmp_path / "copy.db").exists()
    assert not (tmp_path / "other.db").exists()


def test_the_refusal_says_what_and_why(live_db):
    result = run("--db", live_db, "PRAGMA journal_mode=delete")
    assert "PRAGMA journal_mode = delete" in result.output
    result = run("--db", live_db, "WITH x AS (SELECT 1) DELETE FROM videos")
    assert "DELETE from videos" in result.output
    result = run("--db", live_db, "SELECT 1; SELECT 2")
    assert "one SQL statement" in result.output


def test_the_authorizer_alone_refuses_writes(live_db):
    # Behind the keyword check: a guarded connection refuses what slips past it.
    db, guard = readonly_sql.open_guarded(live_db)
    try:
        with pytest.raises(Exception, match="not authorized"):
            db.conn.execute("DELETE FROM videos")
        assert guard.refused == "DELETE from videos"
    finally:
        db.close()


def test_sql_errors_are_clear(live_db):
    result = run("--db", live_db, "SELECT * FROM no_such_table")
    assert result.exit_code == 1
    assert result.output == "Error: SQL error: no such table: no_such_table\n"
    result = run("--db", live_db, "SELEC 1")
    assert result.exit_code == 1
    assert "syntax error" in result.output


def test_missing_database(tmp_path):
    result = run("--db", tmp_path / "none.db", "SELECT 1")
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert not (tmp_path / "none.db").exists()


TWO_VIDEOS = (
    "SELECT id, title, duration_seconds FROM videos WHERE id IN ('vid001', 'vid012') ORDER BY id"
)


def test_json_and_csv_output(live_db):
    sql = TWO_VIDEOS
    result = run("--db", live_db, "--json", sql)
    assert json.loads(result.stdout) == [
        {"id": "vid001", "title": "自治体DX推進セミナー「はじめの一歩」", "duration_seconds": 5400},
        {"id": "vid012", "title": "観光振興とDMO", "duration_seconds": 2700},
    ]
    result = run("--db", live_db, "--csv", sql)
    assert result.stdout_bytes.split(b"\r\n")[0] == b"id,title,duration_seconds"
    assert list(csv.reader(io.StringIO(result.stdout, newline=""))) == [
        ["id", "title", "duration_seconds"],
        ["vid001", "自治体DX推進セミナー「はじめの一歩」", "5400"],
        ["vid012", "観光振興とDMO", "2700"],
    ]
    result = run("--db", live_db, "--json", "--csv", sql)
    assert result.exit_code == 2


def test_table_output_aligns_wide_characters(live_db):
    result = run("--db", live_db, TWO_VIDEOS)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "(2 rows)"
    header, rule, first, second = lines[:4]
    assert header.split() == ["id", "title", "duration_seconds"]
    # Columns start at the same terminal column on every line, counting 漢字 as two.
    start = readonly_sql.display_width(first.split("  ")[0] + "  ")
    title_col = readonly_sql.display_width(header[: header.index("title")])
    assert start == title_col
    widths = {readonly_sql.display_width(line) for line in (rule, first, second)}
    assert len(widths) == 1
    assert first.endswith(" 5400") and second.endswith(" 2700")


def test_format_table_cuts_long_and_multiline_cells():
    text = readonly_sql.format_table(["d"], [("一行目\n二行目" + "あ" * 100,), (None,)], 20)
    lines = text.splitlines()
    assert lines[2].startswith("一行目⏎二行目")
    assert lines[2].endswith("…")
    assert readonly_sql.display_width(lines[2]) <= 20
    assert lines[3] == ""
    assert lines[-1] == "(2 rows)"


@pytest.mark.parametrize(
    ("text", "width"), [("abc", 3), ("ＤＸ", 4), ("自治体", 6), ("ｾﾐﾅｰ", 4), ("e\u0301", 1)]
)
def test_display_width(text, width):
    assert readonly_sql.display_width(text) == width


def test_tsv_and_newline_delimited_json_as_in_sqlite_utils(live_db):
    result = run("--db", live_db, "--tsv", TWO_VIDEOS)
    assert result.stdout_bytes.decode().split("\r\n")[:2] == [
        "id\ttitle\tduration_seconds",
        "vid001\t自治体DX推進セミナー「はじめの一歩」\t5400",
    ]
    for flags in (["--nl"], ["--json", "--nl"]):
        result = run("--db", live_db, *flags, TWO_VIDEOS)
        assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
            "vid001",
            "vid012",
        ]
    assert run("--db", live_db, "--tsv", "--csv", TWO_VIDEOS).exit_code == 2
