"""The four list methods, as pure functions of a dataset and the query parameters.

Behaviour copied from the real API (https://developers.google.com/youtube/v3/docs, and
docs/emulator.md):

* ``part`` is required and validated; ``id``, ``kind`` and ``etag`` are always returned.
* ``maxResults``: default 5, range 0..50 (out of range: 400 ``invalidParameter``).
  ``videos.list`` with ``id`` ignores ``maxResults`` and ``pageToken`` (as the real API does:
  the ids decide the answer); more than 50 ids is 400 ``invalidFilters``.
* Exactly one filter per call (``id``, ``forHandle``...); none is 400
  ``missingRequiredParameter``, two are 400 ``incompatibleParameters``. Filters that need
  OAuth (``mine``, ``myRating``...) answer 401. ``chart=mostPopular`` answers an empty list
  (nothing in a test channel is trending) and ``categoryId`` likewise.
* Parts only the owner may read (``fileDetails``, ``auditDetails``...) are left out silently.
* Unknown query parameters are 400, as Google's frontend rejects them.
* Page tokens are opaque protobuf-style tokens like the real ``CAUQAA``; a token that does
  not decode is 400 ``invalidPageToken``. They carry an offset, so a list that changes
  between pages shifts under the reader, as the real one does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import errors
from .dataset import PRIVATE, PUBLIC, UNLISTED, Dataset, Entry, parse_iso

ENDPOINTS = ("channels", "playlists", "playlistItems", "videos")

_KINDS = {
    "channels": ("youtube#channelListResponse", "youtube#channel"),
    "playlists": ("youtube#playlistListResponse", "youtube#playlist"),
    "playlistItems": ("youtube#playlistItemListResponse", "youtube#playlistItem"),
    "videos": ("youtube#videoListResponse", "youtube#video"),
}

PARTS = {
    "channels": {
        "auditDetails", "brandingSettings", "contentDetails", "contentOwnerDetails", "id",
        "localizations", "snippet", "statistics", "status", "topicDetails",
    },
    "playlists": {"contentDetails", "id", "localizations", "player", "snippet", "status"},
    "playlistItems": {"contentDetails", "id", "snippet", "status"},
    "videos": {
        "contentDetails", "fileDetails", "id", "liveStreamingDetails", "localizations",
        "paidProductPlacementDetails", "player", "processingDetails", "recordingDetails",
        "snippet", "statistics", "status", "suggestions", "topicDetails",
    },
}  # fmt: skip

_FILTERS = {
    "channels": ("forUsername", "managedByMe", "categoryId", "mine", "mySubscribers",
                 "forHandle", "id"),
    "playlists": ("channelId", "id", "mine"),
    "playlistItems": ("id", "playlistId"),
    "videos": ("chart", "id", "myRating"),
}  # fmt: skip
_OAUTH_FILTERS = {"mine", "managedByMe", "mySubscribers", "myRating"}

_STANDARD_PARAMS = {
    "$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token",
    "prettyPrint", "quotaUser", "upload_protocol", "uploadType", "userIp",
}  # fmt: skip
_METHOD_PARAMS = {
    "channels": {"hl", "maxResults", "onBehalfOfContentOwner", "pageToken", "part",
                 *_FILTERS["channels"]},
    "playlists": {"hl", "maxResults", "onBehalfOfContentOwner", "onBehalfOfContentOwnerChannel",
                  "pageToken", "part", *_FILTERS["playlists"]},
    "playlistItems": {"maxResults", "onBehalfOfContentOwner", "pageToken", "part", "videoId",
                      *_FILTERS["playlistItems"]},
    "videos": {"hl", "locale", "maxHeight", "maxResults", "maxWidth", "onBehalfOfContentOwner",
               "pageToken", "part", "regionCode", "videoCategoryId", *_FILTERS["videos"]},
}  # fmt: skip

MAX_IDS = 50
_PLAYER_ALLOW = (
    "accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; "
    "web-share"
)


# ---------------------------------------------------------------------------- helpers


def etag(value: Any) -> str:
    """A 27-character opaque tag like the real ones, stable for equal content."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha1(blob.encode()).digest()).decode().rstrip("=")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_page_token(offset: int, backwards: bool = False) -> str:
    """A page token in the real API's shape for a list offset."""
    raw = b"\x08" + _varint(offset) + b"\x10" + (b"\x01" if backwards else b"\x00")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[int, bool]:
    """(offset, backwards); ValueError for anything this emulator did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("undecodable") from exc
    if len(raw) < 4 or raw[0] != 0x08:
        raise ValueError("bad token")
    offset, shift, pos = 0, 0, 1
    while True:
        if pos >= len(raw) or shift > 28:
            raise ValueError("bad varint")
        byte = raw[pos]
        pos += 1
        offset |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    if raw[pos:] not in (b"\x10\x00", b"\x10\x01"):
        raise ValueError("bad token tail")
    return offset, raw[pos + 1] == 1


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _select(resource: Mapping[str, Any], parts: Sequence[str], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "etag": "", "id": resource["id"]}
    for part in parts:
        if part != "id" and part in resource:
            out[part] = resource[part]
    out["etag"] = etag(out)
    return out


class _Request:
    """Validated common parameters of one list call."""

    def __init__(self, endpoint: str, params: Mapping[str, str]):
        self.endpoint = endpoint
        self.params = params
        unknown = sorted(set(params) - _STANDARD_PARAMS - _METHOD_PARAMS[endpoint])
        if unknown:
            name = unknown[0]
            raise errors.error(
                400,
                "badRequest",
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                f"parameter. Field '{name}' could not be found in request message.",
            )
        raw_parts = params.get("part", "")
        self.parts = _split(raw_parts)
        if not self.parts:
            raise errors.error(400, "required", "Required parameter: part", location="part")
        for part in self.parts:
            if part not in PARTS[endpoint]:
                raise errors.error(
                    400, "unknownPart", f"'{part}'", domain="youtube.part", location="part"
                )
        self.max_results = self._max_results(params.get("maxResults"))
        chosen = [f for f in _FILTERS[endpoint] if params.get(f, "") != ""]
        if not chosen:
            raise errors.error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: " + ", ".join(_FILTERS[endpoint]),
                domain="youtube.parameter",
                location="parameters.",
                location_type="other",
            )
        if len(chosen) > 1:
            raise errors.error(
                400,
                "incompatibleParameters",
                "Incompatible parameters specified in the request: " + ", ".join(chosen),
                domain="youtube.parameter",
                location="parameters.",
                location_type="other",
            )
        self.filter = chosen[0]
        self.value = params[self.filter]
        if self.filter in _OAUTH_FILTERS:
            raise errors.login_required()

    @staticmethod
    def _max_results(raw: str | None) -> int:
        if raw is None:
            return 5
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if not 0 <= value <= 50:
            message = f"Invalid value '{raw}'. Values must be within the range: [0, 50]"
            raise errors.error(400, "invalidParameter", message, location="maxResults")
        return value

    def ids(self) -> list[str]:
        ids = list(dict.fromkeys(_split(self.value)))
        if len(ids) > MAX_IDS:
            raise errors.error(
                400,
                "invalidFilters",
                "The request specifies an invalid filter parameter.",
                domain="youtube.parameter",
                location="parameters.",
                location_type="other",
            )
        return ids

    def page(self, total: int) -> tuple[int, int, dict[str, Any]]:
        """(start, stop, token members) for a list of ``total`` items."""
        start = 0
        token = self.params.get("pageToken")
        if token:
            try:
                offset, backwards = decode_page_token(token)
            except ValueError:
                raise errors.error(
                    400,
                    "invalidPageToken",
                    "The request specifies an invalid page token.",
                    domain="youtube.parameter",
                    location="pageToken",
                ) from None
            start = max(0, offset - self.max_results) if backwards else offset
        stop = min(total, start + self.max_results)
        members: dict[str, Any] = {}
        if self.max_results and stop < total:
            members["nextPageToken"] = encode_page_token(stop)
        if start > 0:
            members["prevPageToken"] = encode_page_token(start, backwards=True)
        return start, stop, members


def _response(
    endpoint: str,
    items: list[dict[str, Any]] | None,
    total: int,
    per_page: int,
    tokens: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": _KINDS[endpoint][0], "etag": ""}
    body.update(tokens or {})
    body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
    # Item etags already cover item content; hashing them avoids serializing the page twice.
    body["etag"] = etag([body, [i["etag"] for i in items or ()]])
    if items is not None:
        body["items"] = items
    return body


# ---------------------------------------------------------------------------- resource views


def channel_view(ds: Dataset, channel_id: str) -> dict[str, Any]:
    """A channel resource with its counts as the API reports them."""
    res = ds.channel(channel_id)
    assert res is not None
    stats = dict(res.get("statistics", {}))
    stats["videoCount"] = str(len(ds.uploads(channel_id)))
    return {**res, "statistics": stats}


def playlist_view(ds: Dataset, playlist_id: str) -> dict[str, Any]:
    """A playlist resource with its player and item count."""
    pl = ds.playlist(playlist_id)
    assert pl is not None
    embed = (
        f'<iframe width="640" height="360" src="http://www.youtube.com/embed/videoseries?list='
        f'{playlist_id}" frameborder="0" allow="{_PLAYER_ALLOW}" '
        'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>'
    )
    return {
        **pl.resource,
        "contentDetails": {"itemCount": len(pl.entries)},
        "player": {"embedHtml": embed},
    }


def video_view(video: Mapping[str, Any]) -> dict[str, Any]:
    """A video resource with its player embed."""
    video_id = video["id"]
    embed = (
        f'<iframe width="480" height="270" src="//www.youtube.com/embed/{video_id}" '
        f'frameborder="0" allow="{_PLAYER_ALLOW}" '
        'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>'
    )
    extra: dict[str, Any] = {"player": {"embedHtml": embed}}
    if "paidProductPlacementDetails" not in video:
        extra["paidProductPlacementDetails"] = {"hasPaidProductPlacement": False}
    return {**video, **extra}


def _item_id(playlist_id: str, salt: str) -> str:
    digest = hashlib.sha1(f"{playlist_id}:{salt}".encode()).hexdigest()[:16].upper()
    return base64.b64encode(f"{playlist_id}.{digest}".encode()).decode()


def playlist_item_view(
    ds: Dataset,
    playlist_id: str,
    owner: Mapping[str, Any],
    position: int,
    video_id: str,
    item_salt: str,
    added_at: str | None,
    forced_state: str | None,
) -> dict[str, Any]:
    """One playlistItems.list resource, deleted and private entries included."""
    state = forced_state or ds.video_state(video_id)
    snippet: dict[str, Any] = {
        "publishedAt": "",
        "channelId": owner["id"],
        "title": "",
        "description": "",
        "thumbnails": {},
        "channelTitle": owner.get("snippet", {}).get("title", ""),
        "playlistId": playlist_id,
        "position": position,
        "resourceId": {"kind": "youtube#video", "videoId": video_id},
    }
    content: dict[str, Any] = {"videoId": video_id}
    video = ds.video(video_id) if state in (PUBLIC, UNLISTED) else None
    if video is None:
        snippet["title"] = "Private video" if state == PRIVATE else "Deleted video"
        snippet["description"] = (
            "This video is private." if state == PRIVATE else "This video is unavailable."
        )
        # Deleted videos report an unspecified privacy status (not in the discovery enum).
        privacy = PRIVATE if state == PRIVATE else "privacyStatusUnspecified"
        snippet["publishedAt"] = added_at or owner_published(ds, playlist_id)
    else:
        vs = video["snippet"]
        snippet["title"] = vs.get("title", "")
        snippet["description"] = vs.get("description", "")
        snippet["thumbnails"] = vs.get("thumbnails", {})
        snippet["videoOwnerChannelTitle"] = vs.get("channelTitle", "")
        snippet["videoOwnerChannelId"] = vs.get("channelId", "")
        content["videoPublishedAt"] = vs["publishedAt"]
        privacy = state
        if added_at is None:
            added_at = max(vs["publishedAt"], owner_published(ds, playlist_id), key=parse_iso)
        snippet["publishedAt"] = added_at
    return {
        "kind": "youtube#playlistItem",
        "id": _item_id(playlist_id, item_salt),
        "snippet": snippet,
        "contentDetails": content,
        "status": {"privacyStatus": privacy},
    }


def owner_published(ds: Dataset, playlist_id: str) -> str:
    """When the playlist (or the uploads playlist's channel) was published."""
    pl = ds.playlist(playlist_id)
    if pl is not None:
        return pl.resource["snippet"].get("publishedAt", "1970-01-01T00:00:00Z")
    channel = ds.channel(ds.channel_for_uploads(playlist_id) or "")
    return (channel or {}).get("snippet", {}).get("publishedAt", "1970-01-01T00:00:00Z")


# ---------------------------------------------------------------------------- methods


def _channels(ds: Dataset, req: _Request) -> dict[str, Any]:
    kind = _KINDS["channels"][1]
    if req.filter == "id":
        found = [c for c in req.ids() if ds.channel(c) is not None]
    elif req.filter in ("forHandle", "forUsername"):
        # Legacy usernames are matched against the handle: the dataset has no other name.
        one = ds.channel_by_handle(req.value)
        found = [one] if one else []
    else:  # categoryId: guide categories are gone; nothing matches
        found = []
    items = [_select(channel_view(ds, c), req.parts, kind) for c in found]
    # An empty channels answer has no "items" member at all.
    return _response("channels", items or None, len(items), req.max_results)


def _playlists(ds: Dataset, req: _Request) -> dict[str, Any]:
    kind = _KINDS["playlists"][1]
    if req.filter == "id":
        found = [p for p in req.ids() if ds.playlist(p) is not None]
        items = [_select(playlist_view(ds, p), req.parts, kind) for p in found]
        return _response("playlists", items, len(items), req.max_results)
    ids = ds.playlist_ids(req.value)
    start, stop, tokens = req.page(len(ids))
    items = [_select(playlist_view(ds, p), req.parts, kind) for p in ids[start:stop]]
    return _response("playlists", items, len(ids), req.max_results, tokens)


def _playlist_not_found() -> errors.ApiError:
    return errors.error(
        404,
        "playlistNotFound",
        "The playlist identified with the request's <code>playlistId</code> parameter cannot "
        "be found.",
        domain="youtube.playlistItem",
        location="playlistId",
    )


_Row = tuple[int, str, str, str | None, str | None]  # position, videoId, id salt, added, state


def playlist_rows(
    ds: Dataset, playlist_id: str, uploads_cap: int | None
) -> tuple[Mapping[str, Any], int, Callable[[int], _Row]] | None:
    """(owner channel, length, row at position) of a playlist, or None if unknown."""
    owner_id = ds.channel_for_uploads(playlist_id)
    if owner_id is not None:
        uploads = ds.uploads(owner_id)
        if uploads_cap is not None:
            uploads = uploads[:uploads_cap]
        owner = ds.channel(owner_id) or {"id": owner_id}

        def upload_row(pos: int) -> _Row:
            return pos, uploads[pos], uploads[pos], None, None

        return owner, len(uploads), upload_row
    pl = ds.playlist(playlist_id)
    if pl is None:
        return None
    entries: list[Entry] = pl.entries
    snippet = pl.resource["snippet"]
    owner = ds.channel(snippet["channelId"]) or {
        "id": snippet["channelId"],
        "snippet": {"title": snippet.get("channelTitle", "")},
    }

    def entry_row(pos: int) -> _Row:
        e = entries[pos]
        return pos, e.video_id, str(e.serial), e.added_at, e.state

    return owner, len(entries), entry_row


def _playlist_items(ds: Dataset, req: _Request, uploads_cap: int | None) -> dict[str, Any]:
    kind = _KINDS["playlistItems"][1]

    def view(playlist_id: str, owner: Mapping[str, Any], row: _Row) -> dict[str, Any]:
        pos, vid, salt, added, state = row
        item = playlist_item_view(ds, playlist_id, owner, pos, vid, salt, added, state)
        return _select(item, req.parts, kind)

    if req.filter == "id":
        items = []
        for item_id in req.ids():
            found = _find_item(ds, item_id, uploads_cap)
            if found is not None:
                items.append(view(*found))
        return _response("playlistItems", items, len(items), req.max_results)
    playlist_id = req.value
    rows = playlist_rows(ds, playlist_id, uploads_cap)
    if rows is None:
        raise _playlist_not_found()
    owner, length, row = rows
    positions: Sequence[int] = range(length)
    wanted = req.params.get("videoId")
    if wanted:
        positions = [p for p in positions if row(p)[1] == wanted]
    start, stop, tokens = req.page(len(positions))
    items = [view(playlist_id, owner, row(p)) for p in positions[start:stop]]
    return _response("playlistItems", items, len(positions), req.max_results, tokens)


def _find_item(
    ds: Dataset, item_id: str, uploads_cap: int | None
) -> tuple[str, Mapping[str, Any], _Row] | None:
    """Item ids embed their playlist id (as real ones do), so only one playlist is scanned."""
    try:
        playlist_id = base64.b64decode(item_id, validate=True).decode().rpartition(".")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None
    rows = playlist_rows(ds, playlist_id, uploads_cap)
    if rows is None:
        return None
    owner, length, row = rows
    for pos in range(length):
        r = row(pos)
        if _item_id(playlist_id, r[2]) == item_id:
            return playlist_id, owner, r
    return None


def _videos(ds: Dataset, req: _Request) -> dict[str, Any]:
    kind = _KINDS["videos"][1]
    if req.filter == "chart":
        return _response("videos", [], 0, req.max_results)
    items = []
    for vid in req.ids():
        if ds.video_state(vid) in (PUBLIC, UNLISTED):
            video = ds.video(vid)
            assert video is not None
            items.append(_select(video_view(video), req.parts, kind))
    return _response("videos", items, len(items), len(items))


_HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "channels": _channels,
    "playlists": _playlists,
    "videos": _videos,
}


def list_response(
    ds: Dataset, endpoint: str, params: Mapping[str, str], *, uploads_cap: int | None = None
) -> dict[str, Any]:
    """The JSON body of a successful list call; raises ``errors.ApiError`` otherwise."""
    req = _Request(endpoint, params)
    with ds.lock:
        if endpoint == "playlistItems":
            return _playlist_items(ds, req, uploads_cap)
        return _HANDLERS[endpoint](ds, req)
