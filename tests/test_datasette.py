"""Datasette: metadata for everything, the views browse, canned queries answer, read-only."""

from __future__ import annotations

import asyncio
import builtins
import hashlib

import pytest
from click.testing import CliRunner

from archivesync.analysts import datasette_plugin as datasette_app
from archivesync.cli.query import serve_command
from archivesync.db.columns import describe_tables
from archivesync.db.schema import open_db
from archivesync.web.app import make_datasette

from .search_queries import REMOVED, brute_force, build


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "archive.db"
    db = open_db(path)
    build(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def fetch(db_path, *paths):
    """GET each path from a fresh Datasette over the index; (status, JSON) for each."""

    async def go():
        ds = make_datasette(db_path)
        await ds.invoke_startup()
        answers = []
        for path in paths:
            response = await ds.client.get(path)
            answers.append((response.status_code, response.json()))
        return answers

    return asyncio.run(go())


def test_every_table_view_and_column_is_described(db_path):
    db = open_db(db_path)
    try:
        names = [
            n
            for n in db.table_names() + db.view_names()
            if not n.startswith(("search_fts", "sqlite_"))
        ]
        missing = []
        for name in names:
            if name not in describe_tables():
                missing.append(name)
                continue
            described = describe_tables()[name]["columns"]
            missing += [f"{name}.{c}" for c in db[name].columns_dict if c not in described]
            stale = set(described) - set(db[name].columns_dict)
            assert not stale, f"described columns that {name} does not have: {stale}"
    finally:
        db.close()
    assert not missing, f"describe these in src/archivesync/db/columns.toml: {missing}"


def test_metadata_loads(db_path):
    [(status, meta)] = fetch(db_path, "/-/metadata.json")
    assert status == 200
    database = meta["databases"]["archive"]
    assert database["tables"]["videos"]["columns"]["removed_at"].startswith("When")
    assert set(database["queries"]) >= {"search", "longest_lectures", "videos_per_year",
                                        "chapters_matching", "recently_removed"}  # fmt: skip


def test_views_return_rows(db_path):
    views = ["video_overview", "chapter_index", "channel_summary", "stats_latest",
             "removed_videos", "playlist_overview"]  # fmt: skip
    answers = fetch(db_path, *(f"/archive/{v}.json?_shape=array" for v in views))
    for view, (status, rows) in zip(views, answers, strict=True):
        assert status == 200, (view, rows)
        if view != "playlist_overview":  # the corpus has no playlists
            assert rows, view
    removed = dict(zip(views, answers, strict=True))["removed_videos"][1]
    assert {r["video_id"] for r in removed} == REMOVED


def test_canned_search_finds_a_two_character_word(db_path):
    [(status, rows)] = fetch(db_path, "/archive/search.json?q=人材&_shape=array")
    assert status == 200, rows
    assert {r["video_id"] for r in rows} == brute_force("人材")
    # Title hits first, and a chapter hit links to its chapter.
    assert "人材" in rows[0]["title"]
    [(_, rows)] = fetch(db_path, "/archive/search.json?q=グループワーク&_shape=array")
    by_id = {r["video_id"]: r for r in rows}
    assert by_id["vid029"]["url"] == "https://www.youtube.com/watch?v=vid029&t=3000s"


@pytest.mark.parametrize("q", ["ＤＸ 窓口", '"防災"', "NEAR(", "", "-", "AND"])
def test_canned_search_matches_the_definition(db_path, q):
    [(status, rows)] = fetch(db_path, f"/archive/search.json?q={q}&_shape=array")
    assert status == 200, rows
    assert {r["video_id"] for r in rows} == (brute_force(q) if q.strip() else set())


def test_other_canned_queries(db_path):
    answers = fetch(
        db_path,
        "/archive/chapters_matching.json?q=質疑応答&_shape=array",
        "/archive/longest_lectures.json?_shape=array",
        "/archive/videos_per_year.json?_shape=array",
        "/archive/videos_per_fiscal_year.json?_shape=array",
        "/archive/recently_removed.json?_shape=array",
        "/archive/most_viewed_last_30_days.json?_shape=array",
    )
    assert all(status == 200 for status, _ in answers), answers
    chapters = answers[0][1]
    assert chapters and all("質疑応答" in c["chapter"] for c in chapters)
    assert answers[1][1][0]["duration"] == "2:00:00"
    assert sum(r["videos"] for r in answers[2][1]) == 43
    assert [r["video_id"] for r in answers[4][1]] == sorted(REMOVED)


def test_datasette_cannot_write(db_path):
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    answers = fetch(
        db_path,
        "/archive.json?sql=DELETE+FROM+videos",
        "/archive.json?sql=PRAGMA+user_version%3D5",
        "/archive.json?sql=select+count(*)+as+n+from+videos&_shape=array",
    )
    assert [status for status, _ in answers[:2]] == [400, 400]
    assert answers[2] == (200, [{"n": 44}])
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before


def test_sql_functions():
    assert datasette_app.archivesync_match("人材 ＤＸ") == '"人材" AND "dx"'
    assert datasette_app.archivesync_match("") == '"_"'
    assert datasette_app.archivesync_match_in("人材", "chapters nope") == '{chapters} : ("人材")'
    assert datasette_app.archivesync_contains_all("ＤＸ 人材", "自治体DX", "人材育成") == 1
    assert datasette_app.archivesync_contains_all("ＤＸ 人材", "自治体DX") == 0
    assert datasette_app.archivesync_term_hits("dx 人材 窓口", "ＤＸ人材") == 2
    assert datasette_app.archivesync_normalize("ＤＸ　推進") == "dx 推進"


def test_serve_without_datasette_says_how_to_install(db_path, monkeypatch):
    real_import = builtins.__import__

    def no_datasette(name, *args, **kwargs):
        if name == "datasette" or name.startswith("datasette."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasette)
    result = CliRunner().invoke(serve_command, ["--db", str(db_path)])
    assert result.exit_code == 1
    assert "pip install 'archivesync[datasette]'" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_missing_database(tmp_path):
    result = CliRunner().invoke(serve_command, ["--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
