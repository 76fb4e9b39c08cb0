"""Wall time of a full sync against the sequential baseline script, at 0 and 20 ms latency.

Both run against the same emulator process (its own process), alternating, each on a fresh
database. Up to `inprocess_max` videos both run in this process (`run_sync` and
`baseline.sequential_sync`), so interpreter start-up (0.3-0.6 s, more than a third of a
1,000-video run) does not blur the comparison; above it both run as subprocesses
(`python -m archivesync sync --full`, `python -m bench.baseline`), where start-up is well under
1 % and the 0 ms sync is the shared CLI run that the memory part measures anyway. Every sample
records the CPU seconds of the client and of the emulator, which explain a CPU-bound result.
"""

from __future__ import annotations

import math
import os

from archivesync.emulator import DEMO_API_KEY

from .baseline import sequential_sync
from .common import (
    CHANNEL_ID,
    Session,
    baseline_sync,
    bench_settings,
    cli_full_sync,
    fmt_size,
    log,
    measured,
    median,
    quota_floor,
    timed_sync,
)

WORKERS = bench_settings().workers
KEEP = ("seconds", "client_cpu", "emulator_cpu", "peak_rss_mb", "load_before")


def _sample(result: dict, **extra) -> dict:
    return {**{k: result.get(k) for k in KEEP}, "calls": result["emulator_calls"], **extra}


def _baseline(session: Session, n: int, latency: float, label: str, inprocess: bool) -> dict:
    if not inprocess:
        return _sample(baseline_sync(session, n, latency, label))
    emu = session.emulator(n, latency)
    load = os.getloadavg()[0]
    with measured(emu) as timing:
        sequential_sync(session.new_db(label), emu.url, DEMO_API_KEY, CHANNEL_ID)
    return {**timing, "load_before": load, "calls": emu.stats()["calls"], "in_process": True}


def _sync(session: Session, n: int, latency: float, label: str, inprocess: bool) -> dict:
    if not inprocess:
        if latency == 0:
            return _sample(session.full_sync(n), shared=True)
        return _sample(cli_full_sync(session, n, latency, label))
    emu = session.emulator(n, latency)
    load = os.getloadavg()[0]
    result = timed_sync(session.new_db(label), emu, full=True)
    return {
        **_sample(result),
        "load_before": load,
        "in_process": True,
        "uploads_phase_s": result["uploads_phase_s"],
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
    return {
        "uploads_paging_s": uploads * latency_ms / 1000,
        "pipelined_s": pipelined * latency_ms / 1000,
        "sequential_s": sum(floor.values()) * latency_ms / 1000,
    }


def run(
    session: Session,
    sizes: list[int],
    latencies: list[float],
    reps_for,
    skip,
    inprocess_max: int = 10_000,
) -> dict:
    """`reps_for(n)` gives the repetitions; `skip(n, latency)` leaves a combination out."""
    rows = []
    for n in sizes:
        inprocess = n <= inprocess_max
        for latency in latencies:
            if skip(n, latency):
                continue
            reps = reps_for(n)
            how = "in this process" if inprocess else "as subprocesses"
            log(f"wall: {fmt_size(n)} videos at {latency:g} ms, {reps} run(s) each, {how}")
            base, sync = [], []
            for rep in range(reps):
                label = f"{n}-{latency:g}ms-{rep}"
                # Alternate the order, so that a drift in machine load hits both alike.
                if rep % 2 == 0:
                    base.append(_baseline(session, n, latency, f"baseline-{label}", inprocess))
                sync.append(_sync(session, n, latency, f"sync-{label}", inprocess))
                if rep % 2 == 1:
                    base.append(_baseline(session, n, latency, f"baseline-{label}", inprocess))
            b = median([s["seconds"] for s in base])
            a = median([s["seconds"] for s in sync])
            rows.append(
                {
                    "videos": n,
                    "latency_ms": latency,
                    "repetitions": reps,
                    "in_process": inprocess,
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
    return {"rows": rows, "workers": WORKERS, "inprocess_max": inprocess_max}
