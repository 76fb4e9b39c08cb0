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
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from archivesync.emulator import DEMO_API_KEY, synthetic_dataset
from archivesync.emulator.synthetic import DEFAULT_CHANNEL_ID
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Settings, Target

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
        self._baselines: dict[int, dict] = {}  # the last sequential baseline run per size
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

    def new_db(self, label: str) -> Path:
        self._counter += 1
        path = self.workdir / f"{self._counter:03d}-{label}.db"
        remove_db(path)
        return path

    def full_sync(self, n: int) -> dict:
        """The full sync of the n-video channel at 0 ms, through the CLI in a subprocess.

        Run once per size and shared: the quota part reads its units, the wall-time part uses
        it as a sample, the memory part its peak RSS and the size part its database.
        """
        if n not in self._full_syncs:
            result = cli_full_sync(self, n, 0.0, f"full-{n}")
            result["db_size"] = db_size(Path(result["db_path"]))  # before later parts add to it
            self._full_syncs[n] = result
        return self._full_syncs[n]

    def has_full_sync(self, n: int) -> bool:
        return n in self._full_syncs

    def baseline(self, n: int) -> dict:
        """The last sequential baseline run of n videos, running one at 0 ms if there is none."""
        if n not in self._baselines:
            log(f"baseline sync of {fmt_size(n)} videos (for its database and memory)")
            baseline_sync(self, n, 0.0, f"baseline-{n}")
        return self._baselines[n]


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


# Runs `python -m <module> ...` (module = argv[1]) and, at exit, leaves the process's VmHWM
# (KiB) in $BENCH_HWM_FILE. VmHWM is the resident-set high-water mark of this process's own
# memory map, unlike ru_maxrss (see memory.py).
_HOOK = """
import atexit, os, runpy, sys

def _report():
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:")).split()[1]
    with open(os.environ["BENCH_HWM_FILE"], "w") as out:
        out.write(hwm)

atexit.register(_report)
module = sys.argv.pop(1)
sys.argv[0] = module
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run_module(
    module: str,
    args: list[str],
    *,
    workdir: Path,
    label: str,
    env: dict | None = None,
    emu: EmulatorProcess | None = None,
) -> dict:
    """`python -m module *args` in a child process, measured.

    Returns wall seconds, the child's CPU seconds (its own rusage from wait4), the emulator's
    CPU seconds over the same time, the child's peak RSS in MB (VmHWM at exit), an RSS curve
    sampled every 0.2 s, the exit code and stdout.
    """
    samples: list[tuple[float, int]] = []
    hwm_file = workdir / f"{label}.hwm"
    hwm_file.unlink(missing_ok=True)
    env = {**(env if env is not None else os.environ), "BENCH_HWM_FILE": str(hwm_file)}
    cmd = [sys.executable, "-c", _HOOK, module, *args]
    emu_cpu = emu.cpu_seconds() if emu else 0.0
    load = os.getloadavg()[0]
    with (
        open(workdir / f"{label}.log", "wb") as err,
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, cwd=REPO) as proc,
    ):
        start = time.perf_counter()
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                rss = _status_kib(proc.pid, "VmRSS:")
                if rss is not None:
                    samples.append((time.perf_counter() - start, rss))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert proc.stdout is not None
        out = proc.stdout.read()  # small: a line of JSON
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    hwm_kib = int(hwm_file.read_text()) if hwm_file.is_file() else None
    return {
        "seconds": seconds,
        "client_cpu": usage.ru_utime + usage.ru_stime,
        "emulator_cpu": (emu.cpu_seconds() - emu_cpu) if emu else None,
        "peak_rss_mb": hwm_kib * 1024 / 1e6 if hwm_kib else None,  # MB = 10^6 bytes
        "timeline": samples,
        "exit_code": proc.returncode,
        "stdout": out.decode(errors="replace"),
        "load_before": load,
    }


def cli_env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        YOUTUBE_API_KEY=DEMO_API_KEY,
        ARCHIVESYNC_API_ENDPOINT=url,
        ARCHIVESYNC_DAILY_BUDGET=str(UNLIMITED),
        ARCHIVESYNC_SAFETY_MARGIN="0",
    )
    return env


def cli_full_sync(session: Session, n: int, latency_ms: float, label: str) -> dict:
    """`python -m archivesync sync --full --json` of the n-video channel, in a subprocess."""
    emu = session.emulator(n, latency_ms)
    db_path = session.new_db(label)
    args = ["sync", "--db", str(db_path), "--channel", CHANNEL_ID, "--full", "--json"]
    result = run_module(
        "archivesync", args, workdir=session.workdir, label=label, env=cli_env(emu.url), emu=emu
    )
    if result["exit_code"] != 0:
        raise RuntimeError(f"the CLI sync of {n} videos failed: {result['stdout']}")
    figures = json.loads(result["stdout"].strip().splitlines()[-1])
    if figures.get("status") != "ok":
        raise RuntimeError(f"the CLI sync of {n} videos ended {figures.get('status')}")
    stats = emu.stats()
    return {
        **result,
        "figures": figures,
        "emulator_calls": stats["calls"],
        "emulator_units": stats["units_total"],
        "db_path": str(db_path),
    }


def baseline_sync(session: Session, n: int, latency_ms: float, label: str) -> dict:
    """The sequential baseline (bench/baseline.py) of the n-video channel, in a subprocess."""
    emu = session.emulator(n, latency_ms)
    db_path = session.new_db(label)
    args = ["--db", str(db_path), "--endpoint", emu.url, "--channel", CHANNEL_ID]
    result = run_module(
        "bench.baseline", args, workdir=session.workdir, label=label, env=None, emu=emu
    )
    if result["exit_code"] != 0:
        raise RuntimeError(f"the baseline sync of {n} videos failed: {result['stdout']}")
    stats = emu.stats()
    out = {
        **result,
        "figures": json.loads(result["stdout"].strip().splitlines()[-1]),
        "emulator_calls": stats["calls"],
        "db_path": str(db_path),
    }
    session._baselines[n] = out
    return out


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
    # The progress callback runs after every committed page: the last page that added videos
    # ends the uploads phase; the playlists (and the bookkeeping) follow it.
    start = time.perf_counter()
    uploads_done = [0.0, 0]

    def progress(figures: dict) -> None:
        if figures["videos_seen"] > uploads_done[1]:
            uploads_done[:] = [time.perf_counter() - start, figures["videos_seen"]]

    with measured(emu) as timing:
        outcome = run_sync(
            db_path,
            Target("channel", [CHANNEL_ID], full=full),
            api_key=DEMO_API_KEY,
            endpoint=emu.url,
            trigger="cli",
            settings=settings or bench_settings(),
            progress=progress,
        )
    timing["uploads_phase_s"] = uploads_done[0]
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
# The machine
# --------------------------------------------------------------------------------------------


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
