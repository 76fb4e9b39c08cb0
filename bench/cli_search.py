"""`archivesync search` as a whole process on the sample index: what a user waits for.

The sample channel (data/sample_channel.json, served by the emulator in this process) is
synced into a fresh index; then `python -m archivesync search --db INDEX WORDS` runs as its
own process, again and again, for a few queries, timed from spawn to exit. `python -c pass`
runs alternately with it: the interpreter's own start-up, the floor under any command. One
extra run with `-X importtime` says where the start-up goes (top-level packages by
cumulative import time).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target

from .common import REPO, Session, log, median, percentile

SAMPLE = REPO / "data" / "sample_channel.json"
QUERIES = ("人材", "自治体 DX", "防災", "窓口")
ROUNDS = 8  # runs of each query; the floor runs as often


# Bytecode caching on, as for an installed package (pip compiles its .pyc files): a shell that
# sets PYTHONDONTWRITEBYTECODE would otherwise make every run compile the editable install's
# modules from source again (~20 ms).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def _import_profile(cmd: list[str]) -> dict:
    """Import time (ms, self) per top-level package, from `python -X importtime`."""
    err = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    ).stderr
    totals: dict[str, float] = defaultdict(float)
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if m:  # self time, summed per top-level package (stdlib modules by their own name)
            totals[m.group(2).split(".")[0]] += int(m.group(1)) / 1000
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def run(session: Session) -> dict:
    db_path = session.new_db("sample-index")
    with Emulator(load_dataset(SAMPLE)) as emu:
        ds = load_dataset(SAMPLE)
        outcome = run_sync(
            db_path,
            Target("channel", [ds.channel_id], full=True),
            api_key=DEMO_API_KEY,
            endpoint=emu.url,
        )
    if outcome.status != "ok":
        raise RuntimeError(f"sample sync ended {outcome.status}: {outcome.message}")
    videos = outcome.figures["videos_added"]
    log(f"cli: sample index of {videos} videos; timing `archivesync search` processes")
    floor_cmd = [sys.executable, "-c", "pass"]
    search_cmds = {
        q: [sys.executable, "-m", "archivesync", "search", "--db", str(db_path), *q.split()]
        for q in QUERIES
    }
    for cmd in [floor_cmd, *search_cmds.values()]:
        _timed(cmd)  # warm the page cache and write the .pyc files
    floor: list[float] = []
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(ROUNDS):
        for q, cmd in search_cmds.items():
            per_query[q].append(_timed(cmd))
            floor.append(_timed(floor_cmd))
    every = [s for samples in per_query.values() for s in samples]
    rows = [
        {
            "query": q,
            "runs": len(s),
            "p50_ms": median(s) * 1000,
            "p90_ms": percentile(s, 90) * 1000,
        }
        for q, s in per_query.items()
    ]
    result = {
        "videos": videos,
        "rows": rows,
        "median_ms": median(every) * 1000,
        "p90_ms": percentile(every, 90) * 1000,
        "runs": len(every),
        "python_floor_ms": median(floor) * 1000,
        "imports_ms": _import_profile(search_cmds[QUERIES[0]]),
        "sync_help_imports_ms": _import_profile(
            [sys.executable, "-m", "archivesync", "sync", "--help"]
        ),
    }
    log(
        f"cli: search median {result['median_ms']:.0f} ms "
        f"(python alone {result['python_floor_ms']:.0f} ms)"
    )
    return result
