"""What a hostile visitor, analyst or staff member can send (issue 21), and what must hold.

Most checks go through Datasette's test client in process; the memory check runs a real
`archivesync serve` and reads its peak memory from /proc.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archivesync.analysts.datasette_plugin import make_datasette
from archivesync.web import users as users_mod

from .browser import start_server
from .helpers import SAMPLE, sync
from .test_web import cookie_for, fetch


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from archivesync.emulator import Emulator, load_dataset

    root = tmp_path_factory.mktemp("security")
    db = root / "archive.db"
    with Emulator(load_dataset(SAMPLE)) as emu:
        assert sync(db, emu, full=True).status == "ok"
    users = root / "users.json"
    users_mod.add_user(users, "tanaka", "correct-horse-42")
    users_mod.add_user(users, "sato", "battery-staple-7", role="analyst")
    return {"db": db, "users": users, "root": root}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# --- 1. one GET must not exhaust the server's memory ---------------------------------------


def test_huge_values_and_answers_are_refused_and_the_server_stays_small(index):
    """Finding 1: `zeroblob(1000000000)` once took 24 GB; a 50 MB blob 1.5 GB."""
    server, url = start_server(index["db"], None)
    try:
        pid = server.proc.pid
        status, answer = _get_json(f"{url}/archive.json?sql=select+1")
        assert status == 200
        before = _peak_rss_mb(pid)
        many = (
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 200) "
            "select i, zeroblob(3000000) from n"
        )
        for sql, message in [
            ("select zeroblob(1000000000)", "too big"),
            ("select zeroblob(50000000)", "too big"),
            (many, "larger than 16 MB"),
        ]:
            status, answer = _get_json(
                f"{url}/archive.json?" + urllib.parse.urlencode({"sql": sql})
            )
            assert status == 400, (sql, answer)
            assert answer["ok"] is False and message in answer["error"], answer
        peak = _peak_rss_mb(pid)
        # The answers that were refused would each have needed hundreds of MB.
        assert peak - before < 120, (before, peak)
        status, _ = _get_json(f"{url}/archive.json?sql=select+count(*)+from+videos")
        assert status == 200
    finally:
        server.close()


# --- 2. the plugin's SQL functions cap their input and stop at the time limit --------------


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_search_functions_refuse_huge_input_and_stop_at_the_time_limit(index):
    """Finding 2: contains_all over two 30-million-character strings ran 40 s past the limit."""
    from archivesync.analysts import datasette_plugin as plugin

    with pytest.raises(plugin.InputTooLong):
        plugin.archivesync_contains_all("x" * 2000, "y")
    with pytest.raises(plugin.InputTooLong):
        plugin.archivesync_term_hits("dx", "y" * (plugin.MAX_TEXT_CHARS + 1))
    ds = make_datasette(index["db"], sql_time_limit_ms=200)
    slow = (
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000000) "
        "select count(*) from n where archivesync_contains_all('人材 dx', '人材の育成とdx')"
    )
    huge = "select archivesync_contains_all(printf('%.*c', 300000, 'x'), 'y')"
    timed_out, too_long = fetch(
        ds,
        ("get", "/archive.json", {"params": {"sql": slow}}),
        ("get", "/archive.json", {"params": {"sql": huge}}),
    )
    assert timed_out.status_code == 400 and "too long" in timed_out.json()["error"]
    assert too_long.status_code == 400 and too_long.json()["ok"] is False


# --- 11. and what held: one authorizer for the CLI and Datasette ---------------------------


REFUSED_SQL = [
    "select fts3_tokenizer('simple')",
    "select load_extension('/tmp/x.so')",
    "attach database '/tmp/other.db' as other",
    "vacuum into '/tmp/copy.db'",
    "pragma query_only = 0",
    "delete from videos",
    "pragma writable_schema = 1",
]


@pytest.mark.parametrize("sql", REFUSED_SQL)
def test_datasette_and_the_cli_refuse_the_same_sql(index, sql):
    from .helpers import run_cli

    ds = make_datasette(index["db"])
    [answer] = fetch(ds, ("get", "/archive.json", {"params": {"sql": sql}}))
    assert answer.status_code in (400, 403), answer.text
    assert answer.json()["ok"] is False
    env = {"PYTHONPATH": str(SAMPLE.parents[1] / "src"), "PATH": "/usr/bin:/bin"}
    done = run_cli(["sql", "--db", str(index["db"]), sql], env)
    assert done.returncode != 0 and "Traceback" not in done.stderr


def test_the_authorizer_is_the_cli_one(index):
    """One guard: the Datasette hook installs readonly_sql's authorizer, fts3_tokenizer too."""
    import sqlite3

    from archivesync.analysts import datasette_plugin as plugin

    conn = sqlite3.connect(f"file:{index['db']}?mode=ro", uri=True)
    plugin.prepare_connection(conn, "archive")
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        conn.execute("select fts3_tokenizer('simple')")
    assert conn.execute("select count(*) from videos").fetchone()[0] > 0
    conn.close()


def test_anonymous_visitors_run_no_free_sql_when_there_are_users(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    anonymous, canned, analyst = fetch(
        ds,
        ("get", "/archive.json", {"params": {"sql": "select 1"}}),
        ("get", "/archive/search.json", {"params": {"q": "人材"}}),
        ("get", "/archive.json", {"params": {"sql": "select 1"}, "cookies": login(ds, "sato")}),
    )
    assert anonymous.status_code == 403
    assert canned.status_code == 200
    assert analyst.status_code == 200
    # Without a users file nobody can sign in: SQL stays open (a machine's own loopback).
    [open_sql] = fetch(make_datasette(index["db"]), ("get", "/archive.json?sql=select+1", {}))
    assert open_sql.status_code == 200


def test_metadata_shows_no_paths(index):
    ds = make_datasette(index["db"], users_file=index["users"])
    [meta] = fetch(ds, ("get", "/-/metadata.json", {}))
    assert meta.status_code == 200
    assert str(index["root"]) not in meta.text and "users.json" not in meta.text


def login(ds, name: str) -> dict:
    """The cookies of a signed-in session of `name`."""
    return cookie_for(ds, name)
