"""``archivesync emulator``: run the YouTube API emulator as a process."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from .dataset import Dataset, default_sample_path, load_dataset
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
    latency_ms: float,
    quota: int,
    api_keys: tuple[str, ...],
) -> None:
    """Serve a YouTube Data API v3 emulator until SIGINT/SIGTERM."""
    data = _load(dataset, synthetic, seed)
    emu = Emulator(
        data,
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
        click.get_text_stream("stdout").flush()
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        emu.stop()


if __name__ == "__main__":
    emulator_command()
