"""`make demo`: the bundled emulator serves the sample channel, a full sync indexes it, and
an analytics run fills the YouTube Analytics tables (with an OAuth token the emulator grants).

Everything runs as in production except the endpoint URL: the real client library over real
HTTP on loopback, the real SQLite file, the same `run_sync` the CLI and the daemon use.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from archivesync.analytics.run import run_analytics
from archivesync.db.schema import open_readonly
from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset, oauth
from archivesync.emulator.captions import load_captions
from archivesync.host import write_private
from archivesync.oauth import SCOPES
from archivesync.parsing import format_duration
from archivesync.search.query import search
from archivesync.stats.run import run_stats
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target
from archivesync.transcripts.sync import run_transcripts

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample_channel.json"
SAMPLE_TRANSCRIPTS = REPO / "data" / "sample_transcripts.json"
SAMPLE_QUERIES = ("人材", "DX 組織文化", "オープンデータ", "基幹業務システム")
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
        write_private(token, json.dumps(info))
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
    captions = load_captions(SAMPLE_TRANSCRIPTS) if SAMPLE_TRANSCRIPTS.is_file() else None
    with Emulator(dataset, captions=captions) as emulator:
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
        transcripts = _index_transcripts(args.db, emulator, dataset.channel_id)
        if transcripts.exit_code:
            print(f"transcripts failed: {transcripts.message}", file=sys.stderr)
            return transcripts.exit_code
        analytics = _demo_analytics(args.db, emulator, dataset.channel_id)
        stats = run_stats(
            args.db, dataset.channel_id, api_key=DEMO_API_KEY, endpoint=emulator.url,
            trigger="demo",
        )  # fmt: skip
    if stats.exit_code:
        print(f"stats failed: {stats.message}", file=sys.stderr)
        return stats.exit_code
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
    cues = db.execute("SELECT count(*), count(DISTINCT video_id) FROM transcript_cues").fetchone()
    print(
        f"transcripts (invented sample, OAuth through the emulator): {cues[1]} videos, "
        f"{cues[0]} cues; run {transcripts.run_id}: {transcripts.figures['quota_units']} units"
    )
    ledger = ", ".join(
        f"{r['bucket']} {r['units']}"
        for r in db.query("SELECT bucket, sum(units) AS units FROM quota_usage GROUP BY bucket")
    )
    print(
        f"statistics of every video (run {stats.run_id}): {stats.figures['api_calls']} API "
        f"call(s); quota units by bucket: {ledger}"
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
        # Count every video, show the first few: the count must not be the display limit.
        hits = search(db, query, limit=100_000)
        shown = hits[:SHOWN_HITS]
        more = f", the first {len(shown)} shown" if len(hits) > len(shown) else ""
        print(f"\nsearch {query!r}: {len(hits)} video(s){more}")
        for hit in shown:
            if hit.get("match_kind") == "transcript":
                where = f"  [{format_duration(int(hit['start_seconds']))} 「{hit['text']}」]"
            elif hit.get("chapter_position"):
                where = f"  [{format_duration(hit['start_seconds'])} {hit['chapter_title']}]"
            else:
                where = ""
            print(f"  {hit['title']}{where}\n    {hit.get('deep_link') or hit['url']}")
    db.close()
    print('\nTry it yourself: see "Try it yourself" in README.md (activate .venv, then run')
    print(
        f"archivesync commands against the emulator: key {DEMO_API_KEY}, "
        f"channel {dataset.channel_id})."
    )
    return 0


def _index_transcripts(db_path: str, emulator: Emulator, channel_id: str):
    """`archivesync transcripts` against the emulator, with a token it issues (0600 file)."""
    with tempfile.TemporaryDirectory() as tmp:
        token = Path(tmp) / "oauth-token.json"
        info = emulator.oauth.authorized_user_info(emulator.url, channel_id, SCOPES)
        write_private(token, json.dumps(info))
        return run_transcripts(
            db_path, channel_id, token_file=token, endpoint=emulator.url, trigger="demo"
        )


if __name__ == "__main__":
    sys.exit(main())
