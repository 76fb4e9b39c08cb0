"""Peak memory (RSS) of a full sync, run as the CLI in its own process.

`python -m archivesync sync --db ... --channel ... --full --json` runs in a subprocess against
the emulator in another process, so neither the emulator's memory nor this harness's counts
(this is the shared full sync of `Session.full_sync`, see common.py).

The peak is the child's VmHWM (the high-water mark of its resident set), which it writes at
exit through an atexit hook: the child is started as `python -c <hook> archivesync sync ...`,
where the hook runs the module exactly as `-m` does. `ru_maxrss` from wait4/getrusage would be
wrong here: Linux carries the parent's resident set at fork into the child's ru_maxrss (a child
spawned by a 300 MB process reports 300 MB even for `pass`). A sampler also reads VmRSS from
/proc every 0.2 s, to show that the curve is flat rather than growing.
"""

from __future__ import annotations

import os

from .common import Session, fmt_size, log, run_module


def _quarters(timeline: list[tuple[float, int]]) -> list[float]:
    """Max RSS (MB) in each quarter of the run."""
    if not timeline:
        return []
    end = timeline[-1][0] or 1.0
    quarters = [0.0] * 4
    for t, rss in timeline:
        q = min(3, int(4 * t / end))
        quarters[q] = max(quarters[q], rss * 1024 / 1e6)
    return quarters


def run(session: Session, sizes: list[int]) -> dict:
    # What starting the CLI costs (Python, click, the API client, sqlite-utils): the floor.
    floor = run_module(
        "archivesync",
        ["sync", "--help"],
        workdir=session.workdir,
        label="memory-help",
        env=dict(os.environ),
    )
    rows = []
    for n in sizes:
        if not session.has_full_sync(n):
            log(f"memory: CLI full sync of {fmt_size(n)} videos in a subprocess")
        result = session.full_sync(n)
        base = session.baseline(n)
        rows.append(
            {
                "videos": n,
                "peak_rss_mb": result["peak_rss_mb"],
                "seconds": result["seconds"],
                "quarter_peaks_mb": _quarters(result["timeline"]),
                "samples": len(result["timeline"]),
                "quota_units": result["figures"]["quota_units"],
                "baseline_peak_rss_mb": base["peak_rss_mb"],
            }
        )
        log(f"memory: {fmt_size(n)}: peak {result['peak_rss_mb']:.0f} MB")
    return {"import_floor_mb": floor["peak_rss_mb"], "rows": rows}
