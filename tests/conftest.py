"""Shared fixtures: the emulator on loopback, the sample channel, a sync helper."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Settings, Target

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample_channel.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_CHANNEL = "UCX__Mlqfalo-NO1zAHhhuNw"

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


def sync(db_path, emu, channel=SAMPLE_CHANNEL, *, full=False, settings=None, **kwargs):
    return run_sync(
        db_path,
        Target("channel", [channel], full=full),
        api_key=DEMO_API_KEY,
        endpoint=emu.url,
        settings=settings or Settings(),
        **kwargs,
    )


def cli_env(emu) -> dict:
    env = dict(os.environ)
    env["YOUTUBE_API_KEY"] = DEMO_API_KEY
    env["ARCHIVESYNC_API_ENDPOINT"] = emu.url
    env["PYTHONPATH"] = str(REPO / "src")
    return env


PYTHON = sys.executable


def run_cli(args, env, timeout=60, input=None) -> subprocess.CompletedProcess:
    """`archivesync ARGS` as a user runs it: a separate process, output captured."""
    return subprocess.run(
        [PYTHON, "-m", "archivesync", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
