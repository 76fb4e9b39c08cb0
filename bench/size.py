"""Database size per 1,000 videos after a full sync, by table group, against the baseline's.

The baseline is the database the sequential script writes (plain video, playlist and
playlist-item rows, no chapters, history or search index).
"""

from __future__ import annotations

from .common import Session, db_size, fmt_size, log
from .walltime import baseline_sample


def run(session: Session, sizes: list[int]) -> dict:
    rows = []
    for n in sizes:
        full = session.full_sync(n)
        size = full["db_size"]
        if n not in session.baseline_dbs:
            log(f"size: baseline sync of {fmt_size(n)} videos for its database size")
            baseline_sample(session, n, 0.0)
        base = db_size(session.baseline_dbs[n])
        rows.append(
            {
                "videos": n,
                "bytes": size["bytes"],
                "chapters": size["chapters"],
                "bytes_per_1000": size["bytes"] / n * 1000,
                "by_group": size["by_group"],
                "baseline_bytes": base["bytes"],
                "baseline_bytes_per_1000": base["bytes"] / n * 1000,
                "ratio": size["bytes"] / base["bytes"],
            }
        )
    return {"rows": rows}
