"""The README's "Try it yourself" block works as written (on free ports, in a scratch directory)."""

from __future__ import annotations

import os
import re
import signal
import urllib.request

from .helpers import REPO
from .shell_blocks import ShellBlock, child_running, free_port, listening, sh_block

README = (REPO / "README.md").read_text(encoding="utf-8")


def the_block() -> str:
    return sh_block(README, "Try it yourself")


def test_the_block_names_what_a_newcomer_needs():
    block = the_block()
    for needed in (
        ". .venv/bin/activate",
        "archivesync emulator",
        "YOUTUBE_API_KEY=archivesync-demo-key",
        "--channel UCX__Mlqfalo-NO1zAHhhuNw",
        "archivesync search",
        "archivesync status",
        "archivesync serve",
    ):
        assert needed in block


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_the_try_it_yourself_block_runs_as_written(tmp_path):
    emulator_port, serve_port = free_port(), free_port()
    script = the_block().replace("8088", str(emulator_port)).replace("8001", str(serve_port))
    with ShellBlock(script, tmp_path) as block:
        block.wait_for(lambda: serving(f"http://127.0.0.1:{serve_port}/mine.json"))
        serve = child_running(block.proc.pid, "serve")
        assert serve, "serve runs in the foreground of the block"
        os.kill(serve, signal.SIGINT)  # Ctrl-C
        assert block.finish(30) == 0, block.output()
    text = block.output()
    assert "for channel UCX__Mlqfalo-NO1zAHhhuNw; accepts key archivesync-demo-key" in text
    assert re.search(r"run 1: ok; 11 added", text), text
    assert "https://www.youtube.com/watch?v=" in text
    assert "Channels:\n  UCX__Mlqfalo-NO1zAHhhuNw" in text
    assert (tmp_path / "data" / "mine.db").is_file()
    # `kill %1` stops the emulator (bash does not wait for it).
    block.wait_for(lambda: not listening(emulator_port), 10, running=False)
