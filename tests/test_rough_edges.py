"""Operator rough edges a newcomer found: closed pipes, one JSON time format, relative paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pytest

from archivesync.db.schema import open_db
from archivesync.timestamps import json_time

from .helpers import PYTHON, cli_env

# A time written the way JSON from us writes it, and any other ISO 8601 spelling of a time.
Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ANY_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


def assert_times_in_z(data) -> int:
    """Every time in `data` is `YYYY-MM-DDTHH:MM:SSZ`; returns how many were checked."""
    times = [s for s in strings(data) if ANY_TIME.match(s)]
    bad = [s for s in times if not Z_TIME.match(s)]
    assert not bad, bad
    return len(times)


def test_json_time_writes_one_format():
    moment = datetime(2026, 8, 27, 1, 2, 3, 456789, tzinfo=UTC)
    assert json_time(moment) == "2026-08-27T01:02:03Z"
    assert json_time(moment.astimezone(timezone(timedelta(hours=9)))) == "2026-08-27T01:02:03Z"
    assert json_time("2026-08-27T01:02:03.456789+00:00") == "2026-08-27T01:02:03Z"
    assert json_time("2026-08-27T10:02:03+09:00") == "2026-08-27T01:02:03Z"
    assert json_time("2026-08-27T01:02:03Z") == "2026-08-27T01:02:03Z"
    assert json_time(None) is None
    assert json_time("not a time") == "not a time"


@pytest.mark.parametrize(
    "args",
    [["status"], ["status", "--json"], ["tables"], ["sql", "SELECT 1 AS n"]],
    ids=lambda a: " ".join(a),
)
def test_a_closed_pipe_is_not_an_error(tmp_path, emulator, args):
    db = tmp_path / "archive.db"
    open_db(db).close()
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before we write: `| head -0`, deterministically
    try:
        result = subprocess.run(
            [PYTHON, "-m", "archivesync", *args[:1], "--db", str(db), *args[1:]],
            env=cli_env(emulator),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_status_json_times_end_in_z(tmp_path, emulator):
    from .helpers import sync

    db = tmp_path / "archive.db"
    assert sync(db, emulator, full=True).status == "ok"
    # A replication state file as older versions wrote it (isoformat, +00:00, microseconds).
    state = {
        "role": "primary",
        "url": f"file://{tmp_path / 'replica'}",
        "pid": None,
        "owner_pid": None,
        "started_at": "2026-12-01T01:02:03.123456+00:00",
        "stopped_at": "2026-12-01T02:02:03.123456+00:00",
    }
    (tmp_path / "archive.db.replication.json").write_text(json.dumps(state))
    result = subprocess.run(
        [PYTHON, "-m", "archivesync", "status", "--db", str(db), "--json"],
        env=cli_env(emulator),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["replication"]["started_at"] == "2026-12-01T01:02:03Z"
    assert assert_times_in_z(data) >= 5


def test_the_overview_reads_the_daemons_cached_replication_check(tmp_path, monkeypatch):
    from archivesync.replication import litestream, positions
    from archivesync.replication import status as replication_status

    db = tmp_path / "archive.db"
    litestream.write_state(
        db, role="primary", url=f"file://{tmp_path / 'r'}", pid=os.getpid(), owner_pid=os.getpid()
    )
    asked = []

    def replica_position(url, timeout=30):
        asked.append(url)  # a Litestream subprocess, in real life: ~100 ms a page view
        return None

    monkeypatch.setattr(positions, "replica_position", replica_position)
    now = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    checked = replication_status.collect(db, now=now)
    assert len(asked) == 1
    replication_status.write_cache(db, checked, now)
    fresh = replication_status.collect_cached(db, now=now + timedelta(seconds=40))
    assert len(asked) == 1 and fresh["state"] == "on" and fresh["checked_at"] == json_time(now)
    # A daemon that stopped refreshing it: the cache is not trusted, Litestream is asked.
    replication_status.collect_cached(db, now=now + timedelta(minutes=5))
    assert len(asked) == 2
