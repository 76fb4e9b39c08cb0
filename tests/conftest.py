"""Shared fixtures: the emulator on loopback, the sample channel, a database path.

Helpers that are not fixtures (paths, `sync`, `cli_env`, `run_cli`) are in tests/helpers.py.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from archivesync.emulator import Emulator, load_dataset

from .browser_fixtures import browser, shots, site  # noqa: F401 (fixtures for the browser modules)
from .helpers import SAMPLE

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
