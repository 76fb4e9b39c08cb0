"""The analysts' views, as data: name -> SELECT.

Plain SQL only (no Python functions), so that they work in any SQLite client: Datasette, the
sqlite3 shell, DB Browser. Durations and chapter starts are formatted as h:mm:ss with printf.
A view is never edited in place once released: a later migration re-applies VIEWS with
`create_views` (``create_view(..., replace=True)``), so a database always has the views of its
code. Each view and its columns are described in db/columns.toml (docs/schema.md, "Views").
"""

from __future__ import annotations

from sqlite_utils import Database

__all__ = [
    "ANALYTICS_VIEWS",
    "VIEWS",
    "VIEW_COUNTING_CHANGED_AT",
    "VIEW_COUNTING_CHANGED_ON",
    "create_analytics_views",
    "create_views",
    "hms_sql",
]


def hms_sql(seconds: str) -> str:
    """SQL for ``seconds`` as h:mm:ss (``0:05:07``, ``12:00:00``); NULL stays NULL."""
    return (
        f"CASE WHEN {seconds} IS NULL THEN NULL ELSE printf('%d:%02d:%02d', "
        f"{seconds} / 3600, ({seconds} % 3600) / 60, {seconds} % 60) END"
    )


# Stats are recorded only when they change, so the figure at a moment is the last observation
# at or before it. Windows end at the video's last sync: the last time the figures were known.
def _stat_at(when: str) -> str:
    return (
        "(SELECT s.rowid FROM video_stats s WHERE s.video_id = v.id "
        f"AND s.observed_at <= {when} ORDER BY s.observed_at DESC, s.rowid DESC LIMIT 1)"
    )


def _ago(days: int) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', v.as_of, '-{days} days')"


# YouTube unified how public view counts are counted on this day (a play start counts): a
# stored viewCount series has a step there. Observations from this moment (UTC) are "unified".
VIEW_COUNTING_CHANGED_ON = "2026-08-27"
VIEW_COUNTING_CHANGED_AT = f"{VIEW_COUNTING_CHANGED_ON}T00:00:00Z"

