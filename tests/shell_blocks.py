"""Run a `sh` block of the docs as written: a scratch directory, free ports, a real bash.

The README's "Try it yourself" (tests/test_readme_try_it.py) and docs/emulator.md's walk-through
(tests/test_emulator_walkthrough.py) both run through `ShellBlock`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# What a newcomer's shell would not have set: the block must set what it needs itself.
_UNSET = (
    "YOUTUBE_API_KEY",
    "YOUTUBE_API_KEY_FILE",
    "ARCHIVESYNC_API_ENDPOINT",
    "ARCHIVESYNC_OAUTH_TOKEN_FILE",
)


def sh_block(markdown: str, heading: str) -> str:
    """The first ```sh block under the `## heading` of a Markdown text."""
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S)[1]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    """True while something accepts connections on the loopback port."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def child_running(parent: int, word: str) -> int | None:
    """The pid of a child of `parent` with `word` among its arguments, or None."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and word.encode() in cmdline:
            return int(stat.parent.name)
    return None


class ShellBlock:
    """`bash -e` running a block in `directory`, which looks like the top of the repository
    after `make demo` (a `.venv` and a `data/`); output goes to `out.txt` there."""

    def __init__(self, script: str, directory: Path):
        self.directory = directory
        (directory / ".venv").symlink_to(sys.prefix)
        (directory / "data").mkdir()
        (directory / "block.sh").write_text(script, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in _UNSET}
        self._out = (directory / "out.txt").open("w")
        self.proc = subprocess.Popen(
            ["bash", "-e", "block.sh"],
            cwd=directory,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        """Everything the block printed so far."""
        return (self.directory / "out.txt").read_text(encoding="utf-8")

    def wait_for(self, ready, seconds: float = 90, *, running: bool = True):
        """Poll `ready()` until it returns something true (returned); fails when the deadline
        passes or, if `running`, the block ends first, showing what the block printed."""
        deadline = time.monotonic() + seconds
        while True:
            found = ready()
            if found:
                return found
            assert not running or self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)

    def wait_for_output(self, pattern: str, seconds: float = 90) -> re.Match:
        """The first match of `pattern` (a regular expression, multiline) in the output."""
        return self.wait_for(lambda: re.search(pattern, self.output(), re.M), seconds)

    def finish(self, seconds: float = 60) -> int:
        """Wait for the block to end; its exit status."""
        return self.proc.wait(timeout=seconds)

    def __enter__(self) -> ShellBlock:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._out.close()
