"""Datasette for analysts: metadata that explains every table and view, canned queries for
the common questions, and a plugin giving SQL the search index's query functions.

Needs the optional extra (``pip install 'archivesync[datasette]'``). The database is opened
read-only (``mode=ro``), not ``immutable``: a sync may write at the same time, and an immutable
open would ignore the WAL file and could read a half-written state.

SQL functions (registered on every connection by `prepare_connection`):

- ``archivesync_match(q)``: the FTS5 MATCH expression for a query (all words), to use as
  ``search_fts MATCH archivesync_match(:q)``; never a syntax error, whatever ``q`` holds.
- ``archivesync_match_in(q, columns)``: the same, limited to columns of search_fts
  (space-separated, e.g. ``'chapters'``).
- ``archivesync_contains_all(q, text, ...)``: 1 when every word of ``q`` is in one of the texts
  (normalised like the index: NFKC + casefold), else 0. The exact check after the index.
- ``archivesync_term_hits(q, text)``: how many words of ``q`` the text holds.
- ``archivesync_normalize(text)``: NFKC + casefold + single spaces.
- ``archivesync_search(q, scope, exact)``: the rows of `archivesync search` (the one matcher,
  search/query.py) as a JSON array, for ``json_each``: scope ``videos`` (one row per video,
  best first), ``chapters`` or ``transcripts`` (one row per chapter or cue hit, each at its
  second). The canned queries below read their hits from it.

Their inputs are capped (`MAX_QUERY_CHARS` for a query, `MAX_TEXT_CHARS` for a text): a longer
one is an error, so each call takes milliseconds and a query calling them stops at Datasette's
time limit like any other (the limit is checked between SQLite's steps, never inside a call).
"""

from __future__ import annotations

import functools
import json
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from datasette import hookimpl

from archivesync.analysts.readonly_sql import install_guard, limit_connection
from archivesync.db.views import hms_sql
from archivesync.errors import EmptyQuery
from archivesync.parsing import normalize_text
from archivesync.search.query import search
from archivesync.search.text import FIELDS, SearchQuery, contains_all, term_hits
from archivesync.search.transcripts import starts_in_own
from archivesync.search.transcripts import window as transcript_window

__all__ = ["CANNED_QUERIES", "TABLES", "make_datasette", "metadata", "serve"]

# An FTS5 phrase with no token: matches nothing, and is valid syntax.
_NOTHING = '"_"'


# A search query is a few words; the longest text the functions see is a video description
# (YouTube allows 5,000 bytes) or the chapter titles of a long lecture.
MAX_QUERY_CHARS = 1_000
MAX_TEXT_CHARS = 100_000


class InputTooLong(ValueError):
    """An argument of an archivesync_* SQL function is longer than its cap."""


def _capped(text: str | None, most: int) -> str | None:
    if text is not None and len(text) > most:
        raise InputTooLong(f"archivesync SQL functions take at most {most} characters")
    return text


@functools.lru_cache(maxsize=256)
def _cached_query(q: str) -> SearchQuery:
    return SearchQuery(q)


def _query(q: str | None) -> SearchQuery:
    return _cached_query(_capped(q, MAX_QUERY_CHARS) or "")


def _text(text: str | None) -> str:
    return normalize_text(_capped(text, MAX_TEXT_CHARS))


def archivesync_match(q: str | None) -> str:
    """SQL function: the FTS MATCH expression for a search query."""
    return _query(q).match_expression() or _NOTHING


def archivesync_match_in(q: str | None, columns: str | None) -> str:
    """SQL function: the MATCH expression limited to some of the search fields."""
    wanted = [c for c in (columns or "").split() if c in FIELDS]
    return _query(q).match_expression(wanted or None) or _NOTHING


def archivesync_contains_all(q: str | None, *texts: str | None) -> int:
    """SQL function: 1 when the texts hold every word of the query."""
    query = _query(q)
    if not query:
        return 0
    return int(contains_all(query.terms, [_text(t) for t in texts if t]))


def archivesync_term_hits(q: str | None, text: str | None) -> int:
    """SQL function: how many words of the query the text holds."""
    return term_hits(_query(q).terms, _text(text))


def archivesync_normalize(text: str | None) -> str:
    """SQL function: the text normalised the way the search index stores it."""
    return _text(text)


def archivesync_transcript_hit(q: str | None, text: str | None, next_text: str | None) -> int:
    """1 when a cue (with the next one, for phrases split across cues) holds every word and
    one of them starts in this cue: the rule of `archivesync search` (search/transcripts.py)."""
    query = _query(q)
    if not query or not text:
        return 0
    _capped(text, MAX_TEXT_CHARS)
    _capped(next_text, MAX_TEXT_CHARS)
    return int(starts_in_own(query, transcript_window(text, next_text)))


