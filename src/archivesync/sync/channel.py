"""The sync: full and incremental channel syncs, playlist and single-video resyncs.

The CLI, the daemon and staff resyncs all call `run_sync`. It takes the writer lease, records a
`sync_runs` row, and commits each page in its own transaction together with the run's figures
and the quota ledger, so a run stopped at any moment keeps what it had and the next run
finishes the job. Nothing is marked removed except from a listing completed in the same run, or
from a videos.list answer that left the video out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path

from sqlite_utils import Database

from archivesync.db import quota, store
from archivesync.db.schema import open_db
from archivesync.errors import (
    NotFoundError,
)
from archivesync.feed import fetch_feed_video_ids
from archivesync.sync.pipeline import pipelined_upload_pages, playlist_video_ids, settled
from archivesync.sync.run import (
    Outcome,
    Progress,
    RunContext,
    Settings,
    Target,
    client_factory,
    run_envelope,
)
from archivesync.timestamps import Clock, format_utc, system_clock
from archivesync.urls import ChannelRef
from archivesync.youtube import (
    GOOGLE_ENDPOINT,
    YouTubeClient,
    batches,
    fetch_channel,
    fetch_channel_id_for_handle,
    fetch_channel_playlist_pages,
    fetch_playlist_item_pages,
    fetch_playlists_by_id,
    fetch_videos,
)

log = logging.getLogger(__name__)

REMOVED_UNAVAILABLE = "unavailable"  # videos.list left it out: deleted or made private
REMOVED_NOT_LISTED = "not_in_uploads"  # a complete uploads listing no longer shows it
REMOVED_PLAYLIST = "not_listed"  # a complete playlists listing no longer shows it


# --- channel syncs ----------------------------------------------------------------------------


def sync_channel(ctx: RunContext, channel_id: str, *, full: bool, settings: Settings) -> str:
    """Sync a channel; returns the mode it ran in (`full` or `incremental`)."""
    row = next(ctx.db.query("SELECT * FROM channels WHERE id = ?", [channel_id]), None)
    if full or row is None or row["last_full_sync_at"] is None or not row["uploads_playlist_id"]:
        _full_sync(ctx, channel_id, settings)
        return "full"
    _incremental_sync(ctx, row, settings)
    return "incremental"


def _save_video_batch(ctx: RunContext, requested: list[str], resources: list[dict]) -> None:
    with ctx.page() as now:
        _save_video_page(ctx, now, requested, resources)


def _save_video_page(
    ctx: RunContext, now: str, requested: list[str], resources: list[dict], *, listed=False
) -> None:
    if listed:  # a full sync's uploads listing, kept on disk: memory stays flat
        ctx.db.conn.executemany(
            "INSERT OR IGNORE INTO temp.listed_ids (id) VALUES (?)", [(v,) for v in requested]
        )
    ctx.count(store.save_videos(ctx.db, resources, now))
    returned = {r["id"] for r in resources}
    missing = [v for v in requested if v not in returned]
    if missing:
        ctx.removed += store.mark_videos_removed(ctx.db, missing, REMOVED_UNAVAILABLE, now)
    ctx.seen += len(requested)


def _full_sync(ctx: RunContext, channel_id: str, settings: Settings) -> None:
    ctx.set_phase("channel")
    channel = fetch_channel(ctx.client, channel_id)
    with ctx.page() as now:
        store.save_channel(ctx.db, channel, now)
    uploads = channel["contentDetails"]["relatedPlaylists"]["uploads"]
    # Every id the uploads listing shows, in a TEMP table (this connection only, never in the
    # file): a set in memory grew by ~100 bytes a video.
    conn = ctx.db.conn
    conn.execute("DROP TABLE IF EXISTS temp.listed_ids")
    conn.execute("CREATE TEMP TABLE listed_ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
    # Its own page cache stays small (the table spills to a temp file, in the OS's cache): at
    # the default 2 MB the cache itself would grow with the channel up to that size.
    conn.execute("PRAGMA temp.cache_size = -256")
    ctx.set_phase("uploads and videos")
    try:
        with ThreadPoolExecutor(settings.workers, thread_name_prefix="videos") as pool:
            for batch in pipelined_upload_pages(ctx, uploads, pool, depth=2 * settings.workers):
                pages, error = settled(batch)
                if pages:
                    with ctx.page(pages=len(pages)) as now:
                        for ids, resources in pages:
                            _save_video_page(ctx, now, ids, resources, listed=True)
                if error is not None:
                    raise error
            # The uploads listing is complete: whatever it no longer shows may have gone.
            unlisted = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM videos WHERE channel_id = ? AND removed_at IS NULL "
                    "AND id NOT IN (SELECT id FROM temp.listed_ids)",
                    [channel_id],
                )
            ]
            ctx.set_phase("removals")
            _confirm_removals(ctx, unlisted)
            ctx.set_phase("playlists")
            _sync_channel_playlists(ctx, channel_id, pool)
    finally:
        if not conn.in_transaction:
            conn.execute("DROP TABLE IF EXISTS temp.listed_ids")
    ctx.set_phase("finishing")
    with ctx.page() as now:
        store.touch_channel(ctx.db, channel_id, now, full=True)


def _confirm_removals(ctx: RunContext, candidates: list[str]) -> None:
    """Ask videos.list about videos the uploads listing no longer shows before marking them.

    The uploads playlist of a long-lived channel is capped (about 20,000 entries), so a public
    video can be missing from a complete listing: it is refreshed, not removed. Unlisted ones
    are removed from the archive's point of view; ids videos.list leaves out are gone.
    Costs a unit per 50 candidates, usually none.
    """
    for batch in batches(candidates):
        resources = fetch_videos(ctx.client, batch)
        with ctx.page() as now:
            ctx.count(store.save_videos(ctx.db, resources, now))
            not_public = [
                r["id"]
                for r in resources
                if (r.get("status") or {}).get("privacyStatus", "public") != "public"
            ]
            ctx.removed += store.mark_videos_removed(ctx.db, not_public, REMOVED_NOT_LISTED, now)
            returned = {r["id"] for r in resources}
            missing = [v for v in batch if v not in returned]
            ctx.removed += store.mark_videos_removed(ctx.db, missing, REMOVED_UNAVAILABLE, now)


def _sync_channel_playlists(ctx: RunContext, channel_id: str, pool: ThreadPoolExecutor) -> None:
    seen: set[str] = set()
    for page in fetch_channel_playlist_pages(ctx.client, channel_id):
        with ctx.page() as now:
            store.save_playlists(ctx.db, page.items, now)
        seen.update(p["id"] for p in page.items)
        # Each playlist's items are fetched in the pool; saved in listing order, those already
        # fetched together (one transaction for them when saving is the slower side).
        futures = [(p["id"], pool.submit(_list_playlist_items, ctx, p["id"])) for p in page.items]
        start = 0
        while start < len(futures):
            wait([futures[start][1]])
            end = start + 1
            while end < len(futures) and futures[end][1].done():
                end += 1
            _save_playlist_items(ctx, futures[start:end])
            start = end
    with ctx.page() as now:
        store.mark_playlists_removed(ctx.db, channel_id, seen, REMOVED_PLAYLIST, now)


def _list_playlist_items(ctx: RunContext, playlist_id: str) -> list[dict]:
    rows: list[dict] = []
    for page in fetch_playlist_item_pages(ctx.client, playlist_id):
        rows.extend(store.playlist_item_row(playlist_id, item) for item in page.items)
    return rows


def _save_playlist_items(ctx: RunContext, batch: list[tuple[str, Future]]) -> None:
    # Deleted between the playlists listing and now: the next listing marks it removed.
    results, error = settled(batch, skip=NotFoundError)
    found = []
    for playlist_id, rows in results:
        if rows is None:
            log.warning("playlist %s disappeared during the sync", playlist_id)
        else:
            found.append((playlist_id, rows))
    if found:
        with ctx.page(pages=len(found)):
            for playlist_id, rows in found:
                store.replace_playlist_items(ctx.db, playlist_id, rows)
    if error is not None:
        raise error


def _incremental_sync(ctx: RunContext, channel: dict, settings: Settings) -> None:
    channel_id = channel["id"]
    new_ids: list[str] = []
    to_refresh: list[str] = []
    ctx.set_phase("new uploads")
    if not _feed_shows_nothing_new(ctx, channel_id, settings):
        for page in fetch_playlist_item_pages(
            ctx.client, channel["uploads_playlist_id"], part="contentDetails"
        ):
            ids = playlist_video_ids(page.items)
            known = _known(ctx.db, ids)
            new_ids.extend(v for v in ids if v not in known and v not in new_ids)
            # A listed video we hold as removed has come back: refresh it too.
            to_refresh.extend(v for v in ids if known.get(v) is not None)
            # Uploads come newest first: the first known video means the rest are known too.
            if known:
                break
    since = format_utc(ctx.clock() - timedelta(days=settings.recent_days))
    recent = [
        r["id"]
        for r in ctx.db.query(
            "SELECT id FROM videos WHERE channel_id = ? AND removed_at IS NULL "
            "AND published_at >= ? ORDER BY published_at DESC",
            [channel_id, since],
        )
    ]
    targets = list(dict.fromkeys([*new_ids, *to_refresh, *recent]))
    ctx.total = len(targets)
    ctx.set_phase("videos")
    for batch in batches(targets):
        _save_video_batch(ctx, batch, fetch_videos(ctx.client, batch))
    with ctx.page() as now:
        store.touch_channel(ctx.db, channel_id, now)


def _known(db: Database, ids: list[str]) -> dict[str, str | None]:
    """The ids already in the index, each with its removed_at."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {
        r["id"]: r["removed_at"]
        for r in db.query(f"SELECT id, removed_at FROM videos WHERE id IN ({marks})", ids)
    }


