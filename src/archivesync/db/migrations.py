"""The database schema: the analysts' interface, created and changed only here.

Every change is a numbered migration in `MIGRATIONS` (sqlite-utils' built-in migration sets,
recorded in `_sqlite_migrations`), applied in the order defined when db/schema.py opens the
file. Tables and column names are a contract, described in db/columns.toml (docs/schema.md);
add columns, never rename them.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from archivesync.db.search_index import rebuild_index

MIGRATIONS = Migrations("archivesync")


@MIGRATIONS(name="0001_core_tables")
def _core_tables(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE channels (
            id TEXT PRIMARY KEY,
            title TEXT,
            description TEXT,
            custom_url TEXT,
            published_at TEXT,
            uploads_playlist_id TEXT,
            video_count INTEGER,
            view_count INTEGER,
            subscriber_count INTEGER,
            thumbnail_url TEXT,
            country TEXT,
            first_seen_at TEXT,
            last_synced_at TEXT,
            last_full_sync_at TEXT
        );
        CREATE TABLE videos (
            id TEXT PRIMARY KEY,
            channel_id TEXT,
            title TEXT,
            description TEXT,
            published_at TEXT,
            duration_seconds INTEGER,
            live_broadcast_content TEXT,
            privacy_status TEXT,
            category_id TEXT,
            default_language TEXT,
            default_audio_language TEXT,
            tags TEXT,
            caption INTEGER,
            definition TEXT,
            view_count INTEGER,
            like_count INTEGER,
            comment_count INTEGER,
            thumbnail_url TEXT,
            url TEXT,
            first_seen_at TEXT,
            last_synced_at TEXT,
            removed_at TEXT,
            removed_reason TEXT,
            scheduled_start_at TEXT,
            actual_start_at TEXT,
            actual_end_at TEXT,
            made_for_kids INTEGER,
            license TEXT,
            etag TEXT
        );
        CREATE INDEX videos_channel_published ON videos (channel_id, published_at);
        CREATE TABLE chapters (
            video_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            start_seconds INTEGER NOT NULL,
            end_seconds INTEGER,
            title TEXT NOT NULL,
            url TEXT NOT NULL,
            PRIMARY KEY (video_id, position)
        );
        CREATE TABLE playlists (
            id TEXT PRIMARY KEY,
            channel_id TEXT,
            title TEXT,
            description TEXT,
            published_at TEXT,
            item_count INTEGER,
            privacy_status TEXT,
            thumbnail_url TEXT,
            first_seen_at TEXT,
            last_synced_at TEXT,
            removed_at TEXT,
            removed_reason TEXT
        );
        CREATE TABLE playlist_items (
            playlist_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            video_id TEXT,
            added_at TEXT,
            video_published_at TEXT,
            item_status TEXT NOT NULL,
            title TEXT,
            PRIMARY KEY (playlist_id, position)
        );
        CREATE INDEX playlist_items_video ON playlist_items (video_id);
        CREATE TABLE video_stats (
            video_id TEXT NOT NULL,
            observed_at TEXT NOT NULL,
            view_count INTEGER,
            like_count INTEGER,
            comment_count INTEGER
        );
        CREATE INDEX video_stats_video ON video_stats (video_id, observed_at);
        CREATE TABLE video_changes (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            field TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT
        );
        CREATE INDEX video_changes_video ON video_changes (video_id, changed_at);
        CREATE TABLE sync_runs (
            id INTEGER PRIMARY KEY,
            channel_id TEXT,
            mode TEXT NOT NULL,
            trigger TEXT NOT NULL,
            target TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            api_calls INTEGER NOT NULL DEFAULT 0,
            quota_units INTEGER NOT NULL DEFAULT 0,
            videos_added INTEGER NOT NULL DEFAULT 0,
            videos_updated INTEGER NOT NULL DEFAULT 0,
            videos_removed INTEGER NOT NULL DEFAULT 0,
            pages INTEGER NOT NULL DEFAULT 0,
            videos_seen INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            pid INTEGER,
            heartbeat_at TEXT
        );
        CREATE INDEX sync_runs_channel ON sync_runs (channel_id, started_at);
        CREATE TABLE quota_usage (
            day TEXT PRIMARY KEY,
            units INTEGER NOT NULL DEFAULT 0
        );
        """
    )


