"""Fixtures of the browser test modules: the site (emulator-synced index with analytics, a
users file, the daemon and `archivesync serve`), one Chromium, the screenshot directory.

Made available to every test module by conftest.py; module scope: one site and one browser per
module that asks for them (each browser module first calls `browser.skip_without_chromium()`).
Screenshots go to $ARCHIVESYNC_SCREENSHOTS (`make screenshots` sets it to docs/screenshots),
else to a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archivesync.db.schema import open_db
from archivesync.demo import _demo_analytics
from archivesync.emulator import Emulator, load_dataset
from archivesync.transcripts.store import import_transcript
from archivesync.web.users import add_user

from .browser import CHROMIUM_ARGS, find_chromium, start_daemon, start_server
from .helpers import SAMPLE, SAMPLE_CHANNEL, sync

STAFF, STAFF_PASSWORD = "tanaka", "correct-horse-42"
LECTURE = "Ns9wE3hTq6b"
LECTURE_SRT = (
    "1\n00:41:12,000 --> 00:41:15,000\n人材の育成は研修だけでは\n\n"
    "2\n00:41:15,000 --> 00:41:18,000\n終わりません。人材は現場で育ちます\n"
)
ANALYST, ANALYST_PASSWORD = "suzuki", "battery-staple-7"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Emulator, a synced index, a users file, the daemon and the server.

    {"url", "db", "users", "daemon", "server", "emulator", "staff": (name, password),
    "analyst": (...)}; the emulator's knobs (latency_ms) may be turned by a test that puts them
    back.
    """
    root = tmp_path_factory.mktemp("web")
    db = root / "archive.db"
    users = root / "users.json"
    with Emulator(load_dataset(SAMPLE)) as emu:
        outcome = sync(db, emu, full=True)
        assert outcome.status == "ok"
        # YouTube Analytics through the emulator, by the same OAuth path as `make demo`.
        analytics = _demo_analytics(str(db), emu, SAMPLE_CHANNEL)
        assert analytics.exit_code == 0, analytics.message
        # A transcript for one lecture: the search's cue hits and the video page's cues.
        db_handle = open_db(db)
        with db_handle.conn:
            import_transcript(
                db_handle, LECTURE, "talk.srt", LECTURE_SRT, "srt", "2026-11-28T00:00:00Z"
            )
        db_handle.close()
        add_user(users, STAFF, STAFF_PASSWORD)
        add_user(users, ANALYST, ANALYST_PASSWORD, role="analyst")
        # The daemon and the server start side by side: each takes a second or two.
        daemon = start_daemon(db, root / "schedules", emu)
        server, url = start_server(db, emu, "--users", str(users))
        try:
            yield {
                "url": url,
                "db": db,
                "users": users,
                "daemon": daemon,
                "server": server,
                "emulator": emu,
                "staff": (STAFF, STAFF_PASSWORD),
                "analyst": (ANALYST, ANALYST_PASSWORD),
            }
        finally:
            server.close()
            daemon.close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    chromium_path = find_chromium()
    if chromium_path is None:
        pytest.fail("ARCHIVESYNC_REQUIRE_BROWSER=1 but no Chromium was found")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


SHOTS = (
    Path(os.environ.get("ARCHIVESYNC_SCREENSHOTS", ""))
    if os.environ.get("ARCHIVESYNC_SCREENSHOTS")
    else None
)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where screenshots go."""
    directory = SHOTS or tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
