"""The transcripts run: list caption tracks and download transcripts within a unit budget.

Costs: captions.list 50 units a video, captions.download 200 a track. The run spends from the
same Pacific-day ledger as metadata syncs (`quota_usage`), at most `max_units`, and never into
the safety margin, so metadata syncs always keep room. Before each call the run checks that
its cost fits both limits; a call that does not fit is left for the next run.

What is worth a call, in this order:

1. videos never checked (no `caption_checks` row), newest first: list, then download the best
   track in the language;
2. known best tracks not downloaded yet, or whose `lastUpdated` changed, newest video first
   (listed earlier but the budget ran out, or re-listed below): download;
3. videos whose `contentDetails.caption` changed since their last check, newest first: list
   (and download when needed);
4. videos whose last check is older than `recheck_days`, oldest check first: list (and
   download when needed).

A run that finds nothing to do spends 0 units. A 403 on one track is that track's state
(`forbidden`), retried only when its `lastUpdated` changes; the run goes on. Each video's
step is committed on its own (`RunContext.page`), so an interrupted run keeps what it did.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from archivesync.errors import ApiError, AuthError, Interrupted, NotFoundError, QuotaExhausted
from archivesync.oauth import ensure_fresh, load_credentials
from archivesync.sync.run import (
    Outcome,
    Progress,
    RunContext,
    Settings,
    client_factory,
    run_envelope,
)
from archivesync.timestamps import Clock, format_utc, system_clock
from archivesync.transcripts import store
from archivesync.transcripts.fetch import (
    DOWNLOAD_COST,
    DOWNLOAD_FORMAT,
    LIST_COST,
    OAuthYouTubeClient,
    download_track,
    fetch_tracks,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_UNITS = 2000
DEFAULT_RECHECK_DAYS = 30
DEFAULT_LANGUAGE = "ja"


@dataclass
class TranscriptOptions:
    """What a transcripts run may do: which videos, how many units, which language."""

    max_units: int = DEFAULT_MAX_UNITS
    language: str = DEFAULT_LANGUAGE
    recheck_days: int = DEFAULT_RECHECK_DAYS
    video_ids: tuple[str, ...] = ()


class _Budget:
    """Units this run may still spend: the smaller of max_units and the day's room."""

    def __init__(self, ctx: RunContext, max_units: int):
        self.ctx = ctx
        self.max_units = max_units

    def left(self) -> tuple[int, bool]:
        """(units left, whether the day's budget, rather than max_units, is the limit)."""
        guard = self.ctx.client.guard
        spent = guard.units
        run_left = self.max_units - spent
        day_left = (
            (guard.budget - guard.already_spent - spent) if guard.budget is not None else run_left
        )
        return min(run_left, day_left), day_left < run_left

    def afford(self, cost: int) -> bool:
        """True if a call of `cost` fits; QuotaExhausted when only the day's budget stops it."""
        left, day_is_limit = self.left()
        if cost <= left:
            return True
        if day_is_limit:
            raise QuotaExhausted(
                f"the day's quota budget leaves {max(left, 0)} units, a caption call costs "
                f"{cost}; the rest waits for the reset (midnight Pacific time)"
            )
        return False


def _eligible_sql(video_ids: tuple[str, ...]) -> tuple[str, list]:
    where = (
        "v.channel_id = ? AND v.removed_at IS NULL "
        "AND coalesce(v.live_broadcast_content, 'none') = 'none'"
    )
    params: list = []
    if video_ids:
        where += f" AND v.id IN ({','.join('?' * len(video_ids))})"
        params += list(video_ids)
    return where, params