# archivesync_search scopes: where to look, and the rows kept.
_SCOPES = {"videos": None, "chapters": ["chapters"], "transcripts": ["transcripts"]}
_SQL_VIDEOS = 100
_SQL_HITS_PER_VIDEO = 20


def _search_json(conn, q: str | None, scope: str | None, exact: int | None = 0) -> str:
    """The core search's rows for one connection, as JSON (see the module docstring)."""
    _capped(q, MAX_QUERY_CHARS)
    if scope not in _SCOPES:
        return "[]"
    try:
        rows = search(
            conn,
            q or "",
            limit=_SQL_VIDEOS,
            where=_SCOPES[scope],
            exact=bool(exact),
            hits_per_video=_SQL_HITS_PER_VIDEO,
        )
    except EmptyQuery:
        return "[]"
    if scope == "videos":
        out = [{k: v for k, v in r.items() if k != "hits"} for r in rows]
    else:
        kind = scope[:-1]  # chapter, transcript
        out = [
            {"video_id": r["video_id"], "video_title": r["title"], **h}
            for r in rows
            for h in r["hits"]
            if h["match_kind"] == kind
        ]
    return json.dumps(out, ensure_ascii=False)


@hookimpl
def prepare_connection(conn, database):
    """Datasette hook: the read-only guard, size limits and archivesync_* SQL functions."""
    # _internal is Datasette's own catalogue, which it writes; every other database is ours.
    if database != "_internal":
        install_guard(conn, web=True)
        limit_connection(conn)
    conn.create_function("archivesync_search", 2, functools.partial(_search_json, conn))
    conn.create_function("archivesync_search", 3, functools.partial(_search_json, conn))
    conn.create_function("archivesync_match", 1, archivesync_match, deterministic=True)
    conn.create_function("archivesync_match_in", 2, archivesync_match_in, deterministic=True)
    conn.create_function(
        "archivesync_contains_all", -1, archivesync_contains_all, deterministic=True
    )
    conn.create_function("archivesync_term_hits", 2, archivesync_term_hits, deterministic=True)
    conn.create_function("archivesync_normalize", 1, archivesync_normalize, deterministic=True)
    conn.create_function(
        "archivesync_transcript_hit", 3, archivesync_transcript_hit, deterministic=True
    )


# --------------------------------------------------------------------------------------------
# Metadata: a description for every table, view and column
# --------------------------------------------------------------------------------------------