def _feed_shows_nothing_new(ctx: RunContext, channel_id: str, settings: Settings) -> bool:
    """Ask the channel's Atom feed (no key, no quota) whether anything was uploaded."""
    use = settings.feed_probe
    if use is None:
        use = ctx.client.endpoint == GOOGLE_ENDPOINT
    if not use:
        return False
    base = settings.feed_url or (
        "https://www.youtube.com" if ctx.client.endpoint == GOOGLE_ENDPOINT else ctx.client.endpoint
    )
    ids = fetch_feed_video_ids(base, channel_id, timeout=settings.timeout)
    if ids is None:
        return False
    known = _known(ctx.db, ids)
    nothing_new = bool(ids) and all(known.get(v, "missing") is None for v in ids)
    log.info("feed probe: %s", "nothing new" if nothing_new else "new or changed uploads")
    return nothing_new


# --- staff resyncs of a playlist or single videos -----------------------------------------


def sync_playlist(ctx: RunContext, playlist_id: str) -> str | None:
    """Resync one playlist and its videos; returns the channel it belongs to."""
    found = fetch_playlists_by_id(ctx.client, [playlist_id])
    if not found:
        raise NotFoundError(f"playlist {playlist_id!r} not found")
    with ctx.page() as now:
        store.save_playlists(ctx.db, found, now)
    ctx.set_phase("playlist items")
    rows = _list_playlist_items(ctx, playlist_id)
    with ctx.page():
        store.replace_playlist_items(ctx.db, playlist_id, rows)
    ids = list(dict.fromkeys(r["video_id"] for r in rows if r["item_status"] == "ok"))
    ctx.total = len(ids)
    ctx.set_phase("videos")
    for batch in batches(ids):
        _save_video_batch(ctx, batch, fetch_videos(ctx.client, batch))
    return (found[0].get("snippet") or {}).get("channelId")


