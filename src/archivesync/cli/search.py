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


def format_hits(hits: list[dict]) -> str:
    """Plain-text search results: one block per video, the link at the matching chapter."""
    blocks = []
    for hit in hits:
        lines = [hit["title"] or hit["video_id"]]
        if hit.get("removed_at"):
            lines[0] += f"  (removed {hit['removed_at']})"
        lines.append(f"  {hit.get('deep_link') or hit['chapter_url'] or hit['url']}")
        if hit.get("matched_by", ["words"]) != ["words"]:  # words alone: today's output
            lines[0] += f"  [{' + '.join(hit['matched_by'])}]"
        if hit.get("match_kind") == "transcript":
            at = format_duration(int(hit["start_seconds"]), hours=True) or ""
            lines.append(f"  transcript at {at}: {hit['context']}")
        elif hit["chapter_position"] is not None:
            at = format_duration(hit["start_seconds"], hours=True) or ""
            lines.append(f"  chapter {hit['chapter_position']} at {at}: {hit['chapter_title']}")
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
@click.argument("query", nargs=-1, required=True)
@fail_cleanly
def search_command(db_path, limit, as_json, include_removed, where, mode, query):
    """Find videos whose title, description, tags or chapter titles contain every word.

    Case and full-/half-width are ignored (ＤＸ finds DX); Japanese words of any length are
    found inside longer text (人材 in 人材育成). Everything in QUERY is taken literally; put
    `--` before a query that starts with an ASCII dash (`-- -DX`).
    Videos with every word in the title come first, then those with every word in the title
    or a chapter title (linked at that chapter), then the rest; newest first within each.
    Then transcript cues (downloaded with `archivesync transcripts`), each linked at its second.

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