VIEWS: dict[str, str] = {
    # One row per video ever seen; removed ones stay, flagged by removed_at.
    "video_overview": f"""
SELECT
  v.id,
  v.title,
  v.published_at,
  {hms_sql("v.duration_seconds")} AS duration,
  v.duration_seconds,
  v.url,
  (SELECT count(*) FROM chapters c WHERE c.video_id = v.id) AS chapter_count,
  (
    SELECT group_concat(t.title, ', ')
    FROM (
      SELECT DISTINCT p.title
      FROM playlist_items pi
      JOIN playlists p ON p.id = pi.playlist_id
      WHERE pi.video_id = v.id AND p.removed_at IS NULL
      ORDER BY p.title
    ) t
  ) AS playlists,
  v.view_count,
  v.like_count,
  v.comment_count,
  v.removed_at,
  EXISTS (SELECT 1 FROM transcript_cues tc WHERE tc.video_id = v.id) AS has_transcript
FROM videos v
""",
    # Chapters of videos still on the channel: a deep link into a removed video plays nothing.
    "chapter_index": f"""
SELECT
  c.video_id,
  v.title AS video_title,
  v.published_at AS video_published_at,
  c.position,
  c.title,
  {hms_sql("c.start_seconds")} AS start,
  c.start_seconds,
  c.end_seconds,
  c.url
FROM chapters c
JOIN videos v ON v.id = c.video_id
WHERE v.removed_at IS NULL
""",
    # Months are Japan time (UTC+9), as the channel's viewers and the institute read dates;
    # fiscal_year is the Japanese 年度 (April to March). Removed videos are not counted.
    "channel_summary": """
SELECT
  channel_id,
  year,
  month,
  CASE WHEN month >= 4 THEN year ELSE year - 1 END AS fiscal_year,
  count(*) AS videos,
  round(coalesce(sum(duration_seconds), 0) / 3600.0, 2) AS hours
FROM (
  SELECT
    channel_id,
    CAST(strftime('%Y', published_at, '+9 hours') AS INTEGER) AS year,
    CAST(strftime('%m', published_at, '+9 hours') AS INTEGER) AS month,
    duration_seconds
  FROM videos
  WHERE removed_at IS NULL AND published_at IS NOT NULL
)
GROUP BY channel_id, year, month
""",
    # Item counts come from the last listing of each playlist; removed playlists stay, flagged.
    "playlist_overview": f"""
SELECT
  p.id AS playlist_id,
  p.title,
  p.channel_id,
  p.published_at,
  coalesce(i.items, 0) AS item_count,
  coalesce(i.available, 0) AS available_items,
  coalesce(i.deleted, 0) AS deleted_items,
  coalesce(i.private, 0) AS private_items,
  i.duration_seconds,
  {hms_sql("i.duration_seconds")} AS duration,
  p.removed_at
FROM playlists p
LEFT JOIN (
  SELECT
    pi.playlist_id,
    count(*) AS items,
    sum(pi.item_status = 'ok') AS available,
    sum(pi.item_status = 'deleted') AS deleted,
    sum(pi.item_status = 'private') AS private,
    sum(CASE WHEN pi.item_status = 'ok' THEN v.duration_seconds END) AS duration_seconds
  FROM playlist_items pi
  LEFT JOIN videos v ON v.id = pi.video_id
  GROUP BY pi.playlist_id
) i ON i.playlist_id = p.id
""",
    # Growth over a window is NULL when there is no observation that old (a newer video).
    # view_counting says on which side of YouTube's 2026-08-27 change the latest count lies;
    # a growth that spans the change holds a step that is not audience change.
    "stats_latest": f"""
SELECT
  v.id AS video_id,
  v.title,
  l.observed_at,
  l.view_count,
  l.like_count,
  l.comment_count,
  f.observed_at AS first_observed_at,
  l.view_count - f.view_count AS views_growth,
  l.like_count - f.like_count AS likes_growth,
  l.comment_count - f.comment_count AS comments_growth,
  v.as_of,
  l.view_count - w.view_count AS views_growth_7d,
  l.like_count - w.like_count AS likes_growth_7d,
  l.comment_count - w.comment_count AS comments_growth_7d,
  l.view_count - m.view_count AS views_growth_30d,
  l.like_count - m.like_count AS likes_growth_30d,
  l.comment_count - m.comment_count AS comments_growth_30d,
  v.removed_at,
  CASE WHEN l.observed_at >= '{VIEW_COUNTING_CHANGED_AT}' THEN 'unified' ELSE 'before_unified'
    END AS view_counting,
  CASE WHEN f.observed_at < '{VIEW_COUNTING_CHANGED_AT}'
    AND l.observed_at >= '{VIEW_COUNTING_CHANGED_AT}' THEN 1 ELSE 0
    END AS views_growth_spans_counting_change
FROM (
  SELECT
    v.*,
    (SELECT s.rowid FROM video_stats s WHERE s.video_id = v.id
      ORDER BY s.observed_at DESC, s.rowid DESC LIMIT 1) AS latest_id,
    (SELECT s.rowid FROM video_stats s WHERE s.video_id = v.id
      ORDER BY s.observed_at, s.rowid LIMIT 1) AS first_id,
    {_stat_at(_ago(7))} AS week_id,
    {_stat_at(_ago(30))} AS month_id
  FROM (
    SELECT
      v.id,
      v.title,
      v.removed_at,
      coalesce(
        v.last_synced_at,
        (SELECT max(s.observed_at) FROM video_stats s WHERE s.video_id = v.id)
      ) AS as_of
    FROM videos v
  ) v
) v
JOIN video_stats l ON l.rowid = v.latest_id
JOIN video_stats f ON f.rowid = v.first_id
LEFT JOIN video_stats w ON w.rowid = v.week_id
LEFT JOIN video_stats m ON m.rowid = v.month_id
""",
    "removed_videos": f"""
SELECT
  v.id AS video_id,
  v.title,
  v.published_at,
  v.removed_at,
  v.removed_reason,
  {hms_sql("v.duration_seconds")} AS duration,
  v.duration_seconds,
  v.view_count AS last_view_count,
  v.first_seen_at,
  v.url
FROM videos v
WHERE v.removed_at IS NOT NULL
ORDER BY v.removed_at DESC, v.id
""",
    # Every transcript cue with the second it starts and a link that plays from there.
    "transcript_index": f"""
SELECT
  c.video_id,
  v.title AS video_title,
  v.published_at AS video_published_at,
  c.track_id,
  t.track_kind,
  t.language,
  c.position,
  {hms_sql("CAST(c.start_seconds AS INTEGER)")} AS start,
  c.start_seconds,
  c.end_seconds,
  c.text,
  'https://www.youtube.com/watch?v=' || c.video_id || '&t=' || CAST(c.start_seconds AS INTEGER)
    || 's' AS url
FROM transcript_cues c
JOIN videos v ON v.id = c.video_id
LEFT JOIN caption_tracks t ON t.id = c.track_id
WHERE v.removed_at IS NULL
""",
}


def create_views(db: Database) -> None:
    """Create or replace every view in VIEWS (idempotent)."""
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip(), replace=True)


# --- YouTube Analytics (migration 0006) ------------------------------------------------------
# Kept apart from VIEWS because their tables only exist from migration 0006 on.

