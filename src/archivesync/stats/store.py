"""Saving statistics: counters, a `video_stats` snapshot when one changed, a new duration.

Like db/store.py, history only grows: a snapshot is added when a counter changed, a duration
change is a line in `video_changes` (and the chapters' last end moves with it). A video the
answer left out is not touched: batchGetStats is not atomic, and removals are the metadata
sync's to judge.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from archivesync.db.store import STAT_FIELDS, SaveResult, chapter_rows, write_rows
from archivesync.db.transactions import atomic


def save_stats(db: Database, rows: Iterable[dict], now: str) -> SaveResult:
    """Apply `stats_row`s to stored videos; `updated` counts videos whose figures changed."""
    rows = list(rows)
    result = SaveResult()
    if not rows:
        return result
    marks = ",".join("?" * len(rows))
    existing = {
        r["id"]: r
        for r in db.query(
            "SELECT id, description, duration_seconds, view_count, like_count, comment_count "
            f"FROM videos WHERE id IN ({marks})",
            [r["id"] for r in rows],
        )
    }
    snapshots, changes, chapters, rechaptered, updates = [], [], [], [], []
    for row in rows:
        old = existing.get(row["id"])
        if old is None:
            continue  # not in the index yet: the metadata sync adds it with its title
        counters = {f: row[f] for f in STAT_FIELDS}
        changed = any(old[f] != counters[f] for f in STAT_FIELDS)
        update = {"last_synced_at": now}
        if changed:
            update.update(counters)
            snapshots.append({"video_id": row["id"], "observed_at": now, **counters})
        duration = row["duration_seconds"]
        if duration is not None and duration != old["duration_seconds"]:
            # Unknown (live, upcoming) is no change: a known duration is never replaced by None.
            update["duration_seconds"] = duration
            changes.append(
                {
                    "video_id": row["id"],
                    "changed_at": now,
                    "field": "duration_seconds",
                    "old_value": _text(old["duration_seconds"]),
                    "new_value": str(duration),
                }
            )
            rechaptered.append(row["id"])
            chapters.extend(chapter_rows(row["id"], old["description"], duration))
        if changed or "duration_seconds" in update:
            result.updated += 1
        updates.append((row["id"], update))
    with atomic(db.conn):
        for video_id, update in updates:
            db.conn.execute(
                f"UPDATE videos SET {', '.join(f'{k} = ?' for k in update)} WHERE id = ?",
                [*update.values(), video_id],
            )
        if rechaptered:
            marks = ",".join("?" * len(rechaptered))
            db.conn.execute(f"DELETE FROM chapters WHERE video_id IN ({marks})", rechaptered)
        write_rows(db, "chapters", chapters)
        write_rows(db, "video_stats", snapshots)
        write_rows(db, "video_changes", changes)
    return result


def _text(value) -> str | None:
    return None if value is None else str(value)
