"""Shared fixtures: the emulator on loopback, the sample channel, a database path.

Helpers that are not fixtures (paths, `sync`, `cli_env`, `run_cli`) are in tests/helpers.py.
"""

from __future__ import annotations

import os

import pytest

from archivesync.emulator import Emulator, load_dataset

from .browser_fixtures import browser, shots, site  # noqa: F401 (fixtures for the browser modules)
from .helpers import SAMPLE

# Retries back off in milliseconds in tests, also in the subprocesses they start.
os.environ["ARCHIVESYNC_RETRY_BASE_SECONDS"] = "0.01"


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
