"""Operations commands: `daemon`, `resync`, `status`. Thin shells, like `sync` in cli/sync.py.

Registered by name in `archivesync.cli.COMMANDS`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from archivesync.cli.common import (
    ChannelParam,
    daily_budget_option,
    db_option,
    endpoint_option,
    fail_cleanly,
    finish,
    log_options,
    make_settings,
    resolved_channel,
    settings_options,
    signal_exit_code,
    stop_on_signals,
)
from archivesync.cli.notify import notify_options, notify_settings
from archivesync.db import audit
from archivesync.db.heartbeat import daemon_alive, read_heartbeat
from archivesync.db.schema import leave_checkpoints_to_litestream, open_db, open_readonly
from archivesync.errors import EXIT_ERROR, ConfigError
from archivesync.logs import setup_logging
from archivesync.replication import litestream
from archivesync.replication import status as replication_status
from archivesync.reporting import progress_reporter
from archivesync.sync import requests as sync_requests
from archivesync.sync.run import Target
from archivesync.sync.targets import TargetError, describe, request_fields, resync_target
from archivesync.urls import ChannelRef
from archivesync.worker import status as status_mod
from archivesync.worker.daemon import Daemon
from archivesync.worker.schedules import load_replication, load_schedules, parse_every
from archivesync.youtube import resolve_api_key, resolve_endpoint

log = logging.getLogger("archivesync.resync")


class TimeZone(click.ParamType):
    """An IANA zone name such as Asia/Tokyo."""

    name = "zone"

    def convert(self, value, param, ctx):
        """An IANA zone name as a ZoneInfo; a usage error otherwise."""
        if isinstance(value, tzinfo):
            return value
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia", a directory
            self.fail(f"unknown time zone {value!r} (use a name such as Asia/Tokyo)", param, ctx)


@click.command("daemon")
@db_option
@click.option(
    "--schedules",
    "schedules_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory of *.toml schedule files.",
)
@click.option(
    "--replicate-to",
    "replicate_to",
    envvar="ARCHIVESYNC_REPLICATE_TO",
    help="Replicate the database continuously with Litestream to this URL (file:///dir, "
    "s3://bucket/path, sftp://...; env ARCHIVESYNC_REPLICATE_TO).",
)
@click.option(
    "--litestream-sidecar",
    is_flag=True,
    help="Litestream replicates this database from its own service: leave checkpoints to it.",
)
@notify_options
@endpoint_option
@settings_options
@log_options
@fail_cleanly
def daemon_command(
    db_path,
    schedules_dir,
    replicate_to,
    litestream_sidecar,
    notify_urls,
    public_url,
    api_endpoint,
    log_format,
    verbose,
    **knobs,
):
    """Run scheduled syncs and staff resync requests until SIGTERM/SIGINT."""
    jobs = load_schedules(schedules_dir)
    replication = load_replication(schedules_dir)
    replicate_to = replicate_to or replication.url
    if replicate_to and litestream_sidecar:
        raise click.UsageError("--replicate-to and --litestream-sidecar exclude each other")
    if replicate_to:
        litestream.check_url(replicate_to)
        litestream.find_binary()
    if litestream_sidecar:
        leave_checkpoints_to_litestream()
    settings = make_settings(**knobs)
    api_key = resolve_api_key()
    setup_logging(log_format, verbose, secret=api_key)
    # The daemon's job listener reports misses and skips in our own log format.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    resolve_endpoint(api_endpoint)  # a bad URL fails now, not at 3 a.m.
    notifier, public_url = notify_settings(notify_urls, public_url, schedules_dir)
    Daemon(
        db_path,
        jobs,
        api_key=api_key,
        endpoint=api_endpoint,
        settings=settings,
        schedules_dir=schedules_dir,
        replicate_to=replicate_to,
        notifier=notifier,
        public_url=public_url,
        stall_seconds=parse_every(replication.stall_after),
    ).run()


def _target(channel, full, playlist_id, video_ids) -> Target | None:
    """The target the options name; None while `channel` is a handle still to look up."""
    if sum(bool(v) for v in (channel, playlist_id, video_ids)) != 1:
        raise click.UsageError("give exactly one of --channel, --playlist or --video")
    if full and not channel:
        raise click.UsageError("--full goes with --channel only")
    if isinstance(channel, ChannelRef) and channel.handle:
        return None
    if channel:
        kind, text, option = "channel", str(channel), "--channel"
    elif playlist_id:
        kind, text, option = "playlist", playlist_id, "--playlist"
    else:
        kind, text, option = "videos", " ".join(video_ids), "--video"
    try:
        return resync_target(kind, text, full=full)
    except TargetError as e:
        if e.reason == "no_video":
            raise click.UsageError("--video needs a video id") from None
        raise click.BadParameter(str(e), param_hint=option) from None


def _run_here(db, db_path, request_id, api_key, api_endpoint, settings, wait, stop=None):
    """Run a request this process has claimed, with a progress bar; exits with its outcome."""
    if api_key is None:
        resolve_api_key()  # raises the usual "no API key" error
    stop = stop or stop_on_signals()
    progress = progress_reporter("resync")
    try:
        outcome = sync_requests.execute(
            db,
            db_path,
            request_id,
            api_key=api_key,
            endpoint=api_endpoint,
            settings=settings,
            stop=stop,
            wait=wait,
            progress=progress,
        )
    finally:
        progress.close()
    if outcome is None:  # stopped while waiting for another sync to end
        click.echo(f"stopped; request {request_id} is queued for the next daemon", err=True)
        sys.exit(signal_exit_code(0))
    finish(outcome)


def _wait_for(db, db_path, request_id, api_key, api_endpoint, settings) -> None:
    """Follow a queued request to its end; take it over if the daemon goes away first."""
    stop = stop_on_signals()
    progress = progress_reporter(f"request {request_id}")

    def take_over(claimed_id: int) -> None:
        progress.close()
        _run_here(db, db_path, claimed_id, api_key, api_endpoint, settings, True, stop)

    try:
        request = sync_requests.follow(
            db,
            request_id,
            stop=stop,
            on_progress=lambda figures: progress({**figures, "total": None}),
            take_over=take_over,
        )
    finally:
        progress.close()
    if request is None:
        current = sync_requests.get(db, request_id)
        click.echo(
            f"stopped waiting; request {request_id} is {current['status']} "
            "(see `archivesync status`)",
            err=True,
        )
        sys.exit(signal_exit_code(0))
    if request["run_id"] is None:  # refused before a run began (bad database, say)
        click.echo(f"Error: request {request_id} {request['status']}: {request['error']}", err=True)
        sys.exit(request["exit_code"] or EXIT_ERROR)
    finish(sync_requests.outcome_of(db, request))


@click.command("resync")
@db_option
@click.option(
    "--channel",
    "channel",
    type=ChannelParam(),
    help="Resync a channel (incremental unless --full): id, channel URL or @handle.",
)
@click.option("--full", is_flag=True, help="With --channel: a full sync.")
@click.option("--playlist", "playlist_id", help="Resync one playlist and its videos.")
@click.option(
    "--video",
    "video_ids",
    multiple=True,
    help="Resync a video: an id or any YouTube URL of it (repeat, or comma-separate).",
)
@endpoint_option
@settings_options
@click.option(
    "--wait", is_flag=True, help="Wait for the run to end and exit with its outcome (0, 1, 75)."
)
@click.option("--by", "requested_by", help="Who asked (default: your user name).")
@log_options
@fail_cleanly
def resync_command(
    db_path,
    channel,
    full,
    playlist_id,
    video_ids,
    api_endpoint,
    wait,
    requested_by,
    log_format,
    verbose,
    **knobs,
):
    """Resync a channel, playlist or videos now: through the daemon if one is running."""
    _target(channel, full, playlist_id, video_ids)  # usage errors before anything else
    settings = make_settings(**knobs)
    requested_by = requested_by or audit.os_user()
    try:
        api_key = resolve_api_key()
    except ConfigError:
        if channel is not None and channel.handle:
            raise ConfigError(
                f"looking up {channel.handle} needs an API key (YOUTUBE_API_KEY); "
                "or give the channel id (UC...)"
            ) from None
        api_key = None  # queueing for the daemon needs no key; running here will say so
    setup_logging(log_format, verbose, secret=api_key or "")
    channel_id = (
        resolved_channel(
            db_path, channel, api_key=api_key, endpoint=api_endpoint, settings=settings
        )
        if channel is not None
        else None
    )
    target = _target(channel_id, full, playlist_id, video_ids)
    db = open_db(db_path)

    def submit() -> int:
        # The queue's rules and the audit trail, as for the console; any channel may be asked
        # for here (whoever runs this may run `archivesync sync` as well).
        request_id, merged = sync_requests.submit(
            db,
            target,
            requested_by,
            actor=audit.os_user(),
            now=datetime.now(UTC),
            channels=None,
        )
        if merged:
            click.echo(f"request {request_id} was already waiting for this: joined it", err=True)
        return request_id

    try:
        heartbeat = read_heartbeat(db)
        if not daemon_alive(heartbeat):
            if api_key is None:
                resolve_api_key()  # raises the usual "no API key" error
            # Recorded as a request too, so the queue shows who asked for every resync.
            request_id = submit()
            sync_requests.claim(db, request_id)
            _run_here(db, db_path, request_id, api_key, api_endpoint, settings, wait)
            return
        request_id = submit()
        click.echo(
            f"request {request_id} queued for the daemon (pid {heartbeat['pid']} on "
            f"{heartbeat['hostname']}): "
            f"{describe(**request_fields(target))}",
            err=True,
        )
        if not wait:
            click.echo(request_id)
            return
        _wait_for(db, db_path, request_id, api_key, api_endpoint, settings)
    finally:
        db.close()


@click.command("status")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@daily_budget_option("Quota units a Pacific-time day, to show what is left.")
@click.option(
    "--tz",
    "zone",
    type=TimeZone(),
    default=None,
    help="Show times in this zone, e.g. Asia/Tokyo (default: the system's; --json keeps UTC).",
)
@fail_cleanly
def status_command(db_path, as_json, daily_budget, zone):
    """Show the daemon, the current run, recent runs, the request queue, quota and schedule."""
    db = open_readonly(db_path)
    try:
        data = status_mod.collect(db, db_path=db_path, daily_budget=daily_budget)
    finally:
        db.close()
    data["replication"] = replication_status.collect(db_path)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(status_mod.render(data, zone))
        click.echo("\n".join(replication_status.render_lines(data["replication"])))
