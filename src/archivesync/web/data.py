"""What each console page shows, read from the index: plain functions taking a Database.

Only reads (pages run on Datasette's read-only connections). Tables that other features add
(transcripts, analytics) are looked for, never assumed: a page shows what the index holds.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlite_utils import Database

from archivesync.db import runs as sync_runs
from archivesync.timestamps import format_utc
from archivesync.web.text import TOKYO, target_kind_label

FAILURE_DAYS = 7
HISTORY_LIMIT = 200


def has_table(db: Database, name: str) -> bool:
    """Whether the index has this table or view (newer features add some)."""
    return bool(
        db.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')", [name]
        ).fetchone()
    )


def _rows(db: Database, sql: str, params=()) -> list[dict]:
    return list(db.query(sql, params))


def channels(db: Database) -> list[dict]:
    """Every synced channel, by title."""
    return _rows(db, "SELECT id, title, custom_url FROM channels ORDER BY title, id")


def playlists(db: Database, channel_id: str | None = None) -> list[dict]:
    """Playlists still listed, of one channel or all, by title."""
    sql = "SELECT id, title, channel_id FROM playlists WHERE removed_at IS NULL"
    params: list = []
    if channel_id:
        sql += " AND channel_id = ?"
        params.append(channel_id)
    return _rows(db, sql + " ORDER BY title", params)


# --- staff ---------------------------------------------------------------------------------


def last_runs_by_kind(db: Database) -> dict[str, list[dict]]:
    """Per channel, the last finished run of each mode: {channel_id: [run, ...]}."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for run in sync_runs.last_finished_per_channel_and_mode(db):
        grouped[run["channel_id"] or ""].append(run)
    return dict(grouped)


def recent_failures(db: Database, now: datetime | None = None) -> list[dict]:
    """Runs of the last 7 days that did not end ok, newest first."""
    since = (now or datetime.now(UTC)) - timedelta(days=FAILURE_DAYS)
    return sync_runs.failed_since(db, format_utc(since))


def request_history(db: Database, limit: int = HISTORY_LIMIT) -> list[dict]:
    """Staff requests, newest first, with the figures of the run that served each and the
    titles of what each named."""
    rows = _rows(
        db,
        "SELECT r.*, s.videos_added, s.videos_updated, s.videos_removed, s.quota_units "
        "FROM sync_requests r LEFT JOIN sync_runs s ON s.id = r.run_id "
        "ORDER BY r.id DESC LIMIT ?",
        [limit],
    )
    for row in rows:
        row["targets"] = request_targets(db, row, most=5)
    return rows


TARGET_TABLES = {"videos": "videos", "channel": "channels", "playlist": "playlists"}


def request_targets(db: Database, row: dict, most: int = 20) -> list[dict]:
    """What a request names, each with its title: [{kind, kind_label, id, title}].

    A title is None for what the index does not hold yet (a video never synced).
    """
    kind = row["target_kind"]
    ids = [i for i in (row["target_id"] or "").split(",") if i][:most]
    table = TARGET_TABLES.get(kind)
    titles = {}
    if table and ids:
        marks = ",".join("?" * len(ids))
        titles = dict(db.conn.execute(f"SELECT id, title FROM {table} WHERE id IN ({marks})", ids))
    return [
        {
            "kind": kind,
            "kind_label": target_kind_label(kind),
            "id": target_id,
            "title": titles.get(target_id),
        }
        for target_id in ids
    ]


# --- search --------------------------------------------------------------------------------


def publication_years(db: Database) -> list[int]:
    """The years (Japan time) in which the index's videos were published, newest first."""
    return [
        row[0]
        for row in db.conn.execute(
            "SELECT DISTINCT CAST(strftime('%Y', published_at, '+9 hours') AS INTEGER) AS y "
            "FROM videos WHERE published_at IS NOT NULL ORDER BY y DESC"
        )
        if row[0]
    ]


