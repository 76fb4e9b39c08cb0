"""Reading caption tracks through the Data API with OAuth: a client and fetch functions.

`OAuthYouTubeClient` is the metadata client (`youtube.YouTubeClient`: retries, quota guard)
with the owner's OAuth credentials in place of the API key. The functions here only read;
saving is `transcripts.store`'s job.
"""

from __future__ import annotations

from typing import Any

from google.auth.exceptions import RefreshError, TransportError

from archivesync.errors import AuthError
from archivesync.oauth import authorized_http
from archivesync.youtube import YouTubeClient

LIST_COST = 50
DOWNLOAD_COST = 200
DOWNLOAD_FORMAT = "vtt"  # the format YouTube's own auto captions come in; webvtt-py reads it


class OAuthYouTubeClient(YouTubeClient):
    """A YouTubeClient that sends the owner's Bearer token instead of the API key."""

    def __init__(self, credentials: Any, endpoint: str | None = None, **kwargs: Any):
        super().__init__("", endpoint, **kwargs)
        self._credentials = credentials

    def _auth(self) -> dict[str, Any]:
        """The Bearer token instead of the API key."""
        return {"http": authorized_http(self._credentials, self.timeout)}

    def execute(self, make_request, what: str, kind: str | None = None, **kwargs: Any):
        """As YouTubeClient.execute; a refused token refresh becomes AuthError (no secrets)."""
        try:
            return super().execute(make_request, what, kind, **kwargs)
        except RefreshError as e:
            code = (
                e.args[1].get("error") if len(e.args) > 1 and isinstance(e.args[1], dict) else None
            )
            raise AuthError(
                f"the OAuth token was refused ({code or 'refresh failed'}) during {what}: "
                "run `archivesync auth` again"
            ) from None
        except TransportError as e:
            raise AuthError(
                f"cannot reach the OAuth token endpoint during {what} ({type(e).__name__})"
            ) from None


def fetch_tracks(client: YouTubeClient, video_id: str) -> list[dict]:
    """captions.list for one video (50 units): its caption resources, snippet included."""
    response = client.execute(
        lambda s: s.captions().list(part="snippet", videoId=video_id),
        f"captions.list {video_id}",
        "youtube#captionListResponse",
        units=LIST_COST,
    )
    return response.get("items") or []


def download_track(client: YouTubeClient, track_id: str, fmt: str = DOWNLOAD_FORMAT) -> str:
    """captions.download of one track (200 units), as text."""
    body = client.execute(
        lambda s: s.captions().download_media(id=track_id, tfmt=fmt),
        f"captions.download {track_id}",
        units=DOWNLOAD_COST,
        media=True,
    )
    if isinstance(body, bytes):
        return body.decode("utf-8-sig", errors="replace")
    return str(body)
