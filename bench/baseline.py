"""The straightforward sequential sync that the wall-time figures are compared with.

What a careful first script would do with the same libraries: one google-api-python-client
service, one request at a time (uploads page of 50 ids -> videos.list -> upsert), then the
playlists and each playlist's items, and sqlite-utils `upsert_all` of plain rows (no chapters,
no history, no search index, no per-run bookkeeping). It makes the same API calls as the full
sync, so the two spend the same quota and differ only in how they wait and what they store.
The database uses WAL like archivesync's, so journaling does not decide the comparison.
Run as `python -m bench.baseline --db PATH --endpoint URL --channel UC...` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httplib2
from googleapiclient.discovery import build
from sqlite_utils import Database

PARTS = "snippet,contentDetails,statistics,status,liveStreamingDetails"


def _video(resource: dict) -> dict:
    snippet = resource.get("snippet") or {}
    details = resource.get("contentDetails") or {}
    stats = resource.get("statistics") or {}
    return {
        "id": resource["id"],
        "channel_id": snippet.get("channelId"),
        "title": snippet.get("title"),
        "description": snippet.get("description"),
        "published_at": snippet.get("publishedAt"),
        "duration": details.get("duration"),
        "tags": json.dumps(snippet.get("tags") or [], ensure_ascii=False),
        "view_count": stats.get("viewCount"),
        "like_count": stats.get("likeCount"),
        "comment_count": stats.get("commentCount"),
        "privacy_status": (resource.get("status") or {}).get("privacyStatus"),
    }


def _pages(make):
    token = None
    while True:
        response = make(token).execute()
        yield response
        token = response.get("nextPageToken")
        if not token:
            return


def sequential_sync(db_path: Path, endpoint: str, api_key: str, channel_id: str) -> dict:
    """Sync the channel one request after another; returns seconds and the calls made."""
    start = time.perf_counter()
    youtube = build(
        "youtube",
        "v3",
        developerKey=api_key,
        client_options={"api_endpoint": endpoint},
        http=httplib2.Http(timeout=30),
        static_discovery=True,
        cache_discovery=False,
    )
    db = Database(db_path)
    db.enable_wal()
    calls = 0
    channel = youtube.channels().list(part="snippet,contentDetails", id=channel_id).execute()
    calls += 1
    uploads = channel["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
    for page in _pages(
        lambda t: youtube.playlistItems().list(
            part="contentDetails", playlistId=uploads, maxResults=50, pageToken=t
        )
    ):
        calls += 1
        ids = [item["contentDetails"]["videoId"] for item in page.get("items", [])]
        if not ids:
            continue
        videos = youtube.videos().list(part=PARTS, id=",".join(ids)).execute()
        calls += 1
        db["videos"].upsert_all([_video(v) for v in videos.get("items", [])], pk="id")
    for page in _pages(
        lambda t: youtube.playlists().list(
            part="snippet,contentDetails,status", channelId=channel_id, maxResults=50, pageToken=t
        )
    ):
        calls += 1
        playlists = page.get("items", [])
        db["playlists"].upsert_all(
            [
                {
                    "id": p["id"],
                    "title": p["snippet"].get("title"),
                    "item_count": (p.get("contentDetails") or {}).get("itemCount"),
                }
                for p in playlists
            ],
            pk="id",
        )
        for playlist in playlists:
            rows = []
            for items in _pages(
                lambda t, p=playlist["id"]: youtube.playlistItems().list(
                    part="snippet,contentDetails,status", playlistId=p, maxResults=50, pageToken=t
                )
            ):
                calls += 1
                for item in items.get("items", []):
                    rows.append(
                        {
                            "playlist_id": playlist["id"],
                            "position": item["snippet"].get("position"),
                            "video_id": (item.get("contentDetails") or {}).get("videoId"),
                            "title": item["snippet"].get("title"),
                        }
                    )
            if rows:
                db["playlist_items"].upsert_all(rows, pk=("playlist_id", "position"))
    db.close()
    return {"seconds": time.perf_counter() - start, "calls": calls}


def main() -> None:
    """`python -m bench.baseline --db PATH --endpoint URL --channel UC...`: one JSON line."""
    from archivesync.emulator import DEMO_API_KEY

    p = argparse.ArgumentParser(prog="python -m bench.baseline")
    p.add_argument("--db", type=Path, required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--channel", required=True)
    p.add_argument("--api-key", default=DEMO_API_KEY)
    args = p.parse_args()
    print(json.dumps(sequential_sync(args.db, args.endpoint, args.api_key, args.channel)))


if __name__ == "__main__":
    main()
