"""The analytics job: plan each video's window, read, save, all inside the run envelope.

* First run: each video from its publication day (Pacific time) to today; the channel from its
  oldest video on.
* Later runs: from 6 days before the newest day already stored (so the last 7 days, which the
  API still revises, are read again) to today.
* `since` / `until`: exactly that window (clipped to each video's publication), overwriting what
  is stored inside it.
* Retention (over the video's whole life): read when never read, or when the video has new views
  since the last read and that read was on an earlier day; "too few views" is recorded, not an
  error.

Each video is its own transaction, so an interrupted run keeps what it read.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlite_utils import Database

from archivesync.analytics import fetch
from archivesync.analytics import store as astore
from archivesync.analytics.client import connect
from archivesync.db.quota import PACIFIC
from archivesync.errors import ConfigError
from archivesync.sync.run import Outcome, Progress, RunContext, run_envelope
from archivesync.timestamps import Clock, parse_iso, system_clock

MODE = "analytics"
REREAD_DAYS = 7


def pacific_date(stamp: str) -> date:
    """The Pacific-time day of an RFC 3339 UTC time (the day YouTube Analytics counts it in)."""
    return parse_iso(stamp).astimezone(PACIFIC).date()


def _videos(db: Database, channel_id: str) -> list[dict]:
    return list(
        db.query(
            "SELECT id, published_at, duration_seconds FROM videos WHERE channel_id = ? "
            "AND removed_at IS NULL AND published_at IS NOT NULL "
            "AND coalesce(live_broadcast_content, 'none') != 'upcoming' "
            "ORDER BY published_at, id",
            [channel_id],
        )
    )


def plan_window(
    published: date,
    daily_through: str | None,
    today: date,
    since: date | None,
    until: date | None,
) -> tuple[date, date] | None:
    """The days to read for one subject, or None when there is nothing to read."""
    if since is not None or until is not None:
        start, end = max(since or published, published), until or today
    elif daily_through:
        start = max(published, date.fromisoformat(daily_through) - timedelta(REREAD_DAYS - 1))
        end = today
    else:
        start, end = published, today
    return (start, end) if start <= end else None


def _retention_due(row: dict, views: int, today: date) -> bool:
    fetched = row.get("retention_fetched_at")
    if not fetched:
        return True
    return views > (row.get("retention_views") or 0) and pacific_date(fetched) < today


def analytics_work(
    ctx: RunContext, channel_id: str, since: date | None, until: date | None
) -> tuple[str, str]:
    """Read and save a channel's analytics; returns (mode, channel) for the run record.

    "Today" is the Pacific day of the run's clock when it starts, the same clock that stamps
    `retention_fetched_at`, so the daily re-read rule compares like with like.
    """
    db, client = ctx.db, ctx.client
    today = ctx.clock().astimezone(PACIFIC).date()
    if not db["channels"].exists() or not list(
        db.query("SELECT 1 FROM channels WHERE id = ?", [channel_id])
    ):
        raise ConfigError(
            f"channel {channel_id} is not in the index: run `archivesync sync --channel "
            f"{channel_id}` first"
        )
    videos = _videos(db, channel_id)
    ctx.total = len(videos)
    for video in videos:
        published = pacific_date(video["published_at"])
        row = astore.state(db, astore.VIDEO, video["id"])
        window = plan_window(published, row.get("daily_through"), today, since, until)
        if window is not None:
            rows = fetch.fetch_video_daily(client, video["id"], *window)  # type: ignore[arg-type]
            with ctx.page() as now:
                if astore.save_video_daily(db, video["id"], rows, window[0].isoformat(), now):
                    ctx.updated += 1
        ctx.seen += 1
    if videos:
        first = min(pacific_date(v["published_at"]) for v in videos)
        row = astore.state(db, astore.CHANNEL, channel_id)
        window = plan_window(first, row.get("daily_through"), today, since, until)
        if window is not None:
            rows = fetch.fetch_channel_daily(client, *window)  # type: ignore[arg-type]
            with ctx.page() as now:
                astore.save_channel_daily(db, channel_id, rows, window[0].isoformat(), now)
    for video in videos:
        if not video["duration_seconds"]:
            continue
        views = astore.stored_views(db, video["id"])
        if not _retention_due(astore.state(db, astore.VIDEO, video["id"]), views, today):
            continue
        published = pacific_date(video["published_at"])
        rows = fetch.fetch_retention(client, video["id"], published, today)  # type: ignore[arg-type]
        with ctx.page() as now:
            astore.save_retention(
                db, video["id"], rows, published.isoformat(), today.isoformat(), views, now
            )
    return MODE, channel_id


def run_analytics(
    db_path,
    channel_id: str,
    *,
    since: date | None = None,
    until: date | None = None,
    endpoint: str | None = None,
    token_file: str | None = None,
    trigger: str = "cli",
    stop: threading.Event | None = None,
    wait: bool = False,
    progress: Progress | None = None,
    on_start=None,
    clock: Clock = system_clock,
    timeout: float = 30.0,
    retries: int = 6,
) -> Outcome:
    """One recorded `analytics` run for a channel (CLI and daemon call this)."""
    if since is not None and until is not None and until < since:
        raise ValueError("until is before since")
    stop = stop or threading.Event()
    return run_envelope(
        db_path,
        mode=lambda db: MODE,
        channel_id=channel_id,
        label=f"analytics {channel_id}",
        trigger=trigger,
        make_client=lambda db: connect(
            token_file, endpoint, timeout=timeout, retries=retries, stop=stop
        ),
        work=lambda ctx: analytics_work(ctx, channel_id, since, until),
        stop=stop,
        clock=clock,
        wait=wait,
        progress=progress,
        on_start=on_start,
    )