_VIDEO_ID = "YouTube video id (watch?v=...)"
_REMOVED_AT = "When archivesync found it gone (UTC); NULL while it is on the channel"

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "channels": (
        "One row per synced YouTube channel.",
        {
            "id": "Channel id (UC...)",
            "title": "Channel name",
            "description": "Channel description",
            "custom_url": "Handle or custom URL (@...)",
            "published_at": "When the channel was created (UTC)",
            "uploads_playlist_id": "The channel's uploads playlist (UU...)",
            "video_count": "Public videos, as YouTube counts them",
            "view_count": "Total views, as YouTube counts them",
            "subscriber_count": "Subscribers (NULL when the channel hides them)",
            "thumbnail_url": "Channel icon",
            "country": "Country set by the channel",
            "first_seen_at": "First synced (UTC)",
            "last_synced_at": "Last synced (UTC)",
            "last_full_sync_at": "Last full sync, the one that detects removals (UTC)",
        },
    ),
    "videos": (
        "Every video ever seen on the channel; removed ones stay with removed_at set.",
        {
            "id": _VIDEO_ID,
            "channel_id": "Channel id (UC...)",
            "title": "Title",
            "description": "Description (chapters are parsed from it)",
            "published_at": "Published (UTC, ISO 8601)",
            "duration_seconds": "Length in seconds; NULL when unknown (upcoming or live)",
            "live_broadcast_content": "none, upcoming or live",
            "privacy_status": "public, unlisted or private",
            "category_id": "YouTube category id (27 = Education)",
            "default_language": "Language of title and description",
            "default_audio_language": "Spoken language",
            "tags": "Tags as a JSON list",
            "caption": "1 when captions exist",
            "definition": "hd or sd",
            "view_count": "Views at the last sync",
            "like_count": "Likes at the last sync (NULL when hidden)",
            "comment_count": "Comments at the last sync (NULL when comments are off)",
            "thumbnail_url": "Largest thumbnail",
            "url": "Watch URL",
            "first_seen_at": "First synced (UTC)",
            "last_synced_at": "Last synced (UTC)",
            "removed_at": _REMOVED_AT,
            "removed_reason": "unavailable (deleted or private) or not_in_uploads",
            "scheduled_start_at": "Live streams: scheduled start (UTC)",
            "actual_start_at": "Live streams: actual start (UTC)",
            "actual_end_at": "Live streams: actual end (UTC)",
            "made_for_kids": "1 when made for kids",
            "license": "youtube or creativeCommon",
            "etag": "API etag of the last version seen",
        },
    ),
    "chapters": (
        "Chapters YouTube shows for a video, parsed from its description's timestamps.",
        {
            "video_id": _VIDEO_ID,
            "position": "1 for the first chapter",
            "start_seconds": "Start, seconds from the beginning",
            "end_seconds": "End (the next chapter's start; the duration for the last)",
            "title": "Chapter title as written",
            "url": "Link that plays the video from this chapter",
        },
    ),
    "playlists": (
        "The channel's playlists; removed ones stay with removed_at set.",
        {
            "id": "Playlist id (PL...)",
            "channel_id": "Channel id (UC...)",
            "title": "Title",
            "description": "Description",
            "published_at": "Created (UTC)",
            "item_count": "Entries, as YouTube counts them",
            "privacy_status": "public, unlisted or private",
            "thumbnail_url": "Thumbnail",
            "first_seen_at": "First synced (UTC)",
            "last_synced_at": "Last synced (UTC)",
            "removed_at": "When a complete listing no longer showed it (UTC)",
            "removed_reason": "Why it counts as removed (not_listed)",
        },
    ),
    "playlist_items": (
        "Entries of each playlist as last listed (a video may appear twice).",
        {
            "playlist_id": "Playlist id",
            "position": "0-based position in the playlist",
            "video_id": _VIDEO_ID,
            "added_at": "When it was added to the playlist (UTC)",
            "video_published_at": "When the video was published (NULL when unavailable)",
            "item_status": "ok, deleted (Deleted video) or private (Private video)",
            "title": "Title shown in the playlist",
        },
    ),
    "video_stats": (
        "Views, likes and comments over time: a row each time a sync saw them change.",
        {
            "video_id": _VIDEO_ID,
            "observed_at": "When these figures were seen (UTC)",
            "view_count": "Views",
            "like_count": "Likes (NULL when hidden)",
            "comment_count": "Comments (NULL when off)",
        },
    ),
    "video_changes": (
        "Edit history: title, description, duration, tags and privacy changes, removals.",
        {
            "id": "Row id",
            "video_id": _VIDEO_ID,
            "changed_at": "When the change was seen (UTC)",
            "field": "What changed (a videos column, or removed / returned)",
            "old_value": "Value before",
            "new_value": "Value after",
        },
    ),
    "sync_runs": (
        "One row per sync: what it did, what it cost, how it ended.",
        {
            "id": "Run id",
            "channel_id": "Channel synced",
            "mode": "full, incremental, playlist or videos",
            "trigger": "cli, schedule, manual (staff request) or demo",
            "target": "What was synced",
            "started_at": "Start (UTC)",
            "finished_at": "End (UTC); NULL while running",
            "status": "running, ok, failed, quota_exhausted or interrupted",
            "api_calls": "API requests made",
            "quota_units": "Quota units spent",
            "videos_added": "New videos",
            "videos_updated": "Videos whose data changed",
            "videos_removed": "Videos found removed",
            "pages": "API pages read",
            "videos_seen": "Videos looked at",
            "error": "Error message when not ok",
            "pid": "Process id of the sync",
            "heartbeat_at": "Last sign of life while running (UTC)",
        },
    ),
    "quota_usage": (
        "API quota units spent per quota bucket and Pacific-time day (each resets at midnight PT).",
        {
            "day": "Pacific-time day (YYYY-MM-DD)",
            "bucket": "Quota bucket: default, or videos.batchGetStats (its own daily limit)",
            "units": "Units spent that day in that bucket",
        },
    ),
    "notify_state": (
        "What the daemon has told operators (--notify): one row per event and subject.",
        {
            "key": "Event and subject, e.g. run_failed:rilg-full",
            "event": "run_failed, quota_exhausted, schedule_missed, replication, oauth, "
            "oauth_expiring or daemon_error",
            "subject": "The job, quota bucket, replica or database concerned",
            "state": "problem while the cause lasts, ok once it recovered",
            "cause": "The cause in one line (no secrets)",
            "run_id": "The run that showed it, if any",
            "since": "When the current state began (UTC)",
            "notified_at": "When a message about it was last sent (UTC)",
            "sent": "1 if that message reached every URL",
        },
    ),
    "sync_requests": (
        "Syncs asked for by staff, run by the daemon in order.",
        {
            "id": "Request id",
            "requested_at": "When asked (UTC)",
            "requested_by": "Who asked",
            "target_kind": "channel, playlist or videos",
            "target_id": "Channel, playlist or comma-separated video ids",
            "mode": "full, incremental, playlist or videos",
            "status": "queued, running, done, failed, quota_exhausted, interrupted or cancelled",
            "run_id": "The sync_runs row that served it",
            "error": "Error message when not ok",
            "started_at": "Start (UTC)",
            "finished_at": "End (UTC)",
            "exit_code": "Exit code of the run",
        },
    ),
    "daemon_heartbeat": (
        "The scheduler daemon's single status row.",
        {
            "id": "Always 1",
            "pid": "Process id",
            "hostname": "Host it runs on",
            "started_at": "Start (UTC)",
            "heartbeat_at": "Last sign of life (UTC)",
            "stopped_at": "Clean stop (UTC); NULL while running",
            "schedules_dir": "Directory of the schedule files",
            "jobs": "Scheduled jobs and their next run times (JSON)",
        },
    ),
    "search_docs": (
        "Internal: the search index's normalised text, one row per video.",
        {
            "id": "Row id of the video in search_fts",
            "video_id": _VIDEO_ID,
            "title": "Title, normalised (NFKC, lower case)",
            "description": "Description, normalised",
            "tags": "Tags, normalised, one per line",
            "chapters": "Chapter titles, normalised, one per line",
            "title_folded": "Title, spelling variants folded (取組 -> 取り組み); '' if the same",
            "description_folded": "Description, variants folded; '' if the same",
            "tags_folded": "Tags, variants folded; '' if the same",
            "chapters_folded": "Chapter titles, variants folded; '' if the same",
        },
    ),
    "audit_log": (
        "Staff only (the console's 監査ログ page): who did what, when. Never a password.",
        {
            "id": "Row id",
            "at": "When it happened (UTC, ISO 8601 with Z)",
            "actor": "Who did it: a console login id, or the OS user for the CLI",
            "action": "login, login_failed, logout, resync_queued, resync_cancelled, "
            "user_added, user_removed, password_changed or session_expired",
            "target": "What it was done to: a login id, or a resync request id",
            "outcome": "ok, or why not (bad_password, locked, slowed...)",
            "remote_addr": "The client's address (console); NULL for the CLI",
            "detail": "More words on the event (never a password, token or cookie)",
        },
    ),
    "sessions": (
        "Internal: the console's open and ended sessions (a token's hash, never the token).",
        {
            "id": "SHA-256 of the session cookie's random token",
            "user": "Login id",
            "credential": "Fingerprint of the password hash the session began with",
            "created_at": "Login (UTC)",
            "last_seen_at": "Last request (UTC); idle expiry counts from here",
            "ended_at": "When it ended (UTC); NULL while open",
            "end_reason": "logout, idle, max_age, password_changed or user_removed",
            "remote_addr": "Address it logged in from",
        },
    ),
    "_sqlite_migrations": (
        "Internal: schema migrations applied to this file.",
        {
            "id": "Row id",
            "migration_set": "Set name (archivesync)",
            "name": "Migration name",
            "applied_at": "When applied (UTC)",
        },
    ),
    "caption_tracks": (
        "Caption tracks of the videos (captions.list), with what archivesync did with each.",
        {
            "id": "Caption track id (imported:VIDEO:FILE for an import)",
            "video_id": _VIDEO_ID,
            "language": "BCP-47 language (ja)",
            "name": "Track name (empty for automatic tracks; the file name for an import)",
            "track_kind": "standard, asr (automatic), forced or imported",
            "is_auto_synced": "1 when YouTube synchronised the times to the audio",
            "is_draft": "1 for a draft track",
            "status": "serving, syncing or failed",
            "last_updated": "The track's lastUpdated: a change means a new download",
            "checked_at": "When the track was last listed (UTC)",
            "downloaded_at": "When its text was last downloaded (UTC)",
            "downloaded_last_updated": "last_updated of the version downloaded (or refused)",
            "format": "Format of raw_text: vtt or srt",
            "state": "ok, forbidden (403), unparseable, removed; empty: not downloaded",
            "state_detail": "Why, when forbidden, unparseable or removed",
            "raw_text": "The file as downloaded or imported",
        },
    ),
    "caption_checks": (
        "When each video's caption tracks were last listed (50 quota units a listing).",
        {
            "video_id": _VIDEO_ID,
            "checked_at": "When captions.list was last asked (UTC)",
            "caption_flag": "videos.caption then: a change means a new listing",
            "track_count": "Tracks listed",
            "state": "ok, forbidden or not_found",
            "state_detail": "The API's reason when not ok",
        },
    ),
    "transcript_cues": (
        "Cues of the transcripts in search (one spoken line each for automatic captions).",
        {
            "id": "Row id",
            "video_id": _VIDEO_ID,
            "track_id": "The caption_tracks row",
            "position": "1 for the first cue of the track",
            "start_seconds": "Start in seconds (with milliseconds)",
            "end_seconds": "End in seconds",
            "text": "What is said",
            "text_folded": "What is said, normalised, spelling variants folded (取組 -> "
            "取り組み) as words search matches it; NULL when folding changes nothing",
        },
    ),
    "meaning_passages": (
        "Search by meaning: one row per passage (a video's title and description, a chapter, "
        "~30 s of transcript) with its vector; written by `archivesync embed`.",
        {
            "id": "Row id",
            "key": "video:VIDEO, chapter:VIDEO:POSITION or transcript:TRACK:FIRST_CUE_POSITION",
            "video_id": _VIDEO_ID,
            "kind": "video, chapter or transcript",
            "track_id": "The caption_tracks row of the cues it holds (transcript, chapter)",
            "start_seconds": "Where the passage starts in the video",
            "end_seconds": "Where it ends (empty for a video, or the last chapter)",
            "digest": "SHA-1 of the text embedded: a change means embedding again",
            "model": "The model that made the vector, name@version",
            "vector": "The L2-normalised vector: float32 scale, then int8 a dimension",
            "embedded_at": "When it was embedded (UTC)",
        },
    ),
    # Views
    "video_overview": (
        "One row per video: duration as h:mm:ss, chapters, playlists, figures. "
        "Removed videos are included: filter on removed_at IS NULL.",
        {
            "id": _VIDEO_ID,
            "title": "Title",
            "published_at": "Published (UTC)",
            "duration": "Length as h:mm:ss",
            "duration_seconds": "Length in seconds",
            "url": "Watch URL",
            "chapter_count": "Number of chapters",
            "playlists": "Titles of the (current) playlists holding it, comma-separated",
            "view_count": "Views at the last sync",
            "like_count": "Likes at the last sync",
            "comment_count": "Comments at the last sync",
            "removed_at": _REMOVED_AT,
            "has_transcript": "1 when a transcript (downloaded or imported) is in the index",
        },
    ),
    "transcript_index": (
        "Every transcript cue of the videos still on the channel, with a link to its second.",
        {
            "video_id": _VIDEO_ID,
            "video_title": "Title of the video",
            "video_published_at": "When the video was published (UTC)",
            "track_id": "Caption track id",
            "track_kind": "standard, asr (automatic), forced or imported",
            "language": "Language of the track",
            "position": "1 for the first cue of the track",
            "start": "Start as h:mm:ss",
            "start_seconds": "Start in seconds (with milliseconds)",
            "end_seconds": "End in seconds",
            "text": "What is said",
            "url": "Link that plays the video from this second",
        },
    ),
    "chapter_index": (
        "Every chapter of the videos still on the channel, with a link to its start.",
        {
            "video_id": _VIDEO_ID,
            "video_title": "Title of the video",
            "video_published_at": "When the video was published (UTC)",
            "position": "1 for the first chapter",
            "title": "Chapter title",
            "start": "Start as h:mm:ss",
            "start_seconds": "Start in seconds",
            "end_seconds": "End in seconds",
            "url": "Link that plays the video from this chapter",
        },
    ),
    "channel_summary": (
        "Videos and hours published per month (Japan time), without removed videos.",
        {
            "channel_id": "Channel id",
            "year": "Calendar year (Japan time)",
            "month": "Month 1-12 (Japan time)",
            "fiscal_year": "Japanese fiscal year (年度, April to March)",
            "videos": "Videos published",
            "hours": "Their total length in hours",
        },
    ),
    "playlist_overview": (
        "One row per playlist: entries by status and total length. "
        "Removed playlists are included: filter on removed_at IS NULL.",
        {
            "playlist_id": "Playlist id",
            "title": "Title",
            "channel_id": "Channel id",
            "published_at": "Created (UTC)",
            "item_count": "Entries at the last listing",
            "available_items": "Entries that play (status ok)",
            "deleted_items": "Deleted video entries",
            "private_items": "Private video entries",
            "duration_seconds": "Total length of the available entries, seconds",
            "duration": "Total length as h:mm:ss",
            "removed_at": "When a listing no longer showed the playlist (UTC)",
        },
    ),
    "stats_latest": (
        "Latest views, likes and comments per video, and their growth since the first "
        "observation and over the 7 and 30 days before the last sync.",
        {
            "video_id": _VIDEO_ID,
            "title": "Title",
            "observed_at": "When the latest figures were first seen (UTC)",
            "view_count": "Views",
            "like_count": "Likes",
            "comment_count": "Comments",
            "first_observed_at": "First observation (UTC)",
            "views_growth": "Views gained since the first observation",
            "likes_growth": "Likes gained since the first observation",
            "comments_growth": "Comments gained since the first observation",
            "as_of": "End of the 7/30-day windows: the video's last sync (UTC)",
            "views_growth_7d": "Views gained in the 7 days to as_of (NULL: not observed then)",
            "likes_growth_7d": "Likes gained in the 7 days to as_of",
            "comments_growth_7d": "Comments gained in the 7 days to as_of",
            "views_growth_30d": "Views gained in the 30 days to as_of (NULL: not observed then)",
            "likes_growth_30d": "Likes gained in the 30 days to as_of",
            "comments_growth_30d": "Comments gained in the 30 days to as_of",
            "removed_at": _REMOVED_AT,
            "view_counting": "unified: latest figures observed on or after 2026-08-27, when "
            "YouTube unified how public views are counted; before_unified: earlier",
            "views_growth_spans_counting_change": "1 when views_growth spans 2026-08-27: it holds "
            "a step that is not audience change",
        },
    ),
    "removed_videos": (
        "Videos that left the channel, newest removal first, with the reason.",
        {
            "video_id": _VIDEO_ID,
            "title": "Title when last seen",
            "published_at": "Published (UTC)",
            "removed_at": "When archivesync found it gone (UTC)",
            "removed_reason": "unavailable (deleted or private) or not_in_uploads",
            "duration": "Length as h:mm:ss",
            "duration_seconds": "Length in seconds",
            "last_view_count": "Views when last seen",
            "first_seen_at": "First synced (UTC)",
            "url": "Watch URL (no longer plays)",
        },
    ),
    "video_daily_metrics": (
        "YouTube Analytics per video and day (figures lag 2-3 days; the last week is revised).",
        {
            "video_id": _VIDEO_ID,
            **{
                "day": "Day (Pacific time, YYYY-MM-DD), as YouTube Analytics counts it",
                "views": "Views that day",
                "estimated_minutes_watched": "Minutes watched that day, all views together",
                "average_view_duration_seconds": "Average length of a view that day, seconds",
                "average_view_percentage": "Average share of the video a view covered, percent",
                "likes": "Likes given that day",
                "subscribers_gained": "Subscriptions gained that day",
                "fetched_at": "When the row was read from YouTube Analytics (UTC)",
            },
        },
    ),
    "channel_daily_metrics": (
        "YouTube Analytics for the whole channel per day.",
        {
            "channel_id": "Channel id (UC...)",
            **{
                "day": "Day (Pacific time, YYYY-MM-DD), as YouTube Analytics counts it",
                "views": "Views that day",
                "estimated_minutes_watched": "Minutes watched that day, all views together",
                "average_view_duration_seconds": "Average length of a view that day, seconds",
                "average_view_percentage": "Average share of the video a view covered, percent",
                "likes": "Likes given that day",
                "subscribers_gained": "Subscriptions gained that day",
                "fetched_at": "When the row was read from YouTube Analytics (UTC)",
            },
        },
    ),
    "video_retention": (
        "Audience retention: 100 points over each video's length (YouTube Analytics).",
        {
            "video_id": _VIDEO_ID,
            "elapsed_ratio": "Position in the video as a share of its length (0.01 ... 1.00)",
            "audience_watch_ratio": "Views still watching at that point, as a share of all views",
            "relative_retention_performance": "0 ... 1 against similar-length videos (0.5 median)",
            "start_date": "First day the curve covers",
            "end_date": "Last day the curve covers",
            "fetched_at": "When it was read (UTC)",
        },
    ),
    "analytics_state": (
        "Bookkeeping of `archivesync analytics`: how far each video and channel has been read.",
        {
            "subject_kind": "video or channel",
            "subject_id": "The video or channel id",
            "daily_through": "Newest day with daily figures stored",
            "daily_fetched_at": "When daily figures were last read (UTC)",
            "retention_status": "ok, or too_few_views when YouTube withheld the curve",
            "retention_fetched_at": "When retention was last asked for (UTC)",
            "retention_views": "Stored all-time views when retention was last asked for",
        },
    ),
    "chapter_retention": (
        "Per chapter of a video with retention: the share of viewers watching over the chapter.",
        {
            "video_id": _VIDEO_ID,
            "chapter_position": "Chapter number, 1 for the first",
            "chapter_title": "Chapter title",
            "start_seconds": "Chapter start, seconds",
            "end_seconds": "Chapter end, seconds",
            "points": "Retention points inside the chapter",
            "mean_audience_watch_ratio": "Mean audience watch ratio over those points",
            "watch_ratio_at_start": "Watch ratio at the chapter's point nearest its start",
            "watch_ratio_at_end": "Watch ratio at the chapter's point nearest its end",
            "drop": "Start minus end: how much of the audience the chapter loses",
        },
    ),
    "video_usage": (
        "Per video: views and hours watched in the last 7 and 28 days (to as_of_day) and all time.",
        {
            "video_id": _VIDEO_ID,
            "channel_id": "Channel id (UC...)",
            "title": "Title",
            "published_at": "Published (UTC)",
            "as_of_day": "Newest day with figures; the 7- and 28-day windows end on it",
            "views_7d": "Views in the 7 days ending on as_of_day",
            "hours_watched_7d": "Hours watched in those 7 days",
            "views_28d": "Views in the 28 days ending on as_of_day",
            "hours_watched_28d": "Hours watched in those 28 days",
            "views_total": "Views on all stored days",
            "hours_watched_total": "Hours watched on all stored days",
            "average_view_percentage": "Views-weighted average percentage viewed",
        },
    ),
    "monthly_usage": (
        "Per channel and month: views, hours watched, videos published.",
        {
            "channel_id": "Channel id (UC...)",
            "month": "Month, YYYY-MM",
            "views": "Views that month",
            "hours_watched": "Hours watched that month",
            "videos_published": "Videos published that month (UTC)",
        },
    ),
}

