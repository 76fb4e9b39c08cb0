"""`archivesync search`: find videos by words in their titles, descriptions, tags, chapters.

Imports only what a search needs (no sqlite-utils, no API client): the command runs as a whole
process in a few tens of milliseconds (tests/test_cli_imports.py, bench "cli" part).
"""

from __future__ import annotations

import json

import click

from archivesync.cli.common import db_option, fail_cleanly
from archivesync.db.readonly import connect_readonly
from archivesync.errors import EmptyQuery, MissingIndex
from archivesync.parsing import format_duration
from archivesync.search.hybrid import MODES, search_modes
from archivesync.search.meaning_index import has_meaning_index
from archivesync.search.query import WHERE_CHOICES


def format_hits(rows: list[dict]) -> str:
    """Plain-text search results: one block per video, linked at its best hit, then each
    chapter and cue hit with its time (the time of the cue whose text is shown first)."""
    blocks = []
    for row in rows:
        lines = [row["title"] or row["video_id"]]
        if row.get("removed_at"):
            lines[0] += f"  (removed {row['removed_at']})"
        lines.append(f"  {row.get('deep_link') or row.get('chapter_url') or row['url']}")
        if row.get("matched_by", ["words"]) != ["words"]:  # words alone: today's output
            lines[0] += f"  [{' + '.join(row['matched_by'])}]"
        attached = row.get("hits")
        if attached is None:  # a fused (hybrid/meaning) row is one hit
            attached = [row] if row.get("match_kind") == "transcript" else []
        if not attached and row.get("chapter_position") is not None:
            attached = [{**row, "match_kind": "chapter", "text": row["chapter_title"]}]
        for hit in attached:
            at = format_duration(int(hit["start_seconds"]), hours=True) or ""
            if hit["match_kind"] == "transcript":
                lines.append(f"  transcript at {at}: {hit.get('context') or hit.get('text')}")
            else:
                lines.append(f"  chapter {hit['chapter_position']} at {at}: {hit['text']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class _SearchCommand(click.Command):
    """Unknown options are usage errors; a dash before a non-ASCII word is part of the query.

    `--limt 3` must not become search words, but "-防災" cannot be an option of ours: such
    words go after a `--` before click parses, as a user could have typed them.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            cut = args.index("--")
            head, tail = args[:cut], args[cut:]
        else:
            head, tail = args, []
        words = [a for a in head if _is_dash_word(a)]
        if words:
            head = [a for a in head if not _is_dash_word(a)]
            tail = ["--", *words, *tail[1:]]
        return super().parse_args(ctx, head + tail)


def _is_dash_word(arg: str) -> bool:
    return len(arg) > 1 and arg[0] == "-" and not arg[1].isascii()


@click.command("search", cls=_SearchCommand)
@db_option
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Most hits shown."
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON array.")
@click.option("--include-removed", is_flag=True, help="Also search videos no longer online.")
@click.option(
    "--in",
    "where",
    default=",".join(WHERE_CHOICES),
    show_default=True,
    help="Where to look, comma-separated: " + ", ".join(WHERE_CHOICES) + ".",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="words: the words as written; meaning: passages nearest in meaning (needs "
    "`archivesync embed`); hybrid: both in one ranked list. Default: hybrid when the index "
    "has a meaning index, else words.",
)
@click.option(
    "--exact",
    is_flag=True,
    help="Only the spelling typed: no spelling variants (取組 finds only 取組, not 取り組み).",
)
@click.argument("query", nargs=-1, required=True)
@fail_cleanly
def search_command(db_path, limit, as_json, include_removed, where, mode, exact, query):
    """Find videos whose title, description, tags or chapter titles contain every word.

    Case and full-/half-width are ignored (ＤＸ finds DX); Japanese words of any length are
    found inside longer text (人材 in 人材育成); spelling variants are found too (取組 finds
    取り組み and 取組み, 子ども finds 子供) unless --exact. Everything in QUERY is taken
    literally; put `--` before a query that starts with an ASCII dash (`-- -DX`).
    Words mode gives one block per video, best first: every word in the title, then in the
    title or a chapter title, then said in a transcript cue (downloaded with `archivesync
    transcripts`), then elsewhere; newest first within each. Each chapter and cue hit is
    listed with its time, and the link plays from the best one.

    With a meaning index (`archivesync embed`), the default mode is hybrid: words hits and
    passages near the query in meaning (titles with descriptions, chapters, transcript
    windows) in one list, sorted by score; each row says whether it matched by words, by
    meaning or both.
    """
    scopes = [w.strip() for w in where.split(",") if w.strip()]
    bad = [w for w in scopes if w not in WHERE_CHOICES]
    if bad or not scopes:
        raise click.BadParameter(
            f"{bad[0] if bad else where!r} is not one of {', '.join(WHERE_CHOICES)}",
            param_hint="--in",
        )
    conn = connect_readonly(db_path)
    try:
        has_index = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_fts'"
        ).fetchone()
        if not has_index:
            raise MissingIndex(
                "this index has no search tables yet: open it once with this version of "
                "archivesync for writing (e.g. run `archivesync sync`) to add them"
            )
        if mode in ("meaning", "hybrid") and not has_meaning_index(conn):
            raise MissingIndex(
                f"--mode {mode} needs a meaning index: run `archivesync embed --db {db_path}` first"
            )
        try:
            hits = search_modes(
                conn,
                " ".join(query),
                mode=mode,
                limit=limit,
                include_removed=include_removed,
                where=scopes,
                exact=exact,
            )
        except EmptyQuery as e:
            raise click.UsageError(str(e)) from None
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(hits, ensure_ascii=False, indent=2))
    elif hits:
        click.echo(format_hits(hits))
    else:
        click.echo("No videos match.", err=True)
