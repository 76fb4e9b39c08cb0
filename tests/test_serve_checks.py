"""`archivesync serve` refuses a busy port and a file that is not an index, before it starts."""

from __future__ import annotations

import os
import socket
import sqlite3

import pytest

from archivesync.db.schema import open_db

from .helpers import REPO, run_cli


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "archive.db"
    open_db(path).close()
    return path


def serve(db, port) -> tuple[int, str, str]:
    # A subprocess with a timeout: before these checks a bad case could start a server.
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = run_cli(["serve", "--db", str(db), "--port", str(port)], env=env, timeout=30)
    return result.returncode, result.stdout, result.stderr


def test_a_busy_port_is_one_line_and_exit_1_before_serving(index):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        code, out, err = serve(index, port)

    assert code == 1, err
    assert "Serving" not in out  # no promise of a server that never comes
    assert err.strip() == (
        f"Error: port {port} on 127.0.0.1 is already in use (another `archivesync serve`?); "
        "choose another with --port"
    )


def _empty(path):
    path.write_bytes(b"")
    return "is empty (0 bytes), not an archivesync index; `archivesync sync` fills it"


def _other_sqlite(path):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.close()
    return (
        "is an SQLite database but not an archivesync index (it has no videos or sync_runs table)"
    )


def _not_sqlite(path):
    path.write_text("id,title\n1,hello\n", encoding="utf-8")
    return "is not an SQLite database, so not an archivesync index"


@pytest.mark.parametrize("make", [_empty, _other_sqlite, _not_sqlite])
def test_a_file_that_is_not_an_index_says_what_it_is(tmp_path, make):
    path = tmp_path / "file.db"
    message = make(path)
    before = path.read_bytes()

    code, out, err = serve(path, 0)

    assert code == 1, err
    assert "Serving" not in out
    assert err.strip() == f"Error: {path} {message}"
    assert path.read_bytes() == before
