"""Reading YouTube Analytics reports: generators that only read, and pure table parsing."""

from __future__ import annotations

from datetime import date

from archivesync.analytics.client import AnalyticsClient

# API metric -> column of video_daily_metrics / channel_daily_metrics.
DAILY_METRICS = {
    "views": "views",
    "estimatedMinutesWatched": "estimated_minutes_watched",
    "averageViewDuration": "average_view_duration_seconds",
    "averageViewPercentage": "average_view_percentage",
    "likes": "likes",
    "subscribersGained": "subscribers_gained",
}
RETENTION_METRICS = {
    "audienceWatchRatio": "audience_watch_ratio",
    "relativeRetentionPerformance": "relative_retention_performance",
}


def table_rows(body: dict) -> list[dict]:
    """A result table as dicts keyed by column name; no `rows` (no data) is an empty list."""
    names = [h["name"] for h in body.get("columnHeaders") or []]
    return [dict(zip(names, row, strict=True)) for row in body.get("rows") or []]


def daily_rows(body: dict) -> list[dict]:
    """A `day` report as rows for the daily tables (our column names, `day` kept)."""
    return [
        {"day": row["day"], **{col: row.get(metric) for metric, col in DAILY_METRICS.items()}}
        for row in table_rows(body)
    ]


def retention_rows(body: dict) -> list[dict]:
    """An `elapsedVideoTimeRatio` report as rows for video_retention."""
    return [
        {
            "elapsed_ratio": row["elapsedVideoTimeRatio"],
            **{col: row.get(metric) for metric, col in RETENTION_METRICS.items()},
        }
        for row in table_rows(body)
    ]


def fetch_video_daily(client: AnalyticsClient, video_id: str, start: date, end: date) -> list[dict]:
    """One video's figures per day in [start, end]; days the API has not yet are left out."""
    return _daily(client, f"video {video_id}", start, end, filters=f"video=={video_id}")


def fetch_channel_daily(client: AnalyticsClient, start: date, end: date) -> list[dict]:
    """The whole channel's figures per day in [start, end]."""
    return _daily(client, "the channel", start, end)


def _daily(client: AnalyticsClient, what: str, start: date, end: date, **filters) -> list[dict]:
    body = client.query(
        f"analytics day report for {what}",
        ids="channel==MINE",
        startDate=start.isoformat(),
        endDate=end.isoformat(),
        metrics=",".join(DAILY_METRICS),
        dimensions="day",
        sort="day",
        **filters,
    )
    return daily_rows(body)


def fetch_retention(client: AnalyticsClient, video_id: str, start: date, end: date) -> list[dict]:
    """The 100-point retention curve of a video; [] when the API withholds it (few views)."""
    body = client.query(
        f"analytics retention report for video {video_id}",
        ids="channel==MINE",
        startDate=start.isoformat(),
        endDate=end.isoformat(),
        metrics=",".join(RETENTION_METRICS),
        dimensions="elapsedVideoTimeRatio",
        filters=f"video=={video_id}",
        sort="elapsedVideoTimeRatio",
    )
    return retention_rows(body)
