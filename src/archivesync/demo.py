"""`make demo`: the bundled emulator serves the sample channel, a full sync indexes it, and
an analytics run fills the YouTube Analytics tables (with an OAuth token the emulator grants).

Everything runs as in production except the endpoint URL: the real client library over real
HTTP on loopback, the real SQLite file, the same `run_sync` the CLI and the daemon use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from archivesync.analytics.run import run_analytics
from archivesync.db.schema import open_readonly
from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset, oauth
from archivesync.parsing import format_duration
from archivesync.search.query import search
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample_channel.json"
SAMPLE_QUERIES = ("人材", "DX 組織文化", "オープンデータ")
SHOWN_HITS = 3
ROUNDTABLE = "kD7mQx2LrVw"
DEMO_SCOPES = (oauth.FORCE_SSL_SCOPE, oauth.ANALYTICS_SCOPE)


def _demo_analytics(db_path: str, emulator: Emulator, channel_id: str):
    """Analytics through the same OAuth path as production: a token file from the emulator."""
    with tempfile.TemporaryDirectory() as tmp:
        token = Path(tmp) / "oauth-token.json"
        info = {
            "type": "authorized_user",
            "client_id": oauth.DEMO_CLIENT_ID,
            "client_secret": oauth.DEMO_CLIENT_SECRET,
            "refresh_token": emulator.oauth.issue(channel_id, DEMO_SCOPES),
            "token_uri": emulator.url + oauth.TOKEN_PATH,
        }
        fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info, f)
        return run_analytics(
            db_path, channel_id, endpoint=emulator.url, token_file=str(token), trigger="demo"
        )


def main(argv: list[str] | None = None) -> int:
    """`make demo`: sync the sample channel from the emulator and show a few searches."""
    parser = argparse.ArgumentParser(prog="archivesync-demo")
    parser.add_argument("--db", default=str(REPO / "data" / "archive.db"))
    parser.add_argument("--dataset", default=str(SAMPLE))
    args = parser.parse_args(argv)

    dataset = load_dataset(args.dataset)
    with Emulator(dataset) as emulator:
        print(f"emulator: sample channel on {emulator.url}")
        outcome = run_sync(
            args.db,
            Target("channel", [dataset.channel_id], full=True),
            api_key=DEMO_API_KEY,
            endpoint=emulator.url,
            trigger="demo",
        )
        if outcome.exit_code:
            print(f"sync failed: {outcome.message}", file=sys.stderr)
            return outcome.exit_code
        analytics = _demo_analytics(args.db, emulator, dataset.channel_id)
    if analytics.exit_code:
        print(f"analytics failed: {analytics.message}", file=sys.stderr)
        return analytics.exit_code
    db = open_readonly(args.db)
    summary = next(
        db.query(
            """
            SELECT
              (SELECT count(*) FROM videos WHERE removed_at IS NULL) AS videos,
              (SELECT coalesce(sum(duration_seconds), 0) FROM videos
                 WHERE removed_at IS NULL) AS seconds,
              (SELECT count(*) FROM chapters) AS chapters,
              (SELECT count(*) FROM playlists WHERE removed_at IS NULL) AS playlists
            """
        )
    )
    print(f"database: {args.db}")
    print(
        f"videos: {summary['videos']}  total: {summary['seconds'] / 3600:.1f} h "
        f"({format_duration(summary['seconds'])})  chapters: {summary['chapters']}  "
        f"playlists: {summary['playlists']}"
    )
    print(
        f"run {outcome.run_id}: {outcome.status}, {outcome.figures['api_calls']} API calls, "
        f"{outcome.figures['quota_units']} quota units"
    )
    print(
        f"analytics run {analytics.run_id}: {analytics.status}, "
        f"{analytics.figures['api_calls']} YouTube Analytics queries"
    )
    usage = list(db.query("SELECT * FROM video_usage ORDER BY views_28d DESC LIMIT 3"))
    print("\nmost watched, last 28 days (video_usage):")
    for row in usage:
        print(f"  {row['views_28d']:>5} views {row['hours_watched_28d']:>7} h  {row['title']}")
    print("\nwhere viewers leave the roundtable (chapter_retention, biggest drops):")
    for row in db.query(
        'SELECT * FROM chapter_retention WHERE video_id = ? ORDER BY "drop" DESC LIMIT 3',
        [ROUNDTABLE],
    ):
        print(
            f"  {format_duration(row['start_seconds'])} {row['chapter_title']}: "
            f"{row['watch_ratio_at_start']:.2f} -> {row['watch_ratio_at_end']:.2f}"
        )
    for query in SAMPLE_QUERIES:
        # Count every hit, show the first few: the count must not be the display limit.
        hits = search(db, query, limit=100_000)
        shown = hits[:SHOWN_HITS]
        more = f", the first {len(shown)} shown" if len(hits) > len(shown) else ""
        print(f"\nsearch {query!r}: {len(hits)} hit(s){more}")
        for hit in shown:
            where = (
                f"  [{format_duration(hit['start_seconds'])} {hit['chapter_title']}]"
                if hit.get("chapter_position")
                else ""
            )
            print(f"  {hit['title']}{where}\n    {hit.get('chapter_url') or hit['url']}")
    db.close()
    print('\nTry it yourself: see "Try it yourself" in README.md (activate .venv, then run')
    print(
        f"archivesync commands against the emulator: key {DEMO_API_KEY}, "
        f"channel {dataset.channel_id})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
