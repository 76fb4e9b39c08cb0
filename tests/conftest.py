"""Shared fixtures: the emulator on loopback, the sample channel, a database path, the sample
index with its meaning index.

Helpers that are not fixtures (paths, `sync`, `cli_env`, `run_cli`) are in tests/helpers.py.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from archivesync.emulator import Emulator, load_dataset
from archivesync.search.meaning_index import embed_index

from .browser_fixtures import browser, shots, site  # noqa: F401 (fixtures for the browser modules)
from .helpers import SAMPLE
from .meaning_set import build_sample_index

# Retries back off in milliseconds in tests, also in the subprocesses they start.
os.environ["ARCHIVESYNC_RETRY_BASE_SECONDS"] = "0.01"
# The daemons of the tests tick every second; real schedules may not (worker/schedules.py).
os.environ["ARCHIVESYNC_MIN_INTERVAL_SECONDS"] = "1"

# `make test` runs the tests marked `dates` a second time with the clock this many days ahead
# (time-machine moves this process's clock, the emulator's thread included; monotonic time and
# the subprocesses a test starts keep the real clock).
AHEAD_ENV = "ARCHIVESYNC_CLOCK_AHEAD_DAYS"
_travel: time_machine.travel | None = None


def pytest_configure(config):
    global _travel
    config.addinivalue_line(
        "markers", f"dates: decides by date; `make test` runs it again with {AHEAD_ENV}=365"
    )
    days = int(os.environ.get(AHEAD_ENV) or 0)
    if days:
        _travel = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        _travel.start()


def pytest_unconfigure(config):
    if _travel is not None:
        _travel.stop()


@pytest.fixture
def sample_dataset():
    return load_dataset(SAMPLE)


@pytest.fixture
def emulator(sample_dataset):
    with Emulator(sample_dataset) as emu:
        yield emu


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "archive.db"


CACHE_COLUMNS = "key, video_id, kind, track_id, start_seconds, end_seconds, digest, model, vector"


@pytest.fixture(scope="session")
def meaning_db(tmp_path_factory, pytestconfig):
    """The sample index with its meaning index (tests/meaning_set.py), embedded by the real
    model once per session; vectors are kept in pytest's cache between sessions, keyed by
    passage text and model, so a later session embeds only what changed."""
    path = tmp_path_factory.mktemp("meaning") / "sample.db"
    build_sample_index(path)
    # Without pytest's cache (-p no:cacheprovider) the vectors are embedded afresh.
    cache_dir = (
        pytestconfig.cache.mkdir("meaning")
        if getattr(pytestconfig, "cache", None)
        else tmp_path_factory.mktemp("meaning-cache")
    )
    cache = cache_dir / "vectors.db"
    conn = sqlite3.connect(path)
    if cache.exists():
        conn.execute("ATTACH ? AS cache", [str(cache)])
        with conn:
            conn.execute(
                f"INSERT INTO meaning_passages ({CACHE_COLUMNS}, embedded_at) "
                f"SELECT {CACHE_COLUMNS}, 'cached' FROM cache.meaning_passages"
            )
        conn.execute("DETACH cache")
    embed_index(conn)
    conn.close()
    shutil.copy(path, cache)
    return path
