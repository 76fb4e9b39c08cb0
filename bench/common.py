"""Shared pieces: the emulator in its own process, timing, machine facts, output files."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from archivesync.emulator import DEMO_API_KEY, synthetic_dataset
from archivesync.emulator.synthetic import DEFAULT_CHANNEL_ID
from archivesync.sync import Settings, Target, run_sync

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
CHANNEL_ID = DEFAULT_CHANNEL_ID
PAGE = 50
# The emulator and the sync get budgets no benchmark can reach: quota is measured, not limited.
UNLIMITED = 10**9


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def bench_settings(**overrides: Any) -> Settings:
    """The sync's defaults (4 workers, recent_days 30), with a budget that never runs out."""
    values: dict[str, Any] = {"daily_budget": UNLIMITED, "safety_margin": 0}
    values.update(overrides)
    return Settings(**values)


def write_json(name: str, data: Any) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_json(name: str) -> Any | None:
    path = OUT / f"{name}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# The emulator, in a separate process so that its CPU time and memory are not the client's
# --------------------------------------------------------------------------------------------


class EmulatorProcess:
    """`python -m archivesync emulator --synthetic N` on a free port, stopped by its pid."""

    def __init__(self, n: int, *, latency_ms: float = 0.0, workdir: Path):
        self.n = n
        self.latency_ms = latency_ms
        self._stderr = open(workdir / f"emulator-{n}.log", "wb")  # noqa: SIM115
        cmd = [
            sys.executable,
            "-m",
            "archivesync",
            "emulator",
            "--synthetic",
            str(n),
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--quota",
            str(UNLIMITED),
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=REPO
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"emulator listening on (\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url = match.group(1)

    def control(self, method: str, name: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            f"{self.url}/_emulator/{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def reset(self) -> None:
        self.control("POST", "reset")

    def set_latency(self, latency_ms: float) -> None:
        if latency_ms != self.latency_ms:
            self.control("POST", "config", {"latency_ms": latency_ms})
            self.latency_ms = latency_ms

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


# --------------------------------------------------------------------------------------------
# A benchmark session: one work directory, one emulator per channel size, cached full syncs
# --------------------------------------------------------------------------------------------


class Session:
    def __init__(self, workdir: Path | None = None, keep: bool = False):
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="archivesync-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._emulators: dict[int, EmulatorProcess] = {}
        self._full_syncs: dict[int, dict] = {}
        self.baseline_dbs: dict[int, Path] = {}  # a database the sequential baseline wrote
        self._counter = 0

    def close(self) -> None:
        for emu in self._emulators.values():
            emu.stop()
        self._emulators.clear()
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def emulator(self, n: int, latency_ms: float = 0.0) -> EmulatorProcess:
        emu = self._emulators.get(n)
        if emu is None or emu.proc.poll() is not None:
            emu = self._emulators[n] = EmulatorProcess(n, workdir=self.workdir)
        emu.set_latency(latency_ms)
        emu.reset()
        return emu

    def release_emulator(self, n: int) -> None:
        emu = self._emulators.pop(n, None)
        if emu is not None:
            emu.stop()

    def new_db(self, label: str) -> Path:
        self._counter += 1
        path = self.workdir / f"{self._counter:03d}-{label}.db"
        remove_db(path)
        return path

    def cached_full_sync(self, n: int) -> dict | None:
        """The kept full sync of n videos as a wall-time sample, if one was run."""
        r = self._full_syncs.get(n)
        if r is None:
            return None
        return {
            "seconds": r["seconds"],
            "client_cpu": r["client_cpu"],
            "emulator_cpu": r["emulator_cpu"],
            "calls": r["figures"]["api_calls"],
            "load_before": r["load_before"],
        }

    def full_sync(self, n: int) -> dict:
        """One full sync of the n-video channel at 0 ms latency, kept for later parts."""
        if n not in self._full_syncs:
            emu = self.emulator(n, 0.0)
            db_path = self.new_db(f"full-{n}")
            load = os.getloadavg()[0]
            result = timed_sync(db_path, emu, full=True)
            result["load_before"] = load
            result["db_path"] = str(db_path)
            result["db_size"] = db_size(db_path)  # before later parts add to it
            self._full_syncs[n] = result
        return self._full_syncs[n]


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def db_size(path: Path) -> dict:
    """Bytes on disk after a checkpoint, and by table group (indexes with their table)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        owner = dict(
            conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE name IS NOT NULL")
        )
        by_group: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            group = _SIZE_GROUPS.get(owner.get(name, name), "other")
            if name.startswith("search_fts"):
                group = "search index"
            by_group[group] = by_group.get(group, 0) + size
        videos = _count(conn, "videos")
        chapters = _count(conn, "chapters")
    finally:
        conn.close()
    return {
        "bytes": path.stat().st_size,
        "videos": videos,
        "chapters": chapters,
        "by_group": dict(sorted(by_group.items(), key=lambda kv: -kv[1])),
    }


def _count(conn: sqlite3.Connection, table: str) -> int:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone():
        return 0
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


_SIZE_GROUPS = {
    "videos": "videos",
    "chapters": "chapters",
    "playlists": "playlists",
    "playlist_items": "playlists",
    "video_stats": "history",
    "video_changes": "history",
    "search_docs": "search index",
}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def measured(emu: EmulatorProcess) -> Iterator[dict]:
    """Wall seconds, this process's CPU seconds and the emulator's, for the block."""
    box: dict = {}
    cpu, emu_cpu = own_cpu_seconds(), emu.cpu_seconds()
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start
        box["client_cpu"] = own_cpu_seconds() - cpu
        box["emulator_cpu"] = emu.cpu_seconds() - emu_cpu


def timed_sync(
    db_path: Path, emu: EmulatorProcess, *, full: bool, settings: Settings | None = None
) -> dict:
    """Run archivesync's sync in this process; seconds, the run's figures, emulator stats."""
    emu.reset()
    with measured(emu) as timing:
        outcome = run_sync(
            db_path,
            Target("channel", [CHANNEL_ID], full=full),
            api_key=DEMO_API_KEY,
            endpoint=emu.url,
            trigger="cli",
            settings=settings or bench_settings(),
        )
    if outcome.status != "ok":
        raise RuntimeError(f"sync of {emu.n} videos ended {outcome.status}: {outcome.message}")
    stats = emu.stats()
    return {
        **timing,
        "figures": outcome.figures,
        "emulator_calls": stats["calls"],
        "emulator_units": stats["units_total"],
    }


# --------------------------------------------------------------------------------------------
# The quota floor from the synthetic dataset itself
# --------------------------------------------------------------------------------------------


def quota_floor(n: int) -> dict:
    """The cheapest full listing (youtube-api.md): what any client must spend on this channel."""
    ds = synthetic_dataset(n)
    uploads = len(ds.uploads(CHANNEL_ID))
    playlists = ds.playlist_ids(CHANNEL_ID)
    item_pages = sum(max(1, math.ceil(len(ds.playlist_items(p)) / PAGE)) for p in playlists)
    parts = {
        "channels.list": 1,
        "playlistItems.list (uploads)": max(1, math.ceil(uploads / PAGE)),
        "videos.list": math.ceil(uploads / PAGE),
        "playlists.list": max(1, math.ceil(len(playlists) / PAGE)),
        "playlistItems.list (playlists)": item_pages,
    }
    return {
        "videos": uploads,
        "playlists": len(playlists),
        "parts": parts,
        "floor": sum(parts.values()),
    }


# --------------------------------------------------------------------------------------------
# Timing and the machine
# --------------------------------------------------------------------------------------------


def repeat(fn: Callable[[], float], times: int) -> list[float]:
    return [fn() for _ in range(times)]


@contextlib.contextmanager
def stopwatch() -> Iterator[dict]:
    box: dict = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine() -> dict:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_total = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = f"{int(line.split()[1]) // 1024} MiB"
                break
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(len(os.sched_getaffinity(0)))
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc,
        "cpu_model": model,
        "memory": mem_total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlite_utils": _version("sqlite-utils"),
        "google_api_python_client": _version("google-api-python-client"),
        "httplib2": _version("httplib2"),
    }
