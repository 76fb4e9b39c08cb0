"""Saving caption tracks and transcript cues: functions that take the database first, never fetch.

A track row keeps the raw text as downloaded (or imported), so a better parser can re-run
over it with no quota (`reparse_track`). Cues are written together with their search rows
(search/transcripts.py), in the caller's transaction.

Which cues a video keeps: those of its best downloaded track (see `track_rank`), plus every
imported track's. A sync never overwrites or deletes an imported track.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlite_utils import Database

from archivesync.db.transcript_index import index_track, unindex_track
from archivesync.errors import TranscriptParseError
from archivesync.transcripts.cues import Cue, parse

IMPORTED = "imported"
# Track states (caption_tracks.state); NULL: listed, not downloaded (yet, or not the best).
OK, FORBIDDEN, UNPARSEABLE, REMOVED = "ok", "forbidden", "unparseable", "removed"
_KIND_RANK = {"standard": 0, "forced": 1, "asr": 2}


def track_rank(track: Mapping[str, Any]) -> tuple:
    """Sort key: the track to download first (written before forced before automatic)."""
    kind = str(track.get("track_kind") or "").lower()
    return (bool(track.get("is_draft")), _KIND_RANK.get(kind, 3), track.get("id") or "")


def language_matches(track_language: str | None, wanted: str) -> bool:
    """`ja` matches `ja` and `ja-JP`; case-insensitive."""
    lang = (track_language or "").lower()
    wanted = wanted.lower()
    return lang == wanted or lang.startswith(wanted + "-")


def _row_from_resource(item: Mapping[str, Any], now: str) -> dict[str, Any]:
    snippet = item.get("snippet") or {}
    return {
        "id": item["id"],
        "video_id": snippet.get("videoId"),
        "language": snippet.get("language"),
        "name": snippet.get("name"),
        # The API spells it "ASR" in the discovery enum and "asr" in the docs: store lower case.
        "track_kind": str(snippet.get("trackKind") or "").lower() or None,
        "is_auto_synced": int(bool(snippet.get("isAutoSynced"))),
        "is_draft": int(bool(snippet.get("isDraft"))),
        "status": snippet.get("status"),
        "last_updated": snippet.get("lastUpdated"),
        "checked_at": now,
    }


def save_track_list(
    db: Database, video_id: str, items: Iterable[Mapping[str, Any]], caption_flag: Any, now: str
) -> list[dict]:
    """Record a captions.list answer: upsert its tracks, mark vanished ones `removed`.

    Also records the check in `caption_checks`. Returns the video's current (not removed,
    not imported) tracks as rows.
    """
    rows = [_row_from_resource(item, now) for item in items]
    listed = {r["id"] for r in rows}
    for row in rows:
        row["video_id"] = row["video_id"] or video_id
        db["caption_tracks"].upsert(row, pk="id")
        # A track that came back after being removed is listed again, not removed.
        db.execute(
            "UPDATE caption_tracks SET state = NULL, state_detail = NULL "
            "WHERE id = ? AND state = ?",
            [row["id"], REMOVED],
        )
    for (gone,) in db.execute(
        "SELECT id FROM caption_tracks WHERE video_id = ? AND track_kind IS NOT ? "
        "AND coalesce(state, '') != ?",
        [video_id, IMPORTED, REMOVED],
    ).fetchall():
        if gone not in listed:
            mark_track(db, gone, REMOVED, "no longer listed by captions.list", now)
            drop_cues(db, gone)
    db["caption_checks"].upsert(
        {
            "video_id": video_id,
            "checked_at": now,
            "caption_flag": caption_flag,
            "track_count": len(rows),
            "state": OK,
            "state_detail": None,
        },
        pk="video_id",
    )
    return [r for r in current_tracks(db, video_id)]


def save_check_failure(
    db: Database, video_id: str, state: str, detail: str, caption_flag: Any, now: str
) -> None:
    """A captions.list refused for this video (403, 404): recorded, retried at the next age."""
    db["caption_checks"].upsert(
        {
            "video_id": video_id,
            "checked_at": now,
            "caption_flag": caption_flag,
            "track_count": None,
            "state": state,
            "state_detail": detail,
        },
        pk="video_id",
    )


def current_tracks(db: Database, video_id: str) -> list[dict]:
    """The video's listed tracks (not removed, not imported)."""
    return list(
        db.query(
            "SELECT * FROM caption_tracks WHERE video_id = ? AND track_kind IS NOT ? "
            "AND coalesce(state, '') != ?",
            [video_id, IMPORTED, REMOVED],
        )
    )


