"""The README's "Try it yourself" block works as written (on free ports, in a scratch directory)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def the_block() -> str:
    section = README.split("\n## Try it yourself\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S)[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_running(parent: int, word: str) -> int | None:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and word.encode() in cmdline:
            return int(stat.parent.name)
    return None


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


def test_the_try_it_yourself_block_runs_as_written(tmp_path):
    emulator_port, serve_port = free_port(), free_port()
    script = the_block().replace("8088", str(emulator_port)).replace("8001", str(serve_port))
    # The scratch directory looks like the top of the repository after `make demo`.
    (tmp_path / ".venv").symlink_to(sys.prefix)
    (tmp_path / "data").mkdir()
    (tmp_path / "try.sh").write_text(script, encoding="utf-8")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("YOUTUBE_API_KEY", "YOUTUBE_API_KEY_FILE", "ARCHIVESYNC_API_ENDPOINT")
    }
    out = (tmp_path / "out.txt").open("w")
    proc = subprocess.Popen(
        ["bash", "-e", "try.sh"],
        cwd=tmp_path,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{serve_port}/"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "out.txt").read_text()
            assert time.monotonic() < deadline, (tmp_path / "out.txt").read_text()
            try:
                with urllib.request.urlopen(url + "mine.json", timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        serve = child_running(proc.pid, "serve")
        assert serve, "serve runs in the foreground of the block"
        os.kill(serve, signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 0, (tmp_path / "out.txt").read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()
    text = (tmp_path / "out.txt").read_text()
    assert "for channel UCX__Mlqfalo-NO1zAHhhuNw; accepts key archivesync-demo-key" in text
    assert re.search(r"run 1: ok; 11 added", text), text
    assert "https://www.youtube.com/watch?v=" in text
    assert "Channels:\n  UCX__Mlqfalo-NO1zAHhhuNw" in text
    assert (tmp_path / "data" / "mine.db").is_file()
    deadline = time.monotonic() + 10
    while True:  # `kill %1` stops the emulator (bash does not wait for it)
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", emulator_port)) != 0:
                break
        assert time.monotonic() < deadline, "the emulator is still listening"
        time.sleep(0.1)
