"""What tests share besides fixtures: paths, the sample channel, a sync helper, the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from archivesync.emulator import DEMO_API_KEY
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Settings, Target

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample_channel.json"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_CHANNEL = "UCX__Mlqfalo-NO1zAHhhuNw"
PYTHON = sys.executable


def sync(db_path, emu, channel=SAMPLE_CHANNEL, *, full=False, settings=None, **kwargs):
    """A channel sync against the emulator `emu`, in this process."""
    return run_sync(
        db_path,
        Target("channel", [channel], full=full),
        api_key=DEMO_API_KEY,
        endpoint=emu.url,
        settings=settings or Settings(),
        **kwargs,
    )


def cli_env(emu) -> dict:
    """The environment for a CLI subprocess that talks to the emulator `emu` (None: none)."""
    env = dict(os.environ)
    env["YOUTUBE_API_KEY"] = DEMO_API_KEY
    if emu is not None:
        env["ARCHIVESYNC_API_ENDPOINT"] = emu.url
    env["PYTHONPATH"] = str(REPO / "src")
    return env


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
