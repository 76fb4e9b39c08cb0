"""The YouTube Data API v3 client: google-api-python-client over httplib2, with our retries.

Every request attempt costs a quota unit (failed ones too), so attempts go through
`YouTubeClient.execute`, which asks the quota guard before each one and counts it after.
httplib2 is not thread-safe: each thread gets its own service object.

The `fetch_*` generators here only read; saving is `store`'s job. The channel's Atom feed,
which needs neither key nor quota, is read by feed.py.
"""

from __future__ import annotations

import errno
import http.client
import json
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from archivesync.db.quota import QuotaGuard
from archivesync.errors import (
    ApiError,
    ConfigError,
    Interrupted,
    NotFoundError,
    QuotaExhausted,
    TransientApiError,
)

log = logging.getLogger(__name__)

GOOGLE_ENDPOINT = "https://www.googleapis.com"
PAGE_SIZE = 50  # the API's maximum; the default of 5 would cost 10x the quota
VIDEO_PARTS = "snippet,contentDetails,statistics,status,liveStreamingDetails"

RETRYABLE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
KEY_REASONS = {"API_KEY_INVALID", "keyInvalid", "keyExpired", "API_KEY_EXPIRED"}

# Errors below the HTTP status line: resets, timeouts, bodies cut short, garbage instead of JSON.
NETWORK_ERRORS = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.HTTPException,
    httplib2.HttpLib2Error,
    json.JSONDecodeError,
    UnicodeDecodeError,
)

# Errors that mean the request never reached a server: no HTTP answer, so no quota spent, and
# retrying for a minute will not change a wrong or dead endpoint.
UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ENETUNREACH,
    errno.EHOSTUNREACH,
    errno.EADDRNOTAVAIL,
}
CONNECT_RETRIES = 2  # about 3 s of back-off at the default base, then give up


def _never_reached(e: BaseException) -> bool:
    """True when the request cannot have reached a server (refused, unreachable, no DNS)."""
    if isinstance(e, (httplib2.ServerNotFoundError, socket.gaierror)):
        return True
    return isinstance(e, OSError) and e.errno in UNREACHABLE_ERRNOS


def resolve_endpoint(cli_value: str | None) -> str:
    """The API endpoint from the option, ARCHIVESYNC_API_ENDPOINT or Google's."""
    endpoint = cli_value or os.environ.get("ARCHIVESYNC_API_ENDPOINT") or GOOGLE_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"API endpoint {endpoint!r} must start with http:// or https://")
    return endpoint.rstrip("/")


def resolve_api_key() -> str:
    """The key from YOUTUBE_API_KEY, or from the file named by YOUTUBE_API_KEY_FILE."""
    key = os.environ.get("YOUTUBE_API_KEY", "").strip()
    key_file = os.environ.get("YOUTUBE_API_KEY_FILE", "").strip()
    if not key and key_file:
        try:
            with open(key_file, encoding="utf-8") as f:
                key = f.read().strip()
        except OSError as e:
            raise ConfigError(
                f"cannot read YOUTUBE_API_KEY_FILE {key_file!r}: {e.strerror}"
            ) from None
    if not key:
        raise ConfigError("no API key: set YOUTUBE_API_KEY (or YOUTUBE_API_KEY_FILE)")
    return key


class RedactKeyFilter(logging.Filter):
    """Drops the API key from any log record, whichever library wrote it."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the key in the record's message; never drops a record."""
        if self.secret:
            message = record.getMessage()
            if self.secret in message:
                record.msg = message.replace(self.secret, "***")
                record.args = ()
        return True


