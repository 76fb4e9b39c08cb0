"""`archivesync transcripts` (sync caption tracks with OAuth) and `transcripts import`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archivesync.cli.common import (
    endpoint_option,
    fail_cleanly,
    finish,
    log_options,
    make_settings,
    oauth_token_option,
    settings_options,
    stop_on_signals,
)
from archivesync.db.schema import open_db
from archivesync.db.transactions import write_transaction
from archivesync.errors import ConfigError, TranscriptParseError
from archivesync.logs import setup_logging
from archivesync.oauth import resolve_token_file
from archivesync.reporting import progress_reporter
from archivesync.timestamps import utcnow
from archivesync.transcripts.cues import detect_format
from archivesync.transcripts.store import import_transcript
from archivesync.transcripts.sync import (
    DEFAULT_LANGUAGE,
    DEFAULT_MAX_UNITS,
    DEFAULT_RECHECK_DAYS,
    TranscriptOptions,
    run_transcripts,
)


@click.group("transcripts", invoke_without_command=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Path to the SQLite index.")
@click.option("--channel", "channel_id", help="Channel id (UC...) whose transcripts to sync.")
@click.option(
    "--video",
    "video_ids",
    multiple=True,
    help="Only these videos (repeatable); default: every video of the channel.",
)
@click.option(
    "--max-units",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_UNITS,
    show_default=True,
    help="Spend at most this many quota units (list 50 a video, download 200 a track).",
)
@click.option(
    "--language",
    default=DEFAULT_LANGUAGE,
    show_default=True,
    help="Caption language to download (BCP-47; ja also matches ja-JP).",
)
@click.option(
    "--recheck-days",
    type=click.IntRange(min=1),
    default=DEFAULT_RECHECK_DAYS,
    show_default=True,
    help="List a video's tracks again when its last check is older than this.",
)
@oauth_token_option
@endpoint_option
@settings_options
@click.option("--wait", is_flag=True, help="Wait for another sync on this database to end.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@log_options
@click.pass_context
@fail_cleanly
def transcripts_command(
    ctx,
    db_path,
    channel_id,
    video_ids,
    max_units,
    language,
    recheck_days,
    oauth_token,
    api_endpoint,
    wait,
    as_json,
    log_format,
    verbose,
    **knobs,
):
    """Download caption tracks of the channel's videos into the index (needs OAuth)."""
    if ctx.invoked_subcommand is not None:
        return
    if not db_path or not channel_id:
        raise click.UsageError("transcripts needs --db and --channel (or a subcommand: import)")
    settings = make_settings(**knobs)
    token_file = resolve_token_file(oauth_token)
    setup_logging(log_format, verbose)
    progress = progress_reporter("transcripts")
    outcome = run_transcripts(
        db_path,
        channel_id,
        token_file=token_file,
        endpoint=api_endpoint,
        options=TranscriptOptions(
            max_units=max_units,
            language=language,
            recheck_days=recheck_days,
            video_ids=tuple(video_ids),
        ),
        settings=settings,
        trigger="cli",
        stop=stop_on_signals(),
        wait=wait,
        progress=progress,
    )
    progress.close()
    finish(outcome, as_json)


@transcripts_command.command("import")
@click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Path to the SQLite index.",
)
@click.option("--video", "video_id", required=True, help="The video the transcript belongs to.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.argument("file", type=click.Path(dir_okay=False))
@fail_cleanly
def import_command(db_path, video_id, as_json, file):
    """Import a .vtt or .srt transcript made elsewhere (track kind `imported`)."""
    path = Path(file)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except UnicodeDecodeError:
        raise TranscriptParseError(f"{file}: not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{file}: {e.strerror}") from None
    fmt = detect_format(path.name, raw)
    db = open_db(db_path)
    try:
        if not db.execute("SELECT 1 FROM videos WHERE id = ?", [video_id]).fetchone():
            raise ConfigError(f"video {video_id!r} is not in the index: sync it first")
        try:
            with write_transaction(db):
                track_id, count = import_transcript(db, video_id, path.name, raw, fmt, utcnow())
        except TranscriptParseError as e:
            raise TranscriptParseError(f"{path.name}: {e}") from None
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps({"video_id": video_id, "track_id": track_id, "cues": count}))
    else:
        click.echo(f"imported {count} cues from {path.name} into video {video_id}")