HIDDEN = ("search_docs", "_sqlite_migrations", "audit_log", "sessions")

# Search hits come from the core search (archivesync_search): the ranking and the seconds are
# those of `archivesync search` and of the console, whatever the query.
_HIT = "json_extract(j.value, '$.{}')"
_START = hms_sql(f"CAST({_HIT.format('start_seconds')} AS INTEGER)")
_SEARCH_SQL = f"""
select {_HIT.format("video_id")} as video_id, {_HIT.format("title")} as title,
  {_HIT.format("published_at")} as published_at, {_HIT.format("match_kind")} as match_kind,
  {_HIT.format("chapter_title")} as chapter_title, {_HIT.format("start_seconds")} as start_seconds,
  {_HIT.format("deep_link")} as url, {_HIT.format("score")} as score
from json_each(archivesync_search(:q, 'videos')) j
"""

CANNED_QUERIES: dict[str, dict] = {
    "search": {
        "title": "動画を検索 (Search videos)",
        "description": "Videos whose title, description, tags, chapter titles or transcript "
        "contain every word (Japanese words of any length, DX, ＤＸ, spelling variants...), "
        "ranked like `archivesync search`; url opens the best matching chapter or cue.",
        "sql": _SEARCH_SQL.strip(),
    },
    "chapters_matching": {
        "title": "チャプターを検索 (Chapters matching words)",
        "description": "Chapters whose title contains every word, with a link to the second "
        "they start.",
        "sql": f"""
select {_HIT.format("video_title")} as video_title, {_HIT.format("text")} as chapter,
  {_START} as start, {_HIT.format("deep_link")} as url,
  {_HIT.format("video_id")} as video_id
from json_each(archivesync_search(:q, 'chapters')) j
""".strip(),
    },
    "transcripts_matching": {
        "title": "字幕を検索: どこで話されたか (transcripts)",
        "description": "Transcript cues holding every word (a phrase split across two cues "
        "too; spelling variants too), newest video first, with a link that plays from the "
        "start of the cue.",
        "sql": f"""
select {_HIT.format("video_title")} as video_title, {_START} as start,
  {_HIT.format("text")} as text, {_HIT.format("deep_link")} as url,
  {_HIT.format("video_id")} as video_id,
  {_HIT.format("start_seconds")} as start_seconds
from json_each(archivesync_search(:q, 'transcripts')) j
""".strip(),
    },
    "longest_lectures": {
        "title": "Longest lectures",
        "description": "The 50 longest videos still on the channel.",
        "sql": """
select title, duration, published_at, chapter_count, url
from video_overview
where removed_at is null and duration_seconds is not null
order by duration_seconds desc
limit 50
""".strip(),
    },
    "videos_per_year": {
        "title": "Videos per year",
        "description": "Videos and hours published per calendar year (Japan time).",
        "sql": """
select year, sum(videos) as videos, round(sum(hours), 1) as hours
from channel_summary group by year order by year
""".strip(),
    },
    "videos_per_fiscal_year": {
        "title": "Videos per fiscal year (年度)",
        "description": "Videos and hours per Japanese fiscal year, April to March.",
        "sql": """
select fiscal_year, sum(videos) as videos, round(sum(hours), 1) as hours
from channel_summary group by fiscal_year order by fiscal_year
""".strip(),
    },
    "recently_removed": {
        "title": "Recently removed videos",
        "description": "Videos that left the channel, newest first, with the reason.",
        "sql": """
select removed_at, removed_reason, title, published_at, duration, last_view_count, video_id
from removed_videos limit 100
""".strip(),
    },
    "most_viewed_last_30_days": {
        "title": "Most viewed in the last 30 days",
        "description": "Views gained in the 30 days before each video's last sync.",
        "sql": """
select title, views_growth_30d, view_count, as_of, video_id
from stats_latest
where removed_at is null and views_growth_30d is not null
order by views_growth_30d desc
limit 50
""".strip(),
    },
}