def _error_details(e: HttpError) -> tuple[str | None, str]:
    """(reason code, message) from an API error body; HttpError.reason is only the message."""
    try:
        body = json.loads(e.content.decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, f"HTTP {e.resp.status}"
    message = str(body.get("message") or f"HTTP {e.resp.status}")
    for detail in body.get("details") or []:
        if detail.get("reason") in KEY_REASONS:
            return detail["reason"], message
    errors = body.get("errors") or []
    reason = errors[0].get("reason") if errors else None
    return reason, message


class _CachedResources:
    """A service whose `videos()`, `playlistItems()`... are built once per thread.

    googleapiclient builds a new Resource object from the discovery document on every
    `service.videos()` call, about 1 ms of CPU: more than a videos.list page costs to save.
    """

    def __init__(self, service):
        self._service = service
        self._resources: dict[str, Any] = {}

    def __getattr__(self, name: str):
        def resource():
            cached = self._resources.get(name)
            if cached is None:
                cached = self._resources[name] = getattr(self._service, name)()
            return cached

        return resource


class YouTubeClient:
    # The API `service` builds (its discovery document ships with googleapiclient).
    API = ("youtube", "v3")

    def __init__(
        self,
        api_key: str,
        endpoint: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 6,
        backoff_base: float | None = None,
        backoff_cap: float = 60.0,
        guard: QuotaGuard | None = None,
        stop: threading.Event | None = None,
    ):
        self._key = api_key
        self.endpoint = resolve_endpoint(endpoint)
        self.timeout = timeout
        self.retries = retries
        if backoff_base is None:
            backoff_base = float(os.environ.get("ARCHIVESYNC_RETRY_BASE_SECONDS", "1.0"))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.guard = guard or QuotaGuard()
        # Other buckets' guards (videos.batchGetStats), for calls that name their bucket.
        self.guards = {self.guard.bucket: self.guard}
        self.stop = stop or threading.Event()
        self._local = threading.local()
        self.calls = 0
        self._calls_lock = threading.Lock()

    def _auth(self) -> dict[str, Any]:
        """How this client's requests authenticate: the API key (subclasses: OAuth)."""
        return {"developerKey": self._key, "http": httplib2.Http(timeout=self.timeout)}

    def service(self):
        """This thread's service object, built on first use (httplib2 is not thread-safe)."""
        svc = getattr(self._local, "service", None)
        if svc is None:
            svc = _CachedResources(
                build(
                    *self.API,
                    client_options={"api_endpoint": self.endpoint},
                    static_discovery=True,
                    cache_discovery=False,
                    **self._auth(),
                )
            )
            self._local.service = svc
        return svc

    def _reset_http(self) -> None:
        # A connection that failed half-way may be unusable; the next attempt starts fresh.
        self._local.service = None

    def _sleep_before_retry(self, attempt: int) -> None:
        delay = min(self.backoff_cap, self.backoff_base * (2**attempt))
        if self.stop.wait(random.uniform(delay / 2, delay)):
            raise Interrupted("stopped while waiting to retry")

    def execute(
        self,
        make_request: Callable[[Any], Any],
        what: str,
        kind: str | None = None,
        *,
        units: int = 1,
        media: bool = False,
        bucket: str | None = None,
    ) -> Any:
        """Run one API request with retries; `what` names it in messages (never the key).

        `kind` is the answer's expected `kind`: a 200 whose body is anything else (cut short,
        an HTML page, empty, a JSON array or string) is retried like a 503. `units` is the
        method's quota cost, taken from the guard of `bucket` (default: the client's guard);
        `media` marks a download whose answer is bytes, not JSON.
        """
        guard = self.guards[bucket] if bucket else self.guard
        last = ""
        unreachable = 0
        for attempt in range(self.retries + 1):
            if self.stop.is_set():
                raise Interrupted("stopped before the next request")
            guard.take(units)
            with self._calls_lock:
                self.calls += 1
            try:
                result = make_request(self.service()).execute(num_retries=0)
            except HttpError as e:
                status = e.resp.status
                reason, message = _error_details(e)
                if reason in QUOTA_REASONS:
                    raise QuotaExhausted(
                        f"the API's daily quota is exhausted ({what}); try again after "
                        "midnight Pacific time"
                    ) from None
                if reason in KEY_REASONS or (status == 400 and "API key" in message):
                    raise ConfigError(
                        f"the API key was rejected ({reason or status}): check YOUTUBE_API_KEY"
                    ) from None
                if status == 429 or status >= 500 or reason in RETRYABLE_REASONS:
                    last = f"HTTP {status} {reason or ''}".strip()
                elif status == 404:
                    raise NotFoundError(
                        f"{what}: not found ({reason or 'notFound'})", status=status, reason=reason
                    ) from None
                else:
                    raise ApiError(
                        f"{what}: HTTP {status} {reason or ''}: {message}".replace("  ", " "),
                        status=status,
                        reason=reason,
                    ) from None
            except (*NETWORK_ERRORS, OSError) as e:
                self._reset_http()
                last = f"{type(e).__name__}"
                if _never_reached(e):
                    # The API charges nothing for a request it never received.
                    guard.refund(units)
                    unreachable += 1
                    if unreachable > min(self.retries, CONNECT_RETRIES):
                        raise TransientApiError(
                            f"cannot reach the API at {self.endpoint} ({_describe(e)}) after "
                            f"{unreachable} attempts: check the endpoint and the network"
                        ) from None
            else:
                if media and isinstance(result, bytes):
                    return result
                if isinstance(result, dict) and (kind is None or result.get("kind") == kind):
                    return result
                last = f"malformed answer: {_describe_body(result)}"
            if attempt < self.retries:
                log.warning("%s failed (%s); retry %d of %d", what, last, attempt + 1, self.retries)
                self._sleep_before_retry(attempt)
        raise TransientApiError(f"{what}: still failing after {self.retries} retries ({last})")


def _describe(e: BaseException) -> str:
    """A short name for a connection error: the OS's words when it has them."""
    return getattr(e, "strerror", None) or type(e).__name__


def _describe_body(body: Any) -> str:
    """What a 200 answer held instead of the expected JSON object, for the log and message."""
    if isinstance(body, dict):
        return f"a JSON object of kind {body.get('kind')!r}"
    if isinstance(body, list):
        return "a JSON array"
    if not body:
        return "an empty body"
    if isinstance(body, str) and body.lstrip().startswith("<"):
        return "HTML, not JSON"
    return "a body that is not a JSON object"


def batches(ids: list[str], size: int = PAGE_SIZE) -> Iterator[list[str]]:
    """`ids` in consecutive slices of at most `size`: 50, as many as one videos.list call takes."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- fetching: generators that read pages and never write ----------------------------------


def fetch_channel(client: YouTubeClient, channel_id: str) -> dict:
    """A channel's channels.list resource; NotFoundError if unknown."""
    response = client.execute(
        lambda s: s.channels().list(
            part="snippet,contentDetails,statistics", id=channel_id, maxResults=1
        ),
        f"channels.list {channel_id}",
        "youtube#channelListResponse",
    )
    items = response.get("items") or []  # an unknown id comes back with no `items` at all
    if not items:
        raise NotFoundError(f"channel {channel_id!r} not found")
    return items[0]


def fetch_channel_id_for_handle(client: YouTubeClient, handle: str) -> str:
    """The id of the channel with this @handle (channels.list forHandle, 1 unit)."""
    response = client.execute(
        lambda s: s.channels().list(part="id", forHandle=handle, maxResults=1),
        f"channels.list forHandle={handle}",
        "youtube#channelListResponse",
    )
    items = response.get("items") or []
    if not items:
        raise NotFoundError(f"no channel has the handle {handle}")
    return items[0]["id"]


@dataclass
class Page:
    items: list[dict]
    total: int | None  # pageInfo.totalResults: an estimate, for progress only


def _paged(client: YouTubeClient, make, what: str, kind: str) -> Iterator[Page]:
    token = None
    while True:
        response = client.execute(lambda s, t=token: make(s, t), what, kind)
        yield Page(
            response.get("items") or [], (response.get("pageInfo") or {}).get("totalResults")
        )
        token = response.get("nextPageToken")
        if not token:
            return


def fetch_playlist_item_pages(
    client: YouTubeClient, playlist_id: str, part: str = "snippet,contentDetails,status"
) -> Iterator[Page]:
    """The pages of a playlist's items."""
    return _paged(
        client,
        lambda s, t: s.playlistItems().list(
            part=part, playlistId=playlist_id, maxResults=PAGE_SIZE, pageToken=t
        ),
        f"playlistItems.list {playlist_id}",
        "youtube#playlistItemListResponse",
    )


def fetch_channel_playlist_pages(client: YouTubeClient, channel_id: str) -> Iterator[Page]:
    """The pages of a channel's playlists."""
    return _paged(
        client,
        lambda s, t: s.playlists().list(
            part="snippet,contentDetails,status",
            channelId=channel_id,
            maxResults=PAGE_SIZE,
            pageToken=t,
        ),
        f"playlists.list {channel_id}",
        "youtube#playlistListResponse",
    )


def fetch_playlists_by_id(client: YouTubeClient, playlist_ids: list[str]) -> list[dict]:
    """The playlists.list resources of up to 50 playlist ids."""
    response = client.execute(
        lambda s: s.playlists().list(
            part="snippet,contentDetails,status",
            id=",".join(playlist_ids),
            maxResults=PAGE_SIZE,
        ),
        "playlists.list",
        "youtube#playlistListResponse",
    )
    return response.get("items") or []


def fetch_videos(client: YouTubeClient, video_ids: list[str]) -> list[dict]:
    """One videos.list call for up to 50 ids; ids it leaves out are deleted or private."""
    if len(video_ids) > PAGE_SIZE:
        raise ValueError("videos.list takes at most 50 ids")
    if not video_ids:
        return []
    response = client.execute(
        lambda s: s.videos().list(part=VIDEO_PARTS, id=",".join(video_ids)),
        f"videos.list ({len(video_ids)} ids)",
        "youtube#videoListResponse",
    )
    return response.get("items") or []
