"""``archivesync emulator``: run the YouTube API emulator as a process."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from .captions import Captions, default_captions_path, load_captions
from .dataset import Dataset, default_sample_path, load_dataset
from .oauth import client_secrets
from .server import DEMO_API_KEY, Emulator
from .synthetic import synthetic_dataset


def _load(dataset: Path | None, synthetic: int | None, seed: int) -> Dataset:
    if dataset is not None and synthetic is not None:
        raise click.UsageError("use either --dataset or --synthetic, not both")
    if synthetic is not None:
        return synthetic_dataset(synthetic, seed=seed)
    path = dataset or default_sample_path()
    if not path.is_file():
        raise click.ClickException(f"no dataset at {path}; pass --dataset FILE or --synthetic N")
    try:
        return load_dataset(path)
    except (ValueError, KeyError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def _captions(path: Path | None, sample: bool) -> Captions:
    """The tracks to serve: `path`, else the sample's own when serving the sample channel."""
    if path is None:
        default = default_captions_path()
        if not sample or not default.is_file():
            return Captions()
        path = default
    try:
        return load_captions(path)
    except (OSError, ValueError, KeyError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def _write_client_secrets(path: Path, url: str) -> None:
    """Google's "Desktop app" client JSON for this emulator, mode 0600 like a real one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(client_secrets(url), f, indent=1)
            f.write("\n")
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror}") from exc


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8088,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Dataset JSON file (default: the sample channel, data/sample_channel.json).",
)
@click.option(
    "--synthetic",
    type=click.IntRange(0),
    metavar="N",
    help="Serve a generated channel with N videos instead of a file.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for --synthetic.")
@click.option(
    "--captions",
    "captions_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Caption tracks JSON (default: data/sample_transcripts.json with the sample channel, "
    "none with --dataset or --synthetic).",
)
@click.option(
    "--client-secrets",
    "secrets_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write an OAuth client-secrets file for this emulator here, for "
    "`archivesync auth --client-secrets FILE`.",
)
@click.option(
    "--latency-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Delay added to every request.",
)
@click.option(
    "--quota",
    default=10_000,
    show_default=True,
    type=click.IntRange(0),
    help="Daily units per API key (the day ends at midnight Pacific time).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help=f"Accepted API key; repeatable. Default: {DEMO_API_KEY}.",
)
def emulator_command(
    host: str,
    port: int,
    dataset: Path | None,
    synthetic: int | None,
    seed: int,
    captions_path: Path | None,
    secrets_path: Path | None,
    latency_ms: float,
    quota: int,
    api_keys: tuple[str, ...],
) -> None:
    """Serve a YouTube Data API v3 emulator until SIGINT/SIGTERM."""
    data = _load(dataset, synthetic, seed)
    captions = _captions(captions_path, sample=dataset is None and synthetic is None)
    emu = Emulator(
        data,
        captions=captions,
        host=host,
        port=port,
        latency_ms=latency_ms,
        quota=quota,
        api_keys=api_keys or None,
    )
    try:
        emu.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    if secrets_path is not None:
        try:
            _write_client_secrets(secrets_path, emu.url)
        except click.ClickException:
            emu.stop()
            raise
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        # One line that says all a newcomer needs: where, which channel(s), which key.
        ids = data.channel_ids()
        channels = ("channel " if len(ids) == 1 else "channels ") + ", ".join(ids)
        keys = f"the {len(api_keys)} given with --api-key" if api_keys else f"key {DEMO_API_KEY}"
        click.echo(f"emulator listening on {emu.url} for {channels}; accepts {keys}")
        tracks = len(captions.video_ids())
        click.echo(f"caption tracks for {tracks} videos" if tracks else "no caption tracks")
        if secrets_path is not None:
            click.echo(f"OAuth client secrets for `archivesync auth` written to {secrets_path}")
        click.get_text_stream("stdout").flush()
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        emu.stop()


if __name__ == "__main__":
    emulator_command()