@MIGRATIONS(name="0002_daemon_and_requests")
def _daemon_and_requests(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sync_requests (
            id INTEGER PRIMARY KEY,
            requested_at TEXT NOT NULL,
            requested_by TEXT,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            mode TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued',
            run_id INTEGER,
            error TEXT,
            started_at TEXT,
            finished_at TEXT,
            exit_code INTEGER
        );
        CREATE INDEX sync_requests_status ON sync_requests (status, id);
        CREATE TABLE daemon_heartbeat (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            pid INTEGER,
            hostname TEXT,
            started_at TEXT,
            heartbeat_at TEXT,
            stopped_at TEXT,
            schedules_dir TEXT,
            jobs TEXT
        );
        """
    )


# Migrations for the search index and the analysts' views follow (see db/search_index.py
# and db/views.py).


@MIGRATIONS(name="0003_search_index")
def _search_index(db: Database) -> None:
    # db/search_index.py explains the design: search_docs.id is the rowid in the three FTS
    # tables (all fields; title; title and chapter titles), and search_docs keeps the
    # normalised text that a contentless FTS5 table needs to delete a row.
    db.executescript(
        """
        CREATE TABLE search_docs (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '',
            chapters TEXT NOT NULL DEFAULT ''
        );
        CREATE VIRTUAL TABLE search_fts USING fts5(
            title, description, tags, chapters,
            content='', tokenize='ascii'
        );
        CREATE VIRTUAL TABLE search_fts_title USING fts5(
            title, content='', tokenize='ascii', prefix='1'
        );
        CREATE VIRTUAL TABLE search_fts_head USING fts5(
            title, chapters, content='', tokenize='ascii', prefix='1'
        );
        -- removed_videos finds the (few) removed videos by this index; the other columns make
        -- it covering for channel_summary, which then never reads the long video rows.
        CREATE INDEX videos_removed_at
            ON videos (removed_at, channel_id, published_at, duration_seconds);
        """
    )
    # The rows are written by 0010_words_index (which rebuilds the whole index with the
    # columns it adds), not here.


@MIGRATIONS(name="0004_views")
def _views(db: Database) -> None:
    from archivesync.db.views import create_views

    create_views(db)


@MIGRATIONS(name="0005_transcripts")
def _transcripts(db: Database) -> None:
    # Caption tracks as captions.list describes them, plus what we did with each (state, the
    # raw text as downloaded, so parsing can improve and re-run without quota); the cues of
    # the transcripts in search; when each video's tracks were last listed (caption_checks:
    # listing costs 50 units, so it is repeated only when something suggests a change).
    # transcripts/store.py writes them; search/transcripts.py explains search_fts_transcripts.
    db.executescript(
        """
        CREATE TABLE caption_tracks (
            id TEXT PRIMARY KEY,
            video_id TEXT NOT NULL,
            language TEXT,
            name TEXT,
            track_kind TEXT,
            is_auto_synced INTEGER,
            is_draft INTEGER,
            status TEXT,
            last_updated TEXT,
            checked_at TEXT,
            downloaded_at TEXT,
            downloaded_last_updated TEXT,
            format TEXT,
            state TEXT,
            state_detail TEXT,
            raw_text TEXT
        );
        CREATE INDEX caption_tracks_video ON caption_tracks (video_id);
        CREATE TABLE caption_checks (
            video_id TEXT PRIMARY KEY,
            checked_at TEXT NOT NULL,
            caption_flag INTEGER,
            track_count INTEGER,
            state TEXT,
            state_detail TEXT
        );
        CREATE TABLE transcript_cues (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL,
            track_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            start_seconds REAL NOT NULL,
            end_seconds REAL NOT NULL,
            text TEXT NOT NULL,
            UNIQUE (track_id, position)
        );
        CREATE INDEX transcript_cues_video ON transcript_cues (video_id, start_seconds);
        CREATE VIRTUAL TABLE search_fts_transcripts USING fts5(text, tokenize='ascii');
        """
    )
    from archivesync.db.views import create_views

    create_views(db)


@MIGRATIONS(name="0006_analytics")
def _analytics(db: Database) -> None:
    # YouTube Analytics figures (analytics/); days are Pacific-time days, as the API gives them.
    # analytics_state remembers, per video and per channel, how far the daily figures have
    # been read and when retention was last asked for (and whether the API withheld it).
    db.executescript(
        """
        CREATE TABLE video_daily_metrics (
            video_id TEXT NOT NULL,
            day TEXT NOT NULL,
            views INTEGER,
            estimated_minutes_watched INTEGER,
            average_view_duration_seconds INTEGER,
            average_view_percentage REAL,
            likes INTEGER,
            subscribers_gained INTEGER,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (video_id, day)
        );
        CREATE TABLE channel_daily_metrics (
            channel_id TEXT NOT NULL,
            day TEXT NOT NULL,
            views INTEGER,
            estimated_minutes_watched INTEGER,
            average_view_duration_seconds INTEGER,
            average_view_percentage REAL,
            likes INTEGER,
            subscribers_gained INTEGER,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (channel_id, day)
        );
        CREATE TABLE video_retention (
            video_id TEXT NOT NULL,
            elapsed_ratio REAL NOT NULL,
            audience_watch_ratio REAL,
            relative_retention_performance REAL,
            start_date TEXT NOT NULL,
            end_date TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (video_id, elapsed_ratio)
        );
        CREATE TABLE analytics_state (
            subject_kind TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            daily_through TEXT,
            daily_fetched_at TEXT,
            retention_status TEXT,
            retention_fetched_at TEXT,
            retention_views INTEGER,
            PRIMARY KEY (subject_kind, subject_id)
        );
        """
    )
    from archivesync.db.views import create_analytics_views

    create_analytics_views(db)


@MIGRATIONS(name="0007_audit_and_sessions")
def _audit_and_sessions(db: Database) -> None:
    from archivesync.db.audit import create_tables

    create_tables(db)


@MIGRATIONS(name="0008_quota_buckets")
def _quota_buckets(db: Database) -> None:
    # Since 2026 YouTube charges some methods to their own buckets (videos.batchGetStats): the
    # ledger keeps one row per day and bucket. Every existing row was the default bucket's.
    db["quota_usage"].add_column("bucket", str, not_null_default="default")
    db["quota_usage"].transform(pk=("day", "bucket"), column_order=("day", "bucket", "units"))
    # What the daemon has told operators (notify/): one row per event and subject, so a failure
    # repeated every 15 minutes, or a restart, does not send the same message again.
    db.executescript(
        """
        CREATE TABLE notify_state (
            key TEXT PRIMARY KEY,
            event TEXT NOT NULL,
            subject TEXT,
            state TEXT NOT NULL,
            cause TEXT,
            run_id INTEGER,
            since TEXT NOT NULL,
            notified_at TEXT,
            sent INTEGER NOT NULL DEFAULT 0
        );
        """
    )
    # stats_latest gained view_counting and views_growth_spans_counting_change (2026-08-27).
    from archivesync.db.views import create_views

    create_views(db)


@MIGRATIONS(name="0009_meaning_index")
def _meaning_index(db: Database) -> None:
    # Search by meaning (search/meaning_index.py): one row per passage (a video's title and
    # description, a chapter, a transcript window), its vector (int8 with a scale) and the model
    # (name@version) that made it. In the database, so Litestream replicates it; a passage is
    # found again by `key`, and embedded again when its text (`digest`) or the model changes.
    # AUTOINCREMENT: ids never come back, so (count, max id) tells a searcher that keeps the
    # vectors in memory whether any changed, without reading them.
    db.executescript(
        """
        CREATE TABLE meaning_passages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            video_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            track_id TEXT,
            start_seconds REAL,
            end_seconds REAL,
            digest TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            embedded_at TEXT NOT NULL
        );
        CREATE INDEX meaning_passages_track ON meaning_passages (track_id, start_seconds);
        """
    )


@MIGRATIONS(name="0010_words_index")
def _words_index(db: Database) -> None:
    # Words search folds spelling variants (fold.py) and reads transcripts newest video
    # first, stopping when its page is full (search/transcripts.py): folded copies beside the
    # text (search_docs.*_folded, transcript_cues.text_folded), and the transcript rows keyed
    # by video and contentless (the bigram copy was 40% of the file), with a one-character
    # prefix index (a one-character word merged every token it starts). Nothing is lost: every
    # cue and video stays, and the whole index is written again from them.
    db.executescript(
        """
        ALTER TABLE transcript_cues ADD COLUMN text_folded TEXT;
        ALTER TABLE search_docs ADD COLUMN title_folded TEXT NOT NULL DEFAULT '';
        ALTER TABLE search_docs ADD COLUMN description_folded TEXT NOT NULL DEFAULT '';
        ALTER TABLE search_docs ADD COLUMN tags_folded TEXT NOT NULL DEFAULT '';
        ALTER TABLE search_docs ADD COLUMN chapters_folded TEXT NOT NULL DEFAULT '';
        DROP TABLE search_fts_transcripts;
        CREATE VIRTUAL TABLE search_fts_transcripts USING fts5(
            text, content='', tokenize='ascii', prefix='1'
        );
        """
    )
    # Imported here so that schema.py never depends on the search code at import time.
    from archivesync.db.transcript_index import fold_all_cues

    fold_all_cues(db)
    rebuild_index(db)


@MIGRATIONS(name="0011_app_state")
def _app_state(db: Database) -> None:
    # Settings and facts another process needs (db/app_state.py): `serve --public-url` for the
    # daemon's links, the batchGetStats fallback already said.
    from archivesync.db.app_state import create_table

    create_table(db)
