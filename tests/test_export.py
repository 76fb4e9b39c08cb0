"""`archivesync export`: CSV that Excel reads, JSON, JSON Lines, streamed, never half a file."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from archivesync.analysts import export
from archivesync.cli.query import export_command
from archivesync.db.schema import open_db

from .search_queries import VIDEOS, build


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "archive.db"
    db = open_db(path)
    build(db)
    db.close()
    return path


def run(*args):
    return CliRunner().invoke(export_command, [*map(str, args)])


def test_csv_file_for_excel(db_path, tmp_path):
    out = tmp_path / "videos.csv"
    result = run("--db", db_path, "--table", "videos", "--output", out)
    assert result.exit_code == 0, result.output
    assert f"{len(VIDEOS)} rows written to {out}" in result.output
    data = out.read_bytes()
    # A UTF-8 BOM: without it Excel reads the file as Shift_JIS and the Japanese is garbled.
    assert data.startswith(b"\xef\xbb\xbf")
    # RFC 4180: every record ends in CRLF (descriptions keep their own newlines, quoted).
    assert data.endswith(b"\r\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == len(VIDEOS)
    first = next(r for r in rows if r["id"] == "vid001")
    assert first["title"] == "自治体DX推進セミナー「はじめの一歩」"
    assert first["description"].startswith("自治体DXを進める")
    assert "\n" in first["description"]
    assert first["removed_at"] == ""  # NULL


def test_no_bom_on_request_and_none_on_stdout(db_path, tmp_path):
    out = tmp_path / "v.csv"
    run("--db", db_path, "--view", "channel_summary", "--no-bom", "-o", out)
    assert out.read_bytes().startswith(b"channel_id,year,month")
    result = run("--db", db_path, "--view", "channel_summary")
    assert result.stdout_bytes.startswith(b"channel_id,year,month,fiscal_year,videos,hours\r\n")
    result = run("--db", db_path, "--view", "channel_summary", "--bom")
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbfchannel_id")


def test_json_and_jsonl(db_path):
    result = run("--db", db_path, "--view", "video_overview", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == len(VIDEOS)
    assert {"id", "title", "duration", "playlists"} <= set(rows[0])
    assert "自治体" in result.stdout  # not \u escapes
    result = run("--db", db_path, "--sql", "SELECT id FROM videos ORDER BY id LIMIT 3",
                 "--format", "jsonl")  # fmt: skip
    assert result.stdout.splitlines() == [
        '{"id": "vid001"}',
        '{"id": "vid002"}',
        '{"id": "vid003"}',
    ]
    result = run("--db", db_path, "--sql", "SELECT 1 WHERE 0", "--format", "json")
    assert json.loads(result.stdout) == []


def test_sql_goes_through_the_read_only_guard(db_path, tmp_path):
    before = db_path.read_bytes()
    out = tmp_path / "x.csv"
    for sql in ["DELETE FROM videos", "PRAGMA user_version=3", f"VACUUM INTO '{tmp_path}/c.db'"]:
        result = run("--db", db_path, "--sql", sql, "-o", out)
        assert result.exit_code == 1
        assert result.output.startswith("Error: refused")
    assert db_path.read_bytes() == before
    assert list(tmp_path.iterdir()) == []


def test_unknown_table_or_view_lists_what_exists(db_path):
    result = run("--db", db_path, "--table", "video")
    assert result.exit_code == 1
    assert "no table named 'video'" in result.output
    assert "chapters" in result.output and "videos" in result.output
    assert "search_fts" not in result.output  # internal
    result = run("--db", db_path, "--view", "nope")
    assert "video_overview" in result.output and "removed_videos" in result.output
    result = run("--db", db_path, "--table", "video_overview")
    assert "it is a view: use --view" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--table", "videos", "--view", "video_overview"],
        ["--table", "videos", "--format", "json", "--bom"],
        ["--table", "videos", "--format", "xml"],
    ],
)
def test_usage_errors(db_path, args):
    assert run("--db", db_path, *args).exit_code == 2


def test_a_failed_export_leaves_no_file(db_path, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("the previous export\n")
    # Fails while rows are read, after the header has been written.
    sql = "SELECT id, json_extract(CASE WHEN id = 'vid030' THEN '{' ELSE '{}' END, '$') FROM videos"
    result = run("--db", db_path, "--sql", sql, "-o", out)
    assert result.exit_code == 1
    assert "malformed JSON" in result.output
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_write_rows_streams():
    stream = io.BytesIO()
    seen_before_the_end = []

    def rows():
        for i in range(20_000):
            if i == 19_999:
                seen_before_the_end.append(len(stream.getvalue()))
            yield (i, "行" * 10)

    count = export.write_rows(stream, ["n", "text"], rows(), "jsonl")
    assert count == 20_000
    # Most of the output had reached the stream before the last row was produced.
    assert seen_before_the_end[0] > len(stream.getvalue()) * 0.9
    assert not stream.closed  # the caller's stream is left open


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_write_rows_values(fmt):
    stream = io.BytesIO()
    export.write_rows(stream, ["a", "b"], [('x,"y"\nz', None), (1.5, b"\x01\xff")], fmt)
    text = stream.getvalue().decode()
    if fmt == "csv":
        assert text == 'a,b\r\n"x,""y""\nz",\r\n1.5,01ff\r\n'
    elif fmt == "tsv":
        assert text == 'a\tb\r\n"x,""y""\nz"\t\r\n1.5\t01ff\r\n'
    elif fmt == "json":
        assert json.loads(text) == [{"a": 'x,"y"\nz', "b": None}, {"a": 1.5, "b": "01ff"}]
    else:
        assert [json.loads(line) for line in text.splitlines()] == [
            {"a": 'x,"y"\nz', "b": None},
            {"a": 1.5, "b": "01ff"},
        ]


@pytest.mark.parametrize(
    ("flags", "first_line"),
    [
        (["--csv"], "id,title"),
        (["--format", "csv"], "id,title"),
        (["--tsv"], "id\ttitle"),
        (["--format", "tsv"], "id\ttitle"),
        (["--json"], "["),
        (["--format", "json"], "["),
        (["--nl"], '{"id": "vid001", "title"'),
        (["--json", "--nl"], '{"id": "vid001", "title"'),
        (["--format", "jsonl"], '{"id": "vid001", "title"'),
        (["--format", "nl"], '{"id": "vid001", "title"'),
    ],
)
def test_output_formats_are_spelled_as_in_sqlite_utils_and_old_spellings_stay(
    db_path, flags, first_line
):
    sql = "SELECT id, title FROM videos ORDER BY id LIMIT 2"
    result = run("--db", db_path, "--sql", sql, *flags)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith(first_line)


@pytest.mark.parametrize(
    "flags", [["--csv", "--json"], ["--tsv", "--nl"], ["--format", "json", "--csv"]]
)
def test_two_output_formats_are_a_usage_error(db_path, flags):
    result = run("--db", db_path, "--table", "videos", *flags)
    assert result.exit_code == 2
    assert "give one output format" in result.output


def test_view_help_lists_the_views():
    from archivesync.db.views import VIEWS

    text = CliRunner().invoke(export_command, ["--help"]).output.replace("\n", " ")
    text = " ".join(text.split())
    for view in VIEWS:
        assert view in text