def mark_track(db: Database, track_id: str, state: str, detail: str | None, now: str) -> None:
    """Set a track's state (forbidden, removed...): the run goes on."""
    db.execute(
        "UPDATE caption_tracks SET state = ?, state_detail = ?, "
        "downloaded_last_updated = CASE WHEN ? = 'forbidden' THEN last_updated "
        "ELSE downloaded_last_updated END, checked_at = ? WHERE id = ?",
        [state, detail, state, now, track_id],
    )


def drop_cues(db: Database, track_id: str) -> None:
    """Delete a track's cues and their search rows (its raw text stays)."""
    unindex_track(db, track_id)
    db.execute("DELETE FROM transcript_cues WHERE track_id = ?", [track_id])


def _write_cues(db: Database, video_id: str, track_id: str, cues: list[Cue]) -> int:
    drop_cues(db, track_id)
    db.conn.executemany(
        "INSERT INTO transcript_cues (video_id, track_id, position, start_seconds, "
        "end_seconds, text) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (video_id, track_id, i, c.start_seconds, c.end_seconds, c.text)
            for i, c in enumerate(cues, 1)
        ],
    )
    index_track(db, track_id)
    return len(cues)


def save_download(db: Database, track_id: str, raw: str, fmt: str, now: str) -> int:
    """Store a downloaded track's text and its cues; an unparseable file marks the track.

    Returns the number of cues (0 when unparseable). Other downloaded tracks of the video
    lose their cues (their raw text stays): a video has one downloaded transcript in search.
    """
    row = next(
        db.query("SELECT video_id, last_updated FROM caption_tracks WHERE id = ?", [track_id])
    )
    video_id = row["video_id"]
    db.execute(
        "UPDATE caption_tracks SET raw_text = ?, format = ?, downloaded_at = ?, "
        "downloaded_last_updated = last_updated WHERE id = ?",
        [raw, fmt, now, track_id],
    )
    try:
        cues = parse(raw, fmt)
    except TranscriptParseError as e:
        mark_track(db, track_id, UNPARSEABLE, str(e), now)
        drop_cues(db, track_id)
        return 0
    for (other,) in db.execute(
        "SELECT id FROM caption_tracks WHERE video_id = ? AND id != ? AND track_kind IS NOT ?",
        [video_id, track_id, IMPORTED],
    ).fetchall():
        drop_cues(db, other)
    db.execute(
        "UPDATE caption_tracks SET state = ?, state_detail = NULL WHERE id = ?", [OK, track_id]
    )
    return _write_cues(db, video_id, track_id, cues)


def import_transcript(
    db: Database, video_id: str, filename: str, raw: str, fmt: str, now: str
) -> tuple[str, int]:
    """Store a .vtt/.srt made elsewhere as an `imported` track of `video_id` (replacing an
    earlier import of the same file name). Raises TranscriptParseError, writing nothing."""
    cues = parse(raw, fmt)
    if not cues:
        raise TranscriptParseError(f"{filename}: no cues found")
    track_id = f"imported:{video_id}:{filename}"
    db["caption_tracks"].upsert(
        {
            "id": track_id,
            "video_id": video_id,
            "language": None,
            "name": filename,
            "track_kind": IMPORTED,
            "is_auto_synced": 0,
            "is_draft": 0,
            "status": None,
            "last_updated": now,
            "checked_at": now,
            "downloaded_at": now,
            "downloaded_last_updated": now,
            "format": fmt,
            "state": OK,
            "state_detail": None,
            "raw_text": raw,
        },
        pk="id",
    )
    return track_id, _write_cues(db, video_id, track_id, cues)


def reparse_track(db: Database, track_id: str) -> int:
    """Parse a stored track's raw text again (after a parser fix): no API call, no quota."""
    row = next(
        db.query("SELECT video_id, raw_text, format FROM caption_tracks WHERE id = ?", [track_id])
    )
    cues = parse(row["raw_text"] or "", row["format"] or "vtt")
    return _write_cues(db, row["video_id"], track_id, cues)
