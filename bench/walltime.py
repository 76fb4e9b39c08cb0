"""Wall time of a full sync against the sequential baseline script, at 0 and 20 ms latency.

Both run in this process against the same emulator process (so the emulator's CPU is not
charged to the client, but it does compete for the machine's cores), alternating baseline and
sync, each on a fresh database. Besides wall time every sample records the CPU seconds of the
client process (all threads) and of the emulator, which is what explains a CPU-bound result.
"""

from __future__ import annotations

import math
import os

from archivesync.emulator import DEMO_API_KEY

from .baseline import sequential_sync
from .common import (
    CHANNEL_ID,
    PAGE,
    Session,
    bench_settings,
    fmt_size,
    log,
    measured,
    median,
    quota_floor,
    timed_sync,
)

WORKERS = bench_settings().workers


def baseline_sample(session: Session, n: int, latency: float) -> dict:
    emu = session.emulator(n, latency)
    db_path = session.new_db(f"baseline-{n}-{latency:g}ms")
    load = os.getloadavg()[0]
    with measured(emu) as timing:
        result = sequential_sync(db_path, emu.url, DEMO_API_KEY, CHANNEL_ID)
    session.baseline_dbs[n] = db_path
    return {**timing, "calls": result["calls"], "load_before": load}


def _sync_sample(session: Session, n: int, latency: float) -> dict:
    emu = session.emulator(n, latency)
    db_path = session.new_db(f"sync-{n}-{latency:g}ms")
    load = os.getloadavg()[0]
    result = timed_sync(db_path, emu, full=True)
    return {
        "seconds": result["seconds"],
        "client_cpu": result["client_cpu"],
        "emulator_cpu": result["emulator_cpu"],
        "calls": result["figures"]["api_calls"],
        "load_before": load,
    }


def _latency_floor(n: int, latency_ms: float) -> dict:
    """Seconds of latency alone on the critical path of the pipelined sync."""
    floor = quota_floor(n)["parts"]
    uploads = 1 + floor["playlistItems.list (uploads)"]
    pipelined = (
        uploads
        + floor["playlists.list"]
        + math.ceil(floor["playlistItems.list (playlists)"] / WORKERS)
    )
    total = sum(floor.values())
    return {
        "uploads_paging_s": uploads * latency_ms / 1000,
        "pipelined_s": pipelined * latency_ms / 1000,
        "sequential_s": total * latency_ms / 1000,
    }


def run(session: Session, sizes: list[int], latencies: list[float], reps_for, skip) -> dict:
    """`reps_for(n)` gives the repetitions; `skip(n, latency)` leaves a combination out."""
    rows = []
    for n in sizes:
        for latency in latencies:
            if skip(n, latency):
                continue
            reps = reps_for(n)
            log(f"wall: {fmt_size(n)} videos at {latency:g} ms, {reps} repetition(s)")
            base, sync = [], []
            cached = session.cached_full_sync(n) if latency == 0 and reps == 1 else None
            for rep in range(reps):
                # Alternate the order, so that a drift in machine load hits both alike.
                if rep % 2 == 0:
                    base.append(baseline_sample(session, n, latency))
                if cached is not None:
                    sync.append({**cached, "reused_from": "quota/size full sync"})
                else:
                    sync.append(_sync_sample(session, n, latency))
                if rep % 2 == 1:
                    base.append(baseline_sample(session, n, latency))
            b = median([s["seconds"] for s in base])
            a = median([s["seconds"] for s in sync])
            rows.append(
                {
                    "videos": n,
                    "latency_ms": latency,
                    "repetitions": reps,
                    "baseline_s": b,
                    "sync_s": a,
                    "ratio": a / b,
                    "baseline_samples": base,
                    "sync_samples": sync,
                    "floor": _latency_floor(n, latency),
                    "videos_per_s": n / a,
                }
            )
            log(f"wall: {fmt_size(n)} at {latency:g} ms: sync {a:.1f}s, baseline {b:.1f}s")
    return {"rows": rows, "workers": WORKERS, "page": PAGE}
