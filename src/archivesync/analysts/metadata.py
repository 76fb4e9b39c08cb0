"""Datasette's metadata for the index: every table, view and column described (from
db/columns.toml), and the canned queries for the common questions (queries.toml and
queries/*.sql beside this module)."""

from __future__ import annotations

import functools
import tomllib
from importlib.resources import files

from archivesync.db.columns import describe_tables


@functools.cache
def canned_queries() -> dict[str, dict]:
    """{name: {"title", "description", "sql"}} for every canned query, in queries.toml's order."""
    here = files("archivesync.analysts")
    words = tomllib.loads(here.joinpath("queries.toml").read_text(encoding="utf-8"))
    folder = here.joinpath("queries")
    return {
        name: {**entry, "sql": folder.joinpath(f"{name}.sql").read_text(encoding="utf-8").strip()}
        for name, entry in words.items()
    }


def _plain(markdown: str) -> str:
    """A column's Markdown description as Datasette shows it: plain text."""
    return markdown.replace("**", "").replace("`", "")


def metadata(database_name: str = "archive", base_url: str = "/") -> dict:
    """Datasette metadata for an index served under `database_name` (the file's stem), at
    Datasette's `base_url` (the links in the database's description start with it)."""
    tables = {
        name: {
            "description": entry["description"],
            "columns": {c: _plain(text) for c, text in entry["columns"].items()},
            **({"hidden": True} if entry.get("hidden") else {}),
        }
        for name, entry in describe_tables().items()
    }
    # The SQL of a canned query is a screen long: analysts come for the form and the rows.
    queries = {name: {**query, "hide_sql": True} for name, query in canned_queries().items()}
    search_form = (
        f'<form class="archivesync-search" action="{base_url}{database_name}/search" method="get">'
        '<label>Search videos / 動画を検索 <input type="search" name="q" size="40"></label> '
        '<button type="submit">Search</button></form>'
        f'<p>The Japanese console: <a href="{base_url}-/search">検索</a> · '
        f'<a href="{base_url}">概要</a></p>'
    )
    return {
        "title": "archivesync: the channel's video index",
        "description": "Seminars and lectures of the channel, synced from the YouTube Data "
        "API. Start with the views (video_overview, chapter_index, channel_summary, "
        "playlist_overview, stats_latest, removed_videos) or the Search videos query. "
        "Times are UTC unless a column says otherwise. Read-only.",
        "databases": {
            database_name: {
                "title": "Video index (archivesync)",
                "description_html": (
                    "<p>The index written by archivesync sync: start with a view below, or "
                    "search every title, description, tag and chapter:</p>" + search_form
                ),
                "tables": tables,
                "queries": queries,
            }
        },
    }