def plan_listings(
    db: Database, channel_id: str, options: TranscriptOptions, now: datetime
) -> tuple[list, list]:
    """Videos whose tracks are worth listing, as (video id, caption flag): the never checked
    ones (newest first), and the changed then too old ones."""
    where, params = _eligible_sql(options.video_ids)
    params = [channel_id, *params]
    never = db.execute(
        f"SELECT v.id, v.caption FROM videos v LEFT JOIN caption_checks k ON k.video_id = v.id "
        f"WHERE {where} AND k.video_id IS NULL ORDER BY v.published_at DESC, v.id",
        params,
    ).fetchall()
    changed = db.execute(
        f"SELECT v.id, v.caption FROM videos v JOIN caption_checks k ON k.video_id = v.id "
        f"WHERE {where} AND k.caption_flag IS NOT v.caption ORDER BY v.published_at DESC, v.id",
        params,
    ).fetchall()
    cutoff = format_utc(now - timedelta(days=options.recheck_days))
    old = db.execute(
        f"SELECT v.id, v.caption FROM videos v JOIN caption_checks k ON k.video_id = v.id "
        f"WHERE {where} AND k.caption_flag IS v.caption AND k.checked_at < ? "
        f"ORDER BY k.checked_at, v.id",
        [*params, cutoff],
    ).fetchall()
    return [tuple(r) for r in never], [tuple(r) for r in [*changed, *old]]


def best_track(tracks: list[dict], language: str) -> dict | None:
    """The track to download for `language`: written before forced before automatic."""
    candidates = [t for t in tracks if store.language_matches(t["language"], language)]
    return min(candidates, key=store.track_rank) if candidates else None


def needs_download(track: dict | None) -> bool:
    """Never downloaded, or changed (lastUpdated) since; a forbidden track waits for a change."""
    if track is None:
        return False
    return track["downloaded_last_updated"] is None or (
        track["downloaded_last_updated"] != track["last_updated"]
    )


def plan_downloads(db: Database, channel_id: str, options: TranscriptOptions) -> list[dict]:
    """Best tracks that need a download, videos with no transcript first, newest first."""
    where, params = _eligible_sql(options.video_ids)
    videos = db.execute(
        f"""
        SELECT v.id,
               EXISTS (SELECT 1 FROM transcript_cues c WHERE c.video_id = v.id) AS has_transcript
        FROM videos v JOIN caption_checks k ON k.video_id = v.id
        WHERE {where}
        ORDER BY has_transcript, v.published_at DESC, v.id
        """,
        [channel_id, *params],
    ).fetchall()
    out = []
    for video_id, _ in videos:
        track = best_track(store.current_tracks(db, video_id), options.language)
        if needs_download(track):
            out.append(track)
    return out


def _download(ctx: RunContext, track: dict, budget: _Budget) -> bool:
    """Download one track and store it; False when the budget cannot pay for it."""
    if not budget.afford(DOWNLOAD_COST):
        return False
    with ctx.page() as now:
        try:
            raw = download_track(ctx.client, track["id"], DOWNLOAD_FORMAT)
        except NotFoundError as e:
            store.mark_track(ctx.db, track["id"], store.REMOVED, str(e), now)
            store.drop_cues(ctx.db, track["id"])
            return True
        except ApiError as e:
            if e.status == 401:
                raise AuthError(f"{e}: run `archivesync auth` again") from None
            if e.status != 403:
                raise
            # Owners may not be allowed to download some tracks (automatic ones, it seems):
            # that is this track's state, not a failed run.
            store.mark_track(ctx.db, track["id"], store.FORBIDDEN, str(e), now)
            return True
        cues = store.save_download(ctx.db, track["id"], raw, DOWNLOAD_FORMAT, now)
        ctx.updated += 1 if cues else 0
    return True


def _list(ctx: RunContext, video_id: str, caption_flag, budget: _Budget) -> list[dict] | None:
    """List one video's tracks and record them; None when the budget cannot pay."""
    if not budget.afford(LIST_COST):
        return None
    with ctx.page() as now:
        ctx.seen += 1
        try:
            items = fetch_tracks(ctx.client, video_id)
        except NotFoundError as e:
            store.save_check_failure(ctx.db, video_id, "not_found", str(e), caption_flag, now)
            return []
        except ApiError as e:
            if e.status == 401:
                raise AuthError(f"{e}: run `archivesync auth` again") from None
            if e.status != 403:
                raise
            store.save_check_failure(ctx.db, video_id, "forbidden", str(e), caption_flag, now)
            return []
        return store.save_track_list(ctx.db, video_id, items, caption_flag, now)