def sync_video_ids(ctx: RunContext, video_ids: list[str]) -> str | None:
    """Resync single videos; returns their channel. NotFoundError for unknown ids."""
    ids = list(dict.fromkeys(video_ids))
    ctx.total = len(ids)
    ctx.set_phase("videos")
    unknown: list[str] = []
    channel_id = None
    for batch in batches(ids):
        resources = fetch_videos(ctx.client, batch)
        returned = {r["id"] for r in resources}
        held = _known(ctx.db, batch)
        unknown.extend(v for v in batch if v not in returned and v not in held)
        _save_video_batch(ctx, batch, resources)
        if resources and channel_id is None:
            channel_id = resources[0]["snippet"].get("channelId")
    if unknown:
        raise NotFoundError("not found (deleted, private or mistyped): " + ", ".join(unknown))
    return channel_id


# --- the one entry point for the CLI, the daemon and staff resyncs ---------------------------


def resolve_channel(
    db_path: str | Path,
    ref: ChannelRef,
    *,
    api_key: str,
    endpoint: str | None = None,
    settings: Settings | None = None,
) -> str:
    """The channel id `ref` names: as given, or looked up by @handle (1 unit, on the ledger).

    The index file is only created once the handle is found: a typo makes no new file.
    """
    if ref.channel_id:
        return ref.channel_id
    settings = settings or Settings()
    client = YouTubeClient(api_key, endpoint, timeout=settings.timeout, retries=settings.retries)
    found = False
    try:
        channel_id = fetch_channel_id_for_handle(client, ref.handle)
        found = True
        return channel_id
    finally:
        if client.guard.units and (found or Path(db_path).is_file()):
            db = open_db(db_path)
            try:
                quota.record_units(db, quota.pacific_day(), client.guard.units)
            finally:
                db.close()


def run_sync(
    db_path: str | Path,
    target: Target,
    *,
    api_key: str,
    endpoint: str | None = None,
    trigger: str = "cli",
    settings: Settings | None = None,
    stop: threading.Event | None = None,
    wait: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    clock: Clock = system_clock,
) -> Outcome:
    """Run one metadata sync to the end and record it; errors become the outcome, not exceptions.

    Only set-up mistakes (bad database path, lease held without --wait) raise.
    """
    settings = settings or Settings()
    stop = stop or threading.Event()

    def work(ctx: RunContext) -> tuple[str, str | None]:
        if target.kind == "channel":
            channel_id = target.ids[0]
            return sync_channel(ctx, channel_id, full=target.full, settings=settings), channel_id
        if target.kind == "playlist":
            return "playlist", sync_playlist(ctx, target.ids[0])
        return "videos", sync_video_ids(ctx, target.ids)

    return run_envelope(
        db_path,
        mode=lambda db: _initial_mode(db, target),
        channel_id=target.ids[0] if target.kind == "channel" else None,
        label=target.label,
        trigger=trigger,
        make_client=client_factory(
            YouTubeClient, api_key, endpoint, settings=settings, stop=stop, clock=clock
        ),
        work=work,
        secret=api_key,
        stop=stop,
        wait=wait,
        progress=progress,
        on_start=on_start,
        clock=clock,
    )


def _initial_mode(db: Database, target: Target) -> str:
    if target.kind == "playlist":
        return "playlist"
    if target.kind == "videos":
        return "videos"
    if target.full:
        return "full"
    row = next(
        db.query("SELECT last_full_sync_at FROM channels WHERE id = ?", [target.ids[0]]), None
    )
    return "incremental" if row and row["last_full_sync_at"] else "full"
