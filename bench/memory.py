"""Peak memory (RSS) of a full sync, run as the CLI in its own process.

`python -m archivesync sync --db ... --channel ... --full --json` runs in a subprocess against
the emulator in another process, so neither the emulator's memory nor this harness's counts.

The peak is the child's VmHWM (the high-water mark of its resident set), which it writes at
exit through an atexit hook: the child is started as `python -c <hook> sync ...`, where the
hook runs the `archivesync` module exactly as `-m` does. `ru_maxrss` from wait4/getrusage
would be wrong here: Linux carries the parent's resident set at fork into the child's
ru_maxrss (a child spawned by this 100+ MB harness reports 100+ MB even for `pass`). A sampler
also reads VmRSS from /proc every 0.2 s, to show that the curve is flat rather than growing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from archivesync.emulator import DEMO_API_KEY

from .common import CHANNEL_ID, REPO, UNLIMITED, Session, fmt_size, log

# Runs `python -m archivesync ...` and leaves the process's VmHWM (KiB) in $BENCH_HWM_FILE.
HOOK = """
import atexit, os, runpy, sys

def _report():
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:")).split()[1]
    with open(os.environ["BENCH_HWM_FILE"], "w") as out:
        out.write(hwm)

atexit.register(_report)
sys.argv[0] = "archivesync"
runpy.run_module("archivesync", run_name="__main__", alter_sys=True)
"""


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run_child(args: list[str], env: dict, workdir: Path, label: str) -> dict:
    """Run `python -m archivesync *args`; its peak RSS (MB), wall seconds, stdout, RSS curve."""
    samples: list[tuple[float, int]] = []
    hwm_file = workdir / f"{label}.hwm"
    hwm_file.unlink(missing_ok=True)
    env = {**env, "BENCH_HWM_FILE": str(hwm_file)}
    cmd = [sys.executable, "-c", HOOK, *args]
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
        out = proc.stdout.read()  # small (the --json line)
        proc.wait()
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    hwm_kib = int(hwm_file.read_text()) if hwm_file.is_file() else None
    return {
        "peak_rss_mb": hwm_kib * 1024 / 1e6 if hwm_kib else None,  # MB = 10^6 bytes
        "seconds": seconds,
        "exit_code": proc.returncode,
        "stdout": out.decode(errors="replace"),
        "timeline": samples,
    }


def _quartiles(timeline: list[tuple[float, int]]) -> list[float]:
    """Max RSS (MB) in each quarter of the run."""
    if not timeline:
        return []
    end = timeline[-1][0] or 1.0
    quarters = [0.0] * 4
    for t, rss in timeline:
        q = min(3, int(4 * t / end))
        quarters[q] = max(quarters[q], rss * 1024 / 1e6)
    return quarters


def _env(url: str) -> dict:
    env = dict(os.environ)
    env.update(
        YOUTUBE_API_KEY=DEMO_API_KEY,
        ARCHIVESYNC_API_ENDPOINT=url,
        ARCHIVESYNC_DAILY_BUDGET=str(UNLIMITED),
        ARCHIVESYNC_SAFETY_MARGIN="0",
    )
    return env


def run(session: Session, sizes: list[int]) -> dict:
    # What importing the CLI and its libraries costs: the floor under any sync.
    floor = run_child(["sync", "--help"], dict(os.environ), session.workdir, "memory-help")
    rows = []
    for n in sizes:
        emu = session.emulator(n, 0.0)
        db_path = session.new_db(f"memory-{n}")
        log(f"memory: CLI full sync of {fmt_size(n)} videos in a subprocess")
        args = ["sync", "--db", str(db_path), "--channel", CHANNEL_ID, "--full", "--json"]
        result = run_child(args, _env(emu.url), session.workdir, f"memory-{n}")
        if result["exit_code"] != 0 or result["peak_rss_mb"] is None:
            raise RuntimeError(f"the CLI sync of {n} videos failed: {result['stdout']}")
        figures = json.loads(result["stdout"].strip().splitlines()[-1])
        rows.append(
            {
                "videos": n,
                "peak_rss_mb": result["peak_rss_mb"],
                "seconds": result["seconds"],
                "quarter_peaks_mb": _quartiles(result["timeline"]),
                "samples": len(result["timeline"]),
                "status": figures.get("status"),
                "quota_units": figures.get("quota_units"),
            }
        )
        log(f"memory: {fmt_size(n)}: peak {result['peak_rss_mb']:.0f} MB")
    return {"import_floor_mb": floor["peak_rss_mb"], "rows": rows}
