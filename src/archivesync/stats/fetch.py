"""Reading statistics from the API: `videos.batchGetStats` on its own bucket. Never writes."""

from __future__ import annotations

from archivesync.db.quota import STATS
from archivesync.youtube import PAGE_SIZE, YouTubeClient

PARTS = ["statistics", "contentDetails", "snippet"]
RESPONSE_KIND = "youtube#batchGetStatsResponse"


def fetch_video_stats(client: YouTubeClient, video_ids: list[str]) -> list[dict]:
    """One batchGetStats call for up to 50 ids; ids it leaves out were invalid or not visible."""
    if len(video_ids) > PAGE_SIZE:
        raise ValueError("videos.batchGetStats takes at most 50 ids")
    if not video_ids:
        return []
    response = client.execute(
        lambda s: s.videos().batchGetStats(id=list(video_ids), part=PARTS),
        f"videos.batchGetStats ({len(video_ids)} ids)",
        RESPONSE_KIND,
        bucket=STATS,
    )
    return response.get("items") or []
