"""What a resync request asks for: the target a person pasted, and its words and columns.

One rule for the CLI (`archivesync resync`) and the console's form.
"""

from __future__ import annotations

from archivesync.sync.run import Target
from archivesync.urls import (
    NotAVideo,
    parse_channel,
    playlist_id_from_text,
    video_ids_from_text,
)


def describe(target_kind: str, target_id: str, mode: str) -> str:
    """A request's target in words: `full sync of channel UC...`."""
    if target_kind == "channel":
        return f"{mode} sync of channel {target_id}"
    if target_kind == "playlist":
        return f"resync of playlist {target_id}"
    return f"resync of video(s) {target_id}"


def request_fields(target: Target) -> dict:
    """The target_kind, target_id and mode columns of a request for `target`."""
    if target.kind == "channel":
        mode = "full" if target.full else "incremental"
    elif target.kind == "playlist":
        mode = "playlist"
    else:
        mode = "videos"
    return {"target_kind": target.kind, "target_id": ",".join(target.ids), "mode": mode}


class TargetError(ValueError):
    """What a person gave names no resync target: `reason` says why (a key of
    TARGET_PROBLEMS), `item` the part that was wrong."""

    def __init__(self, reason: str, item: str = ""):
        self.reason, self.item = reason, item
        super().__init__(TARGET_PROBLEMS[reason].format(item=item))


TARGET_PROBLEMS = {
    "kind": "say what to resync: a channel, a playlist or videos",
    "full": "a full sync goes with a channel only",
    "channel": "not a channel id (UC and 22 more characters) or channel URL: {item!r}",
    "handle": "{item} is a handle: look it up first, or give the channel id (UC...)",
    "playlist": "not a playlist id or playlist URL: {item!r}",
    "video": "not a YouTube video id or URL: {item!r}",
    "no_video": "give a video id or YouTube URL",
}


def resync_target(kind: str, text: str, *, full: bool = False) -> Target:
    """The target of a resync from what a person pasted (the CLI's and the console's rule).

    `kind` is channel, playlist or videos; `text` a channel id or URL, a playlist id or URL,
    or video ids and URLs separated by spaces, commas or lines. TargetError if unclear.
    """
    if kind not in ("channel", "playlist", "videos"):
        raise TargetError("kind")
    if full and kind != "channel":
        raise TargetError("full")
    if kind == "channel":
        try:
            ref = parse_channel(text)
        except ValueError:
            raise TargetError("channel", (text or "").strip()) from None
        if ref.handle:
            raise TargetError("handle", ref.handle)
        return Target("channel", [ref.channel_id], full=full)
    if kind == "playlist":
        playlist_id = playlist_id_from_text(text)
        if playlist_id is None:
            raise TargetError("playlist", (text or "").strip())
        return Target("playlist", [playlist_id])
    try:
        ids = video_ids_from_text(text or "")
    except NotAVideo as e:
        raise TargetError("video", e.ref) from None
    if not ids:
        raise TargetError("no_video")
    return Target("videos", ids)


def target_of(request: dict) -> Target:
    """The sync target a request row asks for."""
    kind, ids = request["target_kind"], request["target_id"].split(",")
    return Target(kind, ids, full=kind == "channel" and request["mode"] == "full")
