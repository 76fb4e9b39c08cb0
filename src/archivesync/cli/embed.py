"""`archivesync embed`: bring the meaning index up to date (new or changed passages only)."""

from __future__ import annotations

import json
import sys

import click

from archivesync.cli.common import db_option, fail_cleanly
from archivesync.search.models import DEFAULT_MODEL, MODELS

EXIT_SIGINT = 128 + 2


@click.command("embed")
@db_option
@click.option(
    "--model",
    type=click.Choice(sorted(MODELS)),
    default=DEFAULT_MODEL,
    show_default=True,
    help="Embedding model (its weights come inside a Python package; nothing is downloaded).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@fail_cleanly
def embed_command(db_path, model, as_json):
    """Embed new or changed passages (titles with descriptions, chapters, transcript windows).

    Only what changed since the last run is embedded: a second run embeds 0. Work is committed
    every few passages, so an interrupted run keeps what it embedded. A different --model
    embeds everything again with that model.
    """
    from archivesync.db.schema import open_db
    from archivesync.search.meaning_index import embed_index

    db = open_db(db_path)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total and sys.stderr.isatty():
            bar = click.progressbar(length=total, label="embedding", file=sys.stderr)
            bar.__enter__()
        if bar is not None:
            bar.update(done - bar.pos)

    try:
        result = embed_index(db.conn, model, progress=progress)
    except KeyboardInterrupt:
        done = db.conn.execute("SELECT count(*) FROM meaning_passages").fetchone()[0]
        click.echo(f"\nInterrupted: {done} passages are embedded; run again to go on.", err=True)
        sys.exit(EXIT_SIGINT)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        db.close()
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(
            f"embedded {result.embedded} passages in {result.seconds:.1f} s "
            f"({result.passages} in the meaning index, {result.removed} removed; "
            f"model {result.model})"
        )