ANALYTICS_VIEWS: dict[str, str] = {
    # One row per chapter of a video that has retention. A retention point with ratio r lies at
    # second r * duration_seconds; a chapter holds the points with start_seconds <= t <
    # end_seconds (the last chapter also t = duration); its figures are NULL if it holds none.
    "chapter_retention": """
WITH chapter_spans AS (
  SELECT
    c.video_id,
    c.position,
    c.title,
    c.start_seconds,
    c.end_seconds,
    coalesce(c.end_seconds, v.duration_seconds) AS span_end,
    v.duration_seconds AS duration,
    c.position = max(c.position) OVER (PARTITION BY c.video_id) AS is_last
  FROM chapters c
  JOIN videos v ON v.id = c.video_id
  WHERE c.video_id IN (SELECT video_id FROM video_retention)
),
held AS (
  SELECT s.video_id, s.position, r.elapsed_ratio * s.duration AS t, r.audience_watch_ratio AS ratio
  FROM chapter_spans s
  JOIN video_retention r ON r.video_id = s.video_id
  WHERE r.elapsed_ratio * s.duration >= s.start_seconds
    AND (
      r.elapsed_ratio * s.duration < s.span_end
      OR (s.is_last AND r.elapsed_ratio * s.duration = s.duration)
    )
),
figures AS (
  SELECT
    s.video_id,
    s.position,
    count(h.t) AS points,
    avg(h.ratio) AS mean_ratio,
    (SELECT h1.ratio FROM held h1 WHERE h1.video_id = s.video_id AND h1.position = s.position
     ORDER BY h1.t ASC LIMIT 1) AS at_start,
    (SELECT h2.ratio FROM held h2 WHERE h2.video_id = s.video_id AND h2.position = s.position
     ORDER BY h2.t DESC LIMIT 1) AS at_end
  FROM chapter_spans s
  LEFT JOIN held h ON h.video_id = s.video_id AND h.position = s.position
  GROUP BY s.video_id, s.position
)
SELECT
  s.video_id,
  s.position AS chapter_position,
  s.title AS chapter_title,
  s.start_seconds,
  s.end_seconds,
  f.points,
  f.mean_ratio AS mean_audience_watch_ratio,
  f.at_start AS watch_ratio_at_start,
  f.at_end AS watch_ratio_at_end,
  f.at_start - f.at_end AS "drop"
FROM chapter_spans s
JOIN figures f ON f.video_id = s.video_id AND f.position = s.position
ORDER BY s.video_id, s.position
""",
    # Per video: views and hours watched in the 7 and 28 days ending on the newest day with
    # figures (they lag two to three days), and all time; the views-weighted average percentage.
    "video_usage": """
WITH newest AS (SELECT max(day) AS day FROM video_daily_metrics)
SELECT
  m.video_id,
  v.channel_id,
  v.title,
  v.published_at,
  (SELECT day FROM newest) AS as_of_day,
  sum(CASE WHEN m.day > date((SELECT day FROM newest), '-7 days') THEN m.views ELSE 0 END)
    AS views_7d,
  round(sum(CASE WHEN m.day > date((SELECT day FROM newest), '-7 days')
    THEN m.estimated_minutes_watched ELSE 0 END) / 60.0, 2) AS hours_watched_7d,
  sum(CASE WHEN m.day > date((SELECT day FROM newest), '-28 days') THEN m.views ELSE 0 END)
    AS views_28d,
  round(sum(CASE WHEN m.day > date((SELECT day FROM newest), '-28 days')
    THEN m.estimated_minutes_watched ELSE 0 END) / 60.0, 2) AS hours_watched_28d,
  sum(m.views) AS views_total,
  round(sum(m.estimated_minutes_watched) / 60.0, 2) AS hours_watched_total,
  round(sum(m.views * m.average_view_percentage) / nullif(sum(m.views), 0), 2)
    AS average_view_percentage
FROM video_daily_metrics m
LEFT JOIN videos v ON v.id = m.video_id
GROUP BY m.video_id
ORDER BY views_28d DESC, m.video_id
""",
    # Per channel and month (YYYY-MM): views and hours watched (Analytics days, Pacific time)
    # and videos published that month (publication times in UTC), removed ones included.
    "monthly_usage": """
WITH watched AS (
  SELECT channel_id, substr(day, 1, 7) AS month, sum(views) AS views,
    sum(estimated_minutes_watched) AS minutes
  FROM channel_daily_metrics
  GROUP BY channel_id, month
),
published AS (
  SELECT channel_id, substr(published_at, 1, 7) AS month, count(*) AS videos
  FROM videos
  WHERE published_at IS NOT NULL
    AND channel_id IN (SELECT channel_id FROM channel_daily_metrics)
  GROUP BY channel_id, month
),
months AS (
  SELECT channel_id, month FROM watched
  UNION
  SELECT channel_id, month FROM published
)
SELECT
  m.channel_id,
  m.month,
  coalesce(w.views, 0) AS views,
  round(coalesce(w.minutes, 0) / 60.0, 2) AS hours_watched,
  coalesce(p.videos, 0) AS videos_published
FROM months m
LEFT JOIN watched w ON w.channel_id = m.channel_id AND w.month = m.month
LEFT JOIN published p ON p.channel_id = m.channel_id AND p.month = m.month
ORDER BY m.channel_id, m.month
""",
}


def create_analytics_views(db: Database) -> None:
    """Create or replace the YouTube Analytics views (idempotent)."""
    for name, sql in ANALYTICS_VIEWS.items():
        db.create_view(name, sql.strip(), replace=True)
