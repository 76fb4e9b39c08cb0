"""Saving: functions that take the db first and write API resources as rows.

Nothing here fetches. Callers decide the transaction (one per page); every function here is
safe to run inside `with db.atomic():`. Rows are never deleted: a video or playlist that
disappears is marked removed, and history (`video_stats`, `video_changes`) only grows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from sqlite_utils import Database

from archivesync.db.search_index import index_videos
from archivesync.db.transactions import atomic
from archivesync.parsing import parse_chapters, parse_duration
from archivesync.timestamps import iso_utc
from archivesync.urls import chapter_url, video_url

THUMBNAIL_PREFERENCE = ("maxres", "standard", "high", "medium", "default")

# Edits worth a line in video_changes; statistics have their own history table.
TRACKED_FIELDS = ("title", "description", "duration_seconds", "tags", "privacy_status")
STAT_FIELDS = ("view_count", "like_count", "comment_count")
# What the search index holds besides chapter titles; its row order follows publication time.
SEARCHED_FIELDS = ("title", "description", "tags", "published_at")
# Columns compared to decide whether a sync "updated" a video.
CONTENT_FIELDS = (
    "channel_id",
    "title",
    "description",
    "published_at",
    "duration_seconds",
    "live_broadcast_content",
    "privacy_status",
    "category_id",
    "default_language",
    "default_audio_language",
    "tags",
    "caption",
    "definition",
    "view_count",
    "like_count",
    "comment_count",
    "thumbnail_url",
    "scheduled_start_at",
    "actual_start_at",
    "actual_end_at",
    "made_for_kids",
    "license",
)


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...], upsert_pk: str | None, replace: bool) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    sql = f'{verb} INTO "{table}" ({names}) VALUES ({marks})'
    if upsert_pk:
        assignments = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != upsert_pk)
        action = f"DO UPDATE SET {assignments}" if assignments else "DO NOTHING"
        sql += f' ON CONFLICT("{upsert_pk}") {action}'
    return sql


def write_rows(
    db: Database,
    table: str,
    rows: Sequence[dict],
    *,
    upsert_pk: str | None = None,
    replace: bool = False,
) -> None:
    """Insert (or upsert on `upsert_pk`, or replace) rows of the same keys with one statement.

    The same SQL as sqlite-utils' `insert_all` / `upsert_all` (`INSERT ... ON CONFLICT DO
    UPDATE` of the given columns, so a row keeps its rowid and any column it does not name),
    run as one prepared `executemany`. The ingest path's values are plain str, int or None
    (nothing here converts lists or dicts to JSON), so sqlite-utils' per-value JSON check, its
    table introspection and its savepoint per call are pure cost there
    (tests/test_store_rows.py proves the rows identical).
    """
    if not rows:
        return
    columns = tuple(rows[0])
    values = (
        map(itemgetter(*columns), rows) if len(columns) > 1 else ((r[columns[0]],) for r in rows)
    )
    db.conn.executemany(_insert_sql(table, columns, upsert_pk, replace), values)


def _int(value) -> int | None:
    # Statistics arrive as strings; an absent figure (hidden likes, comments off) stays NULL.
    return None if value is None else int(value)


def _bool01(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return 1 if value.lower() == "true" else 0
    return 1 if value else 0


def _thumbnail(snippet: dict) -> str | None:
    thumbs = snippet.get("thumbnails") or {}
    for size in THUMBNAIL_PREFERENCE:
        if size in thumbs and thumbs[size].get("url"):
            return thumbs[size]["url"]
    return None


def video_row(resource: dict) -> dict:
    """A videos.list resource as a `videos` row (without the sync bookkeeping columns)."""
    snippet = resource.get("snippet") or {}
    details = resource.get("contentDetails") or {}
    stats = resource.get("statistics") or {}
    status = resource.get("status") or {}
    live = resource.get("liveStreamingDetails") or {}
    tags = snippet.get("tags")
    return {
        "id": resource["id"],
        "channel_id": snippet.get("channelId"),
        "title": snippet.get("title"),
        "description": snippet.get("description"),
        "published_at": iso_utc(snippet.get("publishedAt")),
        "duration_seconds": parse_duration(details.get("duration")),
        "live_broadcast_content": snippet.get("liveBroadcastContent"),
        "privacy_status": status.get("privacyStatus"),
        "category_id": snippet.get("categoryId"),
        "default_language": snippet.get("defaultLanguage"),
        "default_audio_language": snippet.get("defaultAudioLanguage"),
        "tags": json.dumps(tags, ensure_ascii=False) if tags is not None else None,
        "caption": _bool01(details.get("caption")),
        "definition": details.get("definition"),
        "view_count": _int(stats.get("viewCount")),
        "like_count": _int(stats.get("likeCount")),
        "comment_count": _int(stats.get("commentCount")),
        "thumbnail_url": _thumbnail(snippet),
        "url": video_url(resource["id"]),
        "scheduled_start_at": iso_utc(live.get("scheduledStartTime")),
        "actual_start_at": iso_utc(live.get("actualStartTime")),
        "actual_end_at": iso_utc(live.get("actualEndTime")),
        "made_for_kids": _bool01(status.get("madeForKids")),
        "license": status.get("license"),
        "etag": resource.get("etag"),
    }


def chapter_rows(video_id: str, description: str | None, duration: int | None) -> list[dict]:
    """The `chapters` rows of a video, parsed from its description."""
    return [
        {
            "video_id": video_id,
            "position": c.position,
            "start_seconds": c.start_seconds,
            "end_seconds": c.end_seconds,
            "title": c.title,
            "url": chapter_url(video_id, c.start_seconds),
        }
        for c in parse_chapters(description, duration)
    ]


@dataclass
class SaveResult:
    added: int = 0
    updated: int = 0
    returned: int = 0


def _existing(db: Database, table: str, ids: list[str]) -> dict[str, dict]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {r["id"]: r for r in db.query(f"SELECT * FROM {table} WHERE id IN ({marks})", ids)}


def _str(value) -> str | None:
    return None if value is None else str(value)


def save_videos(db: Database, resources: Iterable[dict], now: str) -> SaveResult:
    """Upsert videos, keeping chapters, statistics history and edit history in step."""
    rows = [video_row(r) for r in resources]
    result = SaveResult()
    if not rows:
        return result
    existing = _existing(db, "videos", [r["id"] for r in rows])
    changes: list[dict] = []
    stats: list[dict] = []
    chapter_videos: list[str] = []
    chapters: list[dict] = []
    reindex: list[str] = []
    for row in rows:
        old = existing.get(row["id"])
        row["last_synced_at"] = now
        if old is None:
            result.added += 1
            row["first_seen_at"] = now
            row["removed_at"] = None
            row["removed_reason"] = None
            stats.append({"video_id": row["id"], "observed_at": now, **_stat(row)})
            chapters.extend(chapter_rows(row["id"], row["description"], row["duration_seconds"]))
            reindex.append(row["id"])
            continue
        row["first_seen_at"] = old["first_seen_at"]
        row["removed_at"] = None
        row["removed_reason"] = None
        if old["removed_at"] is not None:
            result.returned += 1
            changes.append(_change(row["id"], now, "returned", old["removed_reason"], None))
        if any(old[f] != row[f] for f in CONTENT_FIELDS):
            result.updated += 1
        for field in TRACKED_FIELDS:
            if old[field] != row[field]:
                changes.append(_change(row["id"], now, field, old[field], row[field]))
        if any(old[f] != row[f] for f in STAT_FIELDS):
            stats.append({"video_id": row["id"], "observed_at": now, **_stat(row)})
        if (
            old["description"] != row["description"]
            or old["duration_seconds"] != row["duration_seconds"]
        ):
            chapter_videos.append(row["id"])
            chapters.extend(chapter_rows(row["id"], row["description"], row["duration_seconds"]))
        if any(old[f] != row[f] for f in SEARCHED_FIELDS) or row["id"] in chapter_videos:
            reindex.append(row["id"])
    with atomic(db.conn):
        write_rows(db, "videos", rows, upsert_pk="id")
        if chapter_videos:
            marks = ",".join("?" * len(chapter_videos))
            db.conn.execute(f"DELETE FROM chapters WHERE video_id IN ({marks})", chapter_videos)
        write_rows(db, "chapters", chapters)
        write_rows(db, "video_stats", stats)
        write_rows(db, "video_changes", changes)
        if reindex:
            index_videos(db, reindex)
    return result


def _stat(row: dict) -> dict:
    return {f: row[f] for f in STAT_FIELDS}


def _change(video_id: str, now: str, field: str, old, new) -> dict:
    return {
        "video_id": video_id,
        "changed_at": now,
        "field": field,
        "old_value": _str(old),
        "new_value": _str(new),
    }


def mark_videos_removed(db: Database, video_ids: Iterable[str], reason: str, now: str) -> int:
    """Mark visible videos removed; returns how many were newly marked."""
    ids = list(video_ids)
    marked = 0
    with atomic(db.conn):
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            visible = [
                r["id"]
                for r in db.query(
                    f"SELECT id FROM videos WHERE removed_at IS NULL AND id IN ({marks})", chunk
                )
            ]
            if not visible:
                continue
            marks = ",".join("?" * len(visible))
            db.execute(
                f"UPDATE videos SET removed_at = ?, removed_reason = ? WHERE id IN ({marks})",
                [now, reason, *visible],
            )
            write_rows(
                db, "video_changes", [_change(v, now, "removed", None, reason) for v in visible]
            )
            marked += len(visible)
    return marked


def save_channel(db: Database, resource: dict, now: str) -> None:
    """Insert or update a channel from its channels.list resource."""
    snippet = resource.get("snippet") or {}
    stats = resource.get("statistics") or {}
    uploads = ((resource.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    old = _existing(db, "channels", [resource["id"]]).get(resource["id"])
    db["channels"].upsert(
        {
            "id": resource["id"],
            "title": snippet.get("title"),
            "description": snippet.get("description"),
            "custom_url": snippet.get("customUrl"),
            "published_at": iso_utc(snippet.get("publishedAt")),
            "uploads_playlist_id": uploads,
            "video_count": _int(stats.get("videoCount")),
            "view_count": _int(stats.get("viewCount")),
            # Hidden subscriber counts come back absent, not as zero.
            "subscriber_count": None
            if stats.get("hiddenSubscriberCount")
            else _int(stats.get("subscriberCount")),
            "thumbnail_url": _thumbnail(snippet),
            "country": snippet.get("country"),
            "first_seen_at": old["first_seen_at"] if old else now,
            "last_synced_at": now,
        },
        pk="id",
    )


def touch_channel(db: Database, channel_id: str, now: str, *, full: bool = False) -> None:
    """Record that a channel was synced now (and fully, with `full`)."""
    values = {"last_synced_at": now}
    if full:
        values["last_full_sync_at"] = now
    db["channels"].update(channel_id, values)


def save_playlists(db: Database, resources: Iterable[dict], now: str) -> None:
    """Insert or update playlists from their playlists.list resources."""
    resources = list(resources)
    existing = _existing(db, "playlists", [r["id"] for r in resources])
    rows = []
    for r in resources:
        snippet = r.get("snippet") or {}
        old = existing.get(r["id"])
        rows.append(
            {
                "id": r["id"],
                "channel_id": snippet.get("channelId"),
                "title": snippet.get("title"),
                "description": snippet.get("description"),
                "published_at": iso_utc(snippet.get("publishedAt")),
                "item_count": _int((r.get("contentDetails") or {}).get("itemCount")),
                "privacy_status": (r.get("status") or {}).get("privacyStatus"),
                "thumbnail_url": _thumbnail(snippet),
                "first_seen_at": old["first_seen_at"] if old else now,
                "last_synced_at": now,
                "removed_at": None,
                "removed_reason": None,
            }
        )
    write_rows(db, "playlists", rows, upsert_pk="id")


def playlist_item_row(playlist_id: str, item: dict) -> dict:
    """A `playlist_items` row from a playlistItems.list resource."""
    snippet = item.get("snippet") or {}
    details = item.get("contentDetails") or {}
    title = snippet.get("title")
    video_published = details.get("videoPublishedAt")
    # Unavailable entries keep their video id but lose the publish date and owner fields.
    if title == "Deleted video" and not video_published:
        status = "deleted"
    elif title == "Private video" and not video_published:
        status = "private"
    else:
        status = "ok"
    return {
        "playlist_id": playlist_id,
        "position": snippet.get("position"),
        "video_id": details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId"),
        "added_at": iso_utc(snippet.get("publishedAt")),
        "video_published_at": iso_utc(video_published),
        "item_status": status,
        "title": title,
    }


def replace_playlist_items(db: Database, playlist_id: str, rows: list[dict]) -> None:
    """Swap in a playlist's complete, freshly listed items (positions are the listing's)."""
    with atomic(db.conn):
        db.conn.execute("DELETE FROM playlist_items WHERE playlist_id = ?", [playlist_id])
        write_rows(db, "playlist_items", rows, replace=True)


def mark_playlists_removed(
    db: Database, channel_id: str, seen_ids: set[str], reason: str, now: str
) -> int:
    """Mark the channel's playlists not in `seen_ids` removed; returns how many."""
    gone = [
        r["id"]
        for r in db.query(
            "SELECT id FROM playlists WHERE channel_id = ? AND removed_at IS NULL", [channel_id]
        )
        if r["id"] not in seen_ids
    ]
    for playlist_id in gone:
        db["playlists"].update(playlist_id, {"removed_at": now, "removed_reason": reason})
    return len(gone)