def metadata(database_name: str = "archive") -> dict:
    """Datasette metadata for an index served under `database_name` (the file's stem)."""
    tables = {}
    for name, (description, columns) in TABLES.items():
        tables[name] = {"description": description, "columns": dict(columns)}
        if name in HIDDEN:
            tables[name]["hidden"] = True
    # The SQL of a canned query is a screen long: analysts come for the form and the rows.
    queries = {name: {**query, "hide_sql": True} for name, query in CANNED_QUERIES.items()}
    search_form = (
        f'<form class="archivesync-search" action="/{database_name}/search" method="get">'
        '<label>Search videos / 動画を検索 <input type="search" name="q" size="40"></label> '
        '<button type="submit">Search</button></form>'
        '<p>The Japanese console: <a href="/-/search">検索</a> · <a href="/">概要</a></p>'
    )
    return {
        "title": "archivesync: the channel's video index",
        "description": "Seminars and lectures of the channel, synced from the YouTube Data "
        "API. Start with the views (video_overview, chapter_index, channel_summary, "
        "playlist_overview, stats_latest, removed_videos) or the Search videos query. "
        "Times are UTC unless a column says otherwise. Read-only.",
        "databases": {
            database_name: {
                "title": "Video index (archivesync)",
                "description_html": (
                    "<p>The index written by archivesync sync: start with a view below, or "
                    "search every title, description, tag and chapter:</p>" + search_form
                ),
                "tables": tables,
                "queries": queries,
            }
        },
    }


