"""The statistics run: every video of a channel, 50 ids a call, on the batchGetStats bucket.

`archivesync stats` and schedule mode `stats` call `run_stats`. Each call's answer is saved in
its own transaction (run envelope, sync/run.py), so an interrupted run keeps what it read. The
default bucket pays nothing, unless batchGetStats answers 403 or 404 (not enabled for the
project, or gone): then the rest of the run asks videos.list, 50 ids a unit, within the default
bucket's budget, and says so once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlite_utils import Database

from archivesync.db import app_state, quota, store
from archivesync.errors import ApiError, ConfigError, NotFoundError
from archivesync.stats.fetch import fetch_video_stats
from archivesync.stats.parse import stats_row
from archivesync.stats.store import save_stats
from archivesync.sync.run import Outcome, Progress, RunContext, Settings, ledger_guard, run_envelope
from archivesync.timestamps import Clock, system_clock
from archivesync.youtube import YouTubeClient, batches, fetch_videos

log = logging.getLogger(__name__)

MODE = "stats"
FALLBACK_NOTE = (
    "videos.batchGetStats answered {status} ({reason}): refreshing with videos.list in the "
    "default quota bucket instead (1 unit per 50 videos); enable the method for the project "
    "to spend nothing there"
)


def channel_video_ids(db: Database, channel_id: str) -> list[str]:
    """Every video of the channel the index knows and has not seen removed."""
    return [
        r["id"]
        for r in db.query(
            "SELECT id FROM videos WHERE channel_id = ? AND removed_at IS NULL ORDER BY id",
            [channel_id],
        )
    ]


def _unavailable(e: ApiError) -> bool:
    """403/404 that mean the method itself is not there for us (quota errors are not this)."""
    return isinstance(e, NotFoundError) or e.status in (403, 404)


def stats_work(ctx: RunContext, channel_id: str) -> tuple[str, str]:
    """Refresh every video's counters and duration; returns (mode, channel)."""
    ids = channel_video_ids(ctx.db, channel_id)
    if not ids:
        raise ConfigError(
            f"the index has no videos of channel {channel_id}: run `archivesync sync` first"
        )
    ctx.total = len(ids)
    ctx.set_phase("statistics")
    # Said once ever, not once a run: a project without the method would hear it every day.
    known = app_state.get(ctx.db, app_state.STATS_FALLBACK) is not None
    fallback, refused = False, ""
    for batch in batches(ids):
        rows = None
        if not fallback:
            try:
                rows = [stats_row(item) for item in fetch_video_stats(ctx.client, batch)]
            except ApiError as e:
                if not _unavailable(e):
                    raise
                fallback, refused = True, f"{e.status} ({e.reason or '-'})"
                note = FALLBACK_NOTE.format(status=e.status, reason=e.reason or "-")
                log.log(logging.DEBUG if known else logging.WARNING, note)
                ctx.set_phase("statistics (videos.list fallback)")
        with ctx.page() as now:
            if rows is None:
                ctx.count(store.save_videos(ctx.db, fetch_videos(ctx.client, batch), now))
            else:
                ctx.count(save_stats(ctx.db, rows, now))
            ctx.seen += len(batch)
            if fallback and not known:
                app_state.put(ctx.db, app_state.STATS_FALLBACK, refused, now)
                known = True
            elif rows is not None and known:
                app_state.forget(ctx.db, app_state.STATS_FALLBACK)
                known = False
                log.info("videos.batchGetStats answers again: statistics use its own bucket")
    return MODE, channel_id


def run_stats(
    db_path,
    channel_id: str,
    *,
    api_key: str,
    endpoint: str | None = None,
    settings: Settings | None = None,
    trigger: str = "cli",
    stop: threading.Event | None = None,
    wait: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    clock: Clock = system_clock,
) -> Outcome:
    """One recorded statistics run for a channel (the CLI and the daemon call this)."""
    settings = settings or Settings()
    stop = stop or threading.Event()

    def make_client(db: Database) -> YouTubeClient:
        client = YouTubeClient(
            api_key,
            endpoint,
            timeout=settings.timeout,
            retries=settings.retries,
            guard=ledger_guard(db, settings, clock()),
            stop=stop,
        )
        client.guards[quota.STATS] = ledger_guard(db, settings, clock(), quota.STATS)
        return client

    return run_envelope(
        db_path,
        mode=lambda db: MODE,
        channel_id=channel_id,
        label=f"stats {channel_id}",
        trigger=trigger,
        make_client=make_client,
        work=lambda ctx: stats_work(ctx, channel_id),
        secret=api_key,
        stop=stop,
        wait=wait,
        progress=progress,
        on_start=on_start,
        clock=clock,
    )
