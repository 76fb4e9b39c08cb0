"""Quota: units a full sync spends against the floor, and units of a no-change incremental sync.

The floor is computed from the synthetic channel itself (youtube-api.md): 1 channels.list,
ceil(N/50) uploads pages, ceil(N/50) videos.list, ceil(P/50) playlists.list and each
playlist's items at 50 a page. Units are counted twice: by the sync (`Outcome.figures`) and by
the emulator, which charges every request it receives.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from archivesync.emulator import synthetic_dataset

from .common import Session, bench_settings, fmt_size, log, quota_floor, timed_sync


def _days_since_last_upload(n: int) -> tuple[int, int]:
    """Days from the channel's newest upload to now, and uploads in the 30 days before it."""
    ds = synthetic_dataset(n)
    source = ds.source
    newest = max(source.epochs)
    within = sum(1 for e in source.epochs if e >= newest - 30 * 86_400)
    days = math.ceil((datetime.now(UTC).timestamp() - newest) / 86_400)
    return days, within


def _incremental(session: Session, n: int, label: str, **overrides) -> dict:
    full = session.full_sync(n)
    emu = session.emulator(n, 0.0)
    result = timed_sync(full["db_path"], emu, full=False, settings=bench_settings(**overrides))
    return {
        "case": label,
        "settings": overrides,
        "units": result["figures"]["quota_units"],
        "emulator_units": result["emulator_units"],
        "calls": result["emulator_calls"],
        "videos_refreshed": result["figures"]["videos_seen"],
        "seconds": result["seconds"],
    }


def run(session: Session, sizes: list[int]) -> dict:
    rows = []
    for n in sizes:
        log(f"quota: full sync of {fmt_size(n)} videos")
        floor = quota_floor(n)
        full = session.full_sync(n)
        units = full["figures"]["quota_units"]
        days, recent_then = _days_since_last_upload(n)
        log(f"quota: incremental syncs of {fmt_size(n)} videos")
        incremental = [
            _incremental(session, n, "default (recent_days=30)"),
            _incremental(session, n, "recent_days=0", recent_days=0),
            _incremental(session, n, "feed probe on", feed_probe=True),
            _incremental(
                session,
                n,
                f"recent_days={days + 30} (as if run 30 days after the last upload)",
                recent_days=days + 30,
            ),
        ]
        rows.append(
            {
                "videos": n,
                "floor": floor,
                "full_units": units,
                "full_emulator_units": full["emulator_units"],
                "full_calls": full["emulator_calls"],
                "ratio_to_floor": units / floor["floor"],
                "incremental": incremental,
                "uploads_within_30_days_of_last": recent_then,
                "days_since_last_upload": days,
            }
        )
    return {"rows": rows}
