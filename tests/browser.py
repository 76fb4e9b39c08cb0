"""Helpers for the browser tests: finding Chromium, starting `archivesync serve` and the daemon.

Chromium is Debian's `chromium` (no browser can be downloaded here), driven by Playwright's
Python package through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from .helpers import PYTHON, cli_env

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 900}


def find_chromium() -> str | None:
    """The Chromium to drive: $ARCHIVESYNC_CHROMIUM, else `chromium` on PATH, else None."""
    explicit = os.environ.get("ARCHIVESYNC_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_required() -> bool:
    """CI sets ARCHIVESYNC_REQUIRE_BROWSER=1: a missing Chromium is then a failure."""
    return os.environ.get("ARCHIVESYNC_REQUIRE_BROWSER") == "1"


def skip_without_chromium() -> None:
    """Skip the calling test module, saying why, when no Chromium is found (unless CI
    requires the browser: then the `browser` fixture fails)."""
    import pytest

    if find_chromium() is None and not browser_required():
        pytest.skip(
            "NO CHROMIUM: browser tests NOT RUN (apt-get install chromium, or set "
            "ARCHIVESYNC_CHROMIUM)",
            allow_module_level=True,
        )


class Process:
    """A subprocess whose stderr goes to a file (a full pipe would block it)."""

    def __init__(self, args: list[str], env: dict, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "archivesync", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def start_server(db: Path, emu, *extra: str) -> tuple[Process, str]:
    """`archivesync serve --port 0 ...`; returns the process and its base URL."""
    server = Process(
        ["serve", "--db", str(db), "--port", "0", *extra],
        cli_env(emu),
        db.parent / f"serve-{time.monotonic_ns()}.log",
    )
    line = server.proc.stdout.readline()
    if "http://" not in line:
        server.close()
        raise RuntimeError(f"serve did not start: {line!r}\n{server.log()}")
    url = line.split("http://", 1)[1].split("/", 1)[0]
    return server, f"http://{url}"


def start_daemon(db: Path, schedules: Path, emu) -> Process:
    """`archivesync daemon` against the emulator, its job far in the future."""
    schedules.mkdir(exist_ok=True)
    (schedules / "web.toml").write_text(
        '[[jobs]]\nid = "nightly"\nchannel = "UCX__Mlqfalo-NO1zAHhhuNw"\nmode = "incremental"\n'
        'cron = "0 3 * * *"\n',
        encoding="utf-8",
    )
    return Process(
        ["daemon", "--db", str(db), "--schedules", str(schedules), "--api-endpoint", emu.url],
        cli_env(emu),
        db.parent / f"daemon-{time.monotonic_ns()}.log",
    )


def login(pg, site, name: str, password: str) -> None:
    """Sign in through the login form (as a person would)."""
    pg.goto(site["url"] + "/-/login")
    pg.fill("input[name=username]", name)
    pg.fill("input[name=password]", password)
    pg.click("form.card button[type=submit]")


def shot(pg, shots, name: str) -> None:
    """A screenshot of the window into the screenshot directory (not an empty one)."""
    path = shots / f"{name}.png"
    pg.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 5_000, f"screenshot {name} looks empty"
