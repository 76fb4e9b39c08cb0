"""One clock per run: everything a run writes or decides by comes from the clock it is given.

`make test` runs the tests marked `dates` twice: on today's date, then with the clock a year
ahead (ARCHIVESYNC_CLOCK_AHEAD_DAYS=365, tests/conftest.py).
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from archivesync.db import quota
from archivesync.sync.run import Settings

from .conftest import AHEAD_ENV
from .helpers import REPO, sync

pytestmark = pytest.mark.dates

# 23:30 on 2025-01-05 in California, already 2025-01-06 in UTC.
LATE = datetime(2025, 1, 6, 7, 30, tzinfo=UTC)


def rows(db_path, sql):
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def test_the_clock_is_where_make_test_put_it():
    hatch = time_machine.escape_hatch
    real = datetime.fromtimestamp(hatch.time.time() if hatch.is_travelling() else time.time(), UTC)
    days = int(os.environ.get(AHEAD_ENV) or 0)
    assert abs(datetime.now(UTC) - real - timedelta(days=days)) < timedelta(minutes=5)


def test_make_test_runs_the_date_tests_a_year_ahead():
    target = (REPO / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert f"{AHEAD_ENV}=365 $(BIN)/python -m pytest -q -m dates" in target


def test_a_run_stamps_and_spends_on_the_day_of_its_clock(emulator, db_path):
    settings = Settings(daily_budget=1000, safety_margin=0)
    outcome = sync(db_path, emulator, full=True, settings=settings, clock=lambda: LATE)
    assert outcome.status == "ok", outcome.message
    spent = outcome.figures["quota_units"]
    assert rows(db_path, "SELECT day, units FROM quota_usage") == [("2025-01-05", spent)]
    stamps = rows(db_path, "SELECT started_at, finished_at FROM sync_runs")
    assert stamps == [("2025-01-06T07:30:00Z", "2025-01-06T07:30:00Z")]
    assert rows(db_path, "SELECT DISTINCT last_synced_at FROM channels") == [(stamps[0][0],)]
    # The next run's guard counts what was spent on its own quota day, and only that.
    later = sync(db_path, emulator, settings=settings, clock=lambda: LATE + timedelta(minutes=20))
    assert later.status == "ok", later.message
    days = dict(rows(db_path, "SELECT day, units FROM quota_usage"))
    assert days == {"2025-01-05": spent + later.figures["quota_units"]}
    tight = Settings(daily_budget=spent + later.figures["quota_units"], safety_margin=0)
    assert sync(db_path, emulator, settings=tight, clock=lambda: LATE).status == "quota_exhausted"
    next_day = LATE + timedelta(minutes=31)  # 00:01 in California
    assert sync(db_path, emulator, settings=tight, clock=lambda: next_day).status == "ok"


def test_without_a_clock_a_run_reads_the_wall_clock(emulator, db_path):
    before = datetime.now(UTC)
    assert sync(db_path, emulator, full=True).status == "ok"
    (day,) = rows(db_path, "SELECT day FROM quota_usage")
    assert day[0] in {quota.pacific_day(before), quota.pacific_day()}
