"""videos.batchGetStats (GET /youtube/v3/videos:batchGetStats) as the discovery document says.

The bundled discovery document (`youtube.videos.batchGetStats`) describes: repeated `id`
(at most 50) and repeated `part` query parameters, `onBehalfOfContentOwner`; a
`youtube#batchGetStatsResponse` whose `items` are `youtube#videoStats` resources carrying
`statistics` (view, like and comment counts as int64 strings), `contentDetails.duration` as a
`google.protobuf.Duration` (`"3723s"`, not ISO 8601) and `snippet.publishTime` as a protobuf
Timestamp. It is "intentionally not atomic": ids that are invalid or not visible are left out.
It is charged to its own quota bucket (server.py keeps that ledger).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from . import errors
from .api import etag
from .dataset import PUBLIC, UNLISTED, Dataset

ENDPOINT = "videos:batchGetStats"
PATH = f"/youtube/v3/{ENDPOINT}"
RESPONSE_KIND = "youtube#batchGetStatsResponse"
ITEM_KIND = "youtube#videoStats"
PARTS = ("contentDetails", "snippet", "statistics")
MAX_IDS = 50
_PARAMS = {"id", "part", "onBehalfOfContentOwner"}
_STANDARD = {"$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token"}
_STANDARD |= {"prettyPrint", "quotaUser", "upload_protocol", "uploadType", "userIp"}
_ISO = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def protobuf_duration(iso: str | None) -> str | None:
    """An ISO 8601 duration (`PT1H2M3S`) as protobuf JSON (`"3723s"`); None if unknown."""
    match = _ISO.match(iso or "")
    if not match or iso in ("P0D", "PT0S"):
        return None
    days, hours, minutes, seconds = match.groups()
    whole = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
    total = whole + float(seconds or 0)
    return f"{int(total)}s" if total == int(total) else f"{total:.3f}s"


def _values(query: Iterable[tuple[str, str]], name: str) -> list[str]:
    # Repeated parameters (id=a&id=b), and comma lists inside one, both count.
    found = []
    for key, value in query:
        if key == name:
            found.extend(v.strip() for v in value.split(",") if v.strip())
    return found


def _view(ds: Dataset, video_id: str, parts: list[str]) -> dict[str, Any]:
    video = ds.video(video_id)
    assert video is not None
    item: dict[str, Any] = {"kind": ITEM_KIND, "etag": "", "id": video_id}
    if "statistics" in parts:
        item["statistics"] = {
            k: v
            for k, v in (video.get("statistics") or {}).items()
            if k in ("viewCount", "likeCount", "commentCount")
        }
    if "contentDetails" in parts:
        duration = protobuf_duration((video.get("contentDetails") or {}).get("duration"))
        item["contentDetails"] = {"duration": duration} if duration else {}
    if "snippet" in parts:
        item["snippet"] = {"publishTime": video["snippet"]["publishedAt"]}
    item["etag"] = etag(item)
    return item


def batch_get_stats(ds: Dataset, query: list[tuple[str, str]]) -> dict[str, Any]:
    """The response body for one call; raises `errors.ApiError` for a bad request."""
    unknown = sorted({k for k, _ in query} - _PARAMS - _STANDARD)
    if unknown:
        raise errors.error(
            400,
            "badRequest",
            f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot bind query '
            f"parameter. Field '{unknown[0]}' could not be found in request message.",
        )
    parts = _values(query, "part")
    if not parts:
        raise errors.error(400, "required", "Required parameter: part", location="part")
    for part in parts:
        if part not in PARTS:
            raise errors.error(
                400, "unknownPart", f"'{part}'", domain="youtube.part", location="part"
            )
    ids = list(dict.fromkeys(_values(query, "id")))
    if not ids:
        raise errors.error(400, "required", "Required parameter: id", location="id")
    if len(ids) > MAX_IDS:
        raise errors.error(
            400,
            "invalidArgument",
            f"The number of IDs specified cannot exceed {MAX_IDS}.",
            location="id",
        )
    with ds.lock:
        items = [_view(ds, v, parts) for v in ids if ds.video_state(v) in (PUBLIC, UNLISTED)]
    body: dict[str, Any] = {"kind": RESPONSE_KIND, "etag": "", "items": items}
    body["etag"] = etag([RESPONSE_KIND, [i["etag"] for i in items]])
    return body


def not_enabled() -> errors.ApiError:
    """403 as for a project that has not enabled the method (or lost access to it)."""
    return errors.error(
        403,
        "accessNotConfigured",
        "videos.batchGetStats has not been enabled for this project, or it is disabled.",
        domain="usageLimits",
    )


def gone() -> errors.ApiError:
    """404 as for a method the API no longer has."""
    return errors.error(404, "notFound", "Method not found.")


def quota_exceeded() -> errors.ApiError:
    """403 quotaExceeded for the method's own bucket."""
    err = errors.quota_exceeded()
    err.body["error"]["message"] = err.body["error"]["errors"][0]["message"] = (
        "The request cannot be completed because you have exceeded your quota for "
        "videos.batchGetStats."
    )
    return err