def register_plugin() -> None:
    """Register the SQL functions and the web console with Datasette, once."""
    import sys

    from datasette.plugins import pm

    from archivesync.web import plugin as console

    module = sys.modules[__name__]
    if not pm.is_registered(module) and pm.get_plugin("archivesync") is None:
        pm.register(module, name="archivesync")
    if not pm.is_registered(console):
        pm.register(console, name="archivesync-console")


def make_datasette(
    db_path: str | Path,
    *,
    users_file: str | Path | None = None,
    read_login: bool = False,
    daily_budget: int | None = None,
    session_idle: timedelta | None = None,
    clock: Callable[[], datetime] | None = None,
    **settings,
):
    """A Datasette over the index, read-only, with our metadata, SQL functions and console.

    `users_file` enables logins and the staff's write actions (without it they are absent);
    `read_login` makes every page, Datasette's included, need a login. `session_idle`: how
    long a session may sit unused (default 30 minutes); `clock`: now, for tests.
    """
    from importlib.resources import files

    from datasette.app import Datasette

    from archivesync.db.quota import DEFAULT_DAILY_BUDGET

    register_plugin()
    path = Path(db_path)
    meta = metadata(path.stem)
    # Kept on the instance, not in the metadata: /-/metadata.json would show the paths.
    console = {
        "db_path": str(path.resolve()),
        "users_file": str(Path(users_file).resolve()) if users_file else None,
        "read_login": bool(read_login),
        "daily_budget": daily_budget or DEFAULT_DAILY_BUDGET,
        "session_idle": session_idle,
        "clock": clock,
    }
    ds = Datasette(
        [str(path)],
        metadata=meta,
        # Signs the session cookies: random per start unless set, as Datasette's own CLI does.
        secret=os.environ.get("DATASETTE_SECRET") or None,
        # The console's pages live in templates/console/, beside Datasette's own templates.
        template_dir=str(files("archivesync.web") / "templates"),
        settings={"sql_time_limit_ms": 3000, **settings},
    )
    ds.archivesync_console = console
    return ds


def serve(
    db_path: str | Path,
    host: str,
    port: int,
    *,
    users_file: str | Path | None = None,
    read_login: bool = False,
    daily_budget: int | None = None,
    session_idle: timedelta | None = None,
) -> None:
    """Run the console and Datasette until interrupted (what `archivesync serve` does)."""
    import asyncio

    import uvicorn

    if users_file:
        # Logins write sessions and the audit trail: the tables must exist (migration 0007).
        from archivesync.db.schema import open_db

        open_db(db_path).close()
    ds = make_datasette(
        db_path,
        users_file=users_file,
        read_login=read_login,
        daily_budget=daily_budget,
        session_idle=session_idle,
    )
    asyncio.run(ds.invoke_startup())
    # Bound here rather than by uvicorn, so that with port 0 the line below names the port
    # the system chose (tests and scripts read it).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before the line below: a client that reads it may connect at once, and waits
    # in the backlog until uvicorn accepts.
    sock.listen(2048)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"Serving {db_path} read-only on http://{shown}:{bound}/ (Ctrl-C to stop)", flush=True)
    server = uvicorn.Server(uvicorn.Config(ds.app(), log_level="warning"))
    server.run(sockets=[sock])