def transcripts_work(ctx: RunContext, channel_id: str, options: TranscriptOptions) -> None:
    """The body of a transcripts run (see the module docstring for the order)."""
    budget = _Budget(ctx, options.max_units)
    first, later = plan_listings(ctx.db, channel_id, options, ctx.clock())
    ctx.total = len(first) + len(later)
    with_tracks: set[str] = set()
    try:
        _work(ctx, channel_id, options, budget, first, later, with_tracks)
    finally:
        ctx.notes.append(checked_note(ctx.seen, len(with_tracks), ctx.total, options))


def checked_note(checked: int, with_tracks: int, due: int, options: TranscriptOptions) -> str:
    """The sentence a run's summary ends with: what listing the tracks found."""
    if not due:
        return (
            f"no video is due for a check (each is listed again after {options.recheck_days} "
            "days, or when YouTube's caption flag changes)"
        )
    videos = f"{checked} video{'s' if checked != 1 else ''} checked"
    if not checked:
        return f"{videos} of {due} due"
    if not with_tracks:
        return f"{videos}, none has captions"
    return f"{videos}, {with_tracks} with captions"


def _work(ctx, channel_id, options, budget, first, later, with_tracks: set[str]) -> None:
    def list_and_download(video_id: str, flag) -> bool:
        tracks = _list(ctx, video_id, flag, budget)
        if tracks is None:
            return False
        if tracks:
            with_tracks.add(video_id)
        track = best_track(tracks, options.language)
        if needs_download(track):
            return _download(ctx, track, budget)
        return True

    for video_id, flag in first:
        if ctx.client.stop.is_set() or not list_and_download(video_id, flag):
            return _stopped(ctx, "listing new videos")
    for track in plan_downloads(ctx.db, channel_id, options):
        if ctx.client.stop.is_set() or not _download(ctx, track, budget):
            return _stopped(ctx, "downloading transcripts")
    for video_id, flag in later:
        if ctx.client.stop.is_set() or not list_and_download(video_id, flag):
            return _stopped(ctx, "re-checking videos")
    return None


def _stopped(ctx: RunContext, doing: str) -> None:
    if ctx.client.stop.is_set():
        raise Interrupted("stopped between videos")
    log.info("max_units reached while %s; the rest waits for the next run", doing)


def run_transcripts(
    db_path: str | Path,
    channel_id: str,
    *,
    token_file: str | Path,
    endpoint: str | None = None,
    options: TranscriptOptions | None = None,
    settings: Settings | None = None,
    trigger: str = "cli",
    stop: threading.Event | None = None,
    wait: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    clock: Clock = system_clock,
) -> Outcome:
    """Run one transcripts run and record it in `sync_runs` (mode `transcripts`).

    The token is loaded and refreshed before anything starts: a missing or revoked token
    raises AuthError and the database is not touched.
    """
    options = options or TranscriptOptions()
    settings = settings or Settings()
    stop = stop or threading.Event()
    credentials = load_credentials(token_file)
    ensure_fresh(credentials, settings.timeout, token_file=token_file, now=clock())

    def work(ctx: RunContext) -> tuple[str, str | None]:
        transcripts_work(ctx, channel_id, options)
        return "transcripts", channel_id

    return run_envelope(
        db_path,
        mode=lambda db: "transcripts",
        channel_id=channel_id,
        label=f"transcripts {channel_id}",
        trigger=trigger,
        make_client=client_factory(
            OAuthYouTubeClient, credentials, endpoint, settings=settings, stop=stop, clock=clock
        ),
        work=work,
        stop=stop,
        wait=wait,
        progress=progress,
        on_start=on_start,
        clock=clock,
    )
