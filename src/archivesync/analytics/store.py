"""Saving YouTube Analytics figures: functions that take the database first and never fetch.

A window read again replaces what is stored inside it (the API revises its recent figures),
up to the newest day it answered: days it has not reported yet are never deleted.
"""

from __future__ import annotations

from sqlite_utils import Database

VIDEO = "video"
CHANNEL = "channel"
RETENTION_OK = "ok"
RETENTION_TOO_FEW_VIEWS = "too_few_views"


def state(db: Database, kind: str, subject_id: str) -> dict:
    """The bookkeeping row of a video or channel ({} if never read)."""
    rows = db.query(
        "SELECT * FROM analytics_state WHERE subject_kind = ? AND subject_id = ?",
        [kind, subject_id],
    )
    return next(iter(rows), {})


def _set_state(db: Database, kind: str, subject_id: str, values: dict) -> None:
    columns = ", ".join(values)
    marks = ", ".join(f":{c}" for c in values)
    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
    db.execute(
        f"INSERT INTO analytics_state (subject_kind, subject_id, {columns}) "
        f"VALUES (:kind, :id, {marks}) "
        f"ON CONFLICT(subject_kind, subject_id) DO UPDATE SET {updates}",
        {"kind": kind, "id": subject_id, **values},
    )


def _save_daily(
    db: Database, table: str, key: str, subject_id: str, rows: list[dict], start: str, now: str
) -> int:
    if not rows:
        return 0
    newest = max(r["day"] for r in rows)
    db.execute(
        f"DELETE FROM {table} WHERE {key} = ? AND day >= ? AND day <= ?",
        [subject_id, start, newest],
    )
    _insert(db, table, [{key: subject_id, **row, "fetched_at": now} for row in rows])
    return len(rows)


def _insert(db: Database, table: str, rows: list[dict]) -> None:
    # A plain executemany: Table.insert_all introspects and batches, ~10x slower for the
    # thousands of small rows of a backfill.
    columns = list(rows[0])
    db.conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[row[c] for c in columns] for row in rows],
    )


def save_video_daily(db: Database, video_id: str, rows: list[dict], start: str, now: str) -> int:
    """Replace a video's daily figures from `start` to the newest day in `rows`."""
    count = _save_daily(db, "video_daily_metrics", "video_id", video_id, rows, start, now)
    values = {"daily_fetched_at": now}
    if rows:
        previous = state(db, VIDEO, video_id).get("daily_through") or ""
        values["daily_through"] = max(previous, max(r["day"] for r in rows))
    _set_state(db, VIDEO, video_id, values)
    return count


def save_channel_daily(
    db: Database, channel_id: str, rows: list[dict], start: str, now: str
) -> int:
    """Replace a channel's daily figures from `start` to the newest day in `rows`."""
    count = _save_daily(db, "channel_daily_metrics", "channel_id", channel_id, rows, start, now)
    values = {"daily_fetched_at": now}
    if rows:
        previous = state(db, CHANNEL, channel_id).get("daily_through") or ""
        values["daily_through"] = max(previous, max(r["day"] for r in rows))
    _set_state(db, CHANNEL, channel_id, values)
    return count


def save_retention(
    db: Database, video_id: str, rows: list[dict], start: str, end: str, views: int, now: str
) -> str:
    """Replace a video's retention curve; no rows means withheld, and the old curve stays."""
    status = RETENTION_OK if rows else RETENTION_TOO_FEW_VIEWS
    if rows:
        db.execute("DELETE FROM video_retention WHERE video_id = ?", [video_id])
        _insert(
            db,
            "video_retention",
            [
                {"video_id": video_id, **row, "start_date": start, "end_date": end,
                 "fetched_at": now}
                for row in rows
            ],
        )  # fmt: skip
    _set_state(
        db,
        VIDEO,
        video_id,
        {"retention_status": status, "retention_fetched_at": now, "retention_views": views},
    )
    return status


def stored_views(db: Database, video_id: str) -> int:
    """All-time views of a video as stored in video_daily_metrics."""
    rows = db.query(
        "SELECT coalesce(sum(views), 0) AS n FROM video_daily_metrics WHERE video_id = ?",
        [video_id],
    )
    return next(iter(rows))["n"]