# --- video ---------------------------------------------------------------------------------


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def video_page(db: Database, video_id: str) -> dict | None:
    """Everything the video page shows; None for an unknown id."""
    video = next(db.query("SELECT * FROM videos WHERE id = ?", [video_id]), None)
    if video is None:
        return None
    channel = next(
        db.query("SELECT id, title FROM channels WHERE id = ?", [video["channel_id"]]), None
    )
    page = {
        "video": video,
        "channel": channel,
        "playlists": _rows(
            db,
            "SELECT DISTINCT p.id, p.title FROM playlist_items i JOIN playlists p "
            "ON p.id = i.playlist_id WHERE i.video_id = ? AND p.removed_at IS NULL "
            "ORDER BY p.title",
            [video_id],
        ),
        "chapters": _rows(
            db, "SELECT * FROM chapters WHERE video_id = ? ORDER BY position", [video_id]
        ),
        "stats": _rows(
            db,
            "SELECT observed_at, view_count, like_count, comment_count FROM video_stats "
            "WHERE video_id = ? ORDER BY observed_at",
            [video_id],
        ),
        "transcript": [],
        "daily": [],
        "retention": [],
        "has_transcripts": has_table(db, "transcript_cues"),
        "has_daily": has_table(db, "video_daily_metrics"),
        "has_retention": has_table(db, "video_retention"),
    }
    if page["has_transcripts"]:
        page["transcript"] = _rows(
            db,
            "SELECT start_seconds, end_seconds, text FROM transcript_cues WHERE video_id = ? "
            "ORDER BY start_seconds, position",
            [video_id],
        )
    if page["has_daily"]:
        page["daily"] = _rows(
            db,
            "SELECT day, views FROM video_daily_metrics WHERE video_id = ? ORDER BY day",
            [video_id],
        )
    if page["has_retention"]:
        page["retention"] = _rows(
            db,
            "SELECT elapsed_ratio, audience_watch_ratio FROM video_retention "
            "WHERE video_id = ? ORDER BY elapsed_ratio",
            [video_id],
        )
    page["views_series"] = [
        (_day(s["observed_at"]), s["view_count"])
        for s in page["stats"]
        if s["view_count"] is not None
    ]
    page["daily_series"] = [
        (_day(d["day"]), d["views"]) for d in page["daily"] if d["views"] is not None
    ]
    return page


# --- channel -------------------------------------------------------------------------------


def channel_page(db: Database, channel_id: str, today: date | None = None) -> dict | None:
    """Everything the channel page shows; None for an unknown channel."""
    channel = next(db.query("SELECT * FROM channels WHERE id = ?", [channel_id]), None)
    if channel is None:
        return None
    monthly = _rows(
        db,
        "SELECT year, month, videos, round(hours, 1) AS hours FROM channel_summary "
        "WHERE channel_id = ? ORDER BY year, month",
        [channel_id],
    )
    views_monthly = []
    if has_table(db, "channel_daily_metrics"):
        views_monthly = _rows(
            db,
            "SELECT substr(day, 1, 7) AS month, sum(views) AS views FROM channel_daily_metrics "
            "WHERE channel_id = ? GROUP BY month ORDER BY month",
            [channel_id],
        )
    today = today or datetime.now(TOKYO).date()
    if has_table(db, "video_daily_metrics"):
        since = (today - timedelta(days=28)).isoformat()
        top = _rows(
            db,
            "SELECT v.id AS video_id, v.title, sum(m.views) AS views FROM video_daily_metrics m "
            "JOIN videos v ON v.id = m.video_id WHERE v.channel_id = ? AND m.day > ? "
            "GROUP BY v.id ORDER BY views DESC LIMIT 10",
            [channel_id, since],
        )
        top_source = "analytics"
    else:
        # Without analytics, the growth of the public view counter over the 30 days to the
        # last sync is the best measure the index holds.
        top = _rows(
            db,
            "SELECT s.video_id, s.title, s.views_growth_30d AS views FROM stats_latest s "
            "JOIN videos v ON v.id = s.video_id WHERE v.channel_id = ? AND s.removed_at IS NULL "
            "AND s.views_growth_30d IS NOT NULL ORDER BY s.views_growth_30d DESC LIMIT 10",
            [channel_id],
        )
        top_source = "stats"
    removed = _rows(
        db,
        "SELECT r.* FROM removed_videos r JOIN videos v ON v.id = r.video_id "
        "WHERE v.channel_id = ? ORDER BY r.removed_at DESC",
        [channel_id],
    )
    return {
        "channel": channel,
        "monthly": monthly,
        "views_monthly": views_monthly,
        "top": top,
        "top_source": top_source,
        "removed": removed,
        "videos": _rows(
            db,
            "SELECT id, title, published_at, duration_seconds, view_count FROM videos "
            "WHERE channel_id = ? AND removed_at IS NULL ORDER BY published_at DESC LIMIT 200",
            [channel_id],
        ),
    }
