"""Database size per 1,000 videos after a full sync, by table group, against the baseline's.

The baseline is the database the sequential script writes (plain video, playlist and
playlist-item rows, no chapters, history or search index).
"""

from __future__ import annotations

from pathlib import Path

from .common import Session, db_size


def run(session: Session, sizes: list[int]) -> dict:
    rows = []
    for n in sizes:
        size = session.full_sync(n)["db_size"]
        base = db_size(Path(session.baseline(n)["db_path"]))
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
