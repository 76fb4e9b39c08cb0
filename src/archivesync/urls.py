"""YouTube URLs: the links the index writes, and the videos and channels people paste.

Pure functions, no I/O: the CLI, the console and the schedules all read what a person typed
through these (sync/targets.py makes a resync target of it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

# --------------------------------------------------------------------------------------------
# Links and pasted videos
# --------------------------------------------------------------------------------------------


def video_url(video_id: str) -> str:
    """``https://www.youtube.com/watch?v=ID``."""
    return f"https://www.youtube.com/watch?v={quote(video_id, safe='')}"


def chapter_url(video_id: str, start_seconds: int) -> str:
    """``https://www.youtube.com/watch?v=ID&t=123s``: the video, playing from that second."""
    if start_seconds < 0:
        raise ValueError(f"a start time cannot be negative: {start_seconds}")
    return f"{video_url(video_id)}&t={int(start_seconds)}s"


_VIDEO_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = re.compile(r"^(?:(?:www|m|music)\.)?youtube(?:-nocookie)?\.com$")
# Path forms that carry the id as the segment after them: /shorts/ID, /live/ID, /embed/ID ...
_ID_PATH_PREFIXES = ("shorts", "live", "embed", "v", "e")


_BARE_ID_RE = re.compile(r"[A-Za-z0-9_-]+")


def _video_id_from_ref(ref: str) -> str | None:
    # A bare word is taken as an id as given: the API is the judge of whether it exists.
    if _BARE_ID_RE.fullmatch(ref):
        return ref
    url = ref if "://" in ref else f"https://{ref}"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    candidate = None
    if host == "youtu.be" and segments:
        candidate = segments[0]
    elif _YOUTUBE_HOSTS.match(host):
        if segments[:1] == ["watch"] or not segments:
            candidate = (parse_qs(parts.query).get("v") or [None])[0]
        elif len(segments) >= 2 and segments[0] in _ID_PATH_PREFIXES:
            candidate = segments[1]
    return candidate if candidate and _VIDEO_ID_RE.fullmatch(candidate) else None


class NotAVideo(ValueError):
    """A pasted item that is neither a video id nor a YouTube video URL."""

    def __init__(self, ref: str):
        self.ref = ref
        super().__init__(f"not a YouTube video id or URL: {ref!r}")


def video_ids_from_text(text: str) -> list[str]:
    """Video ids from ids and YouTube URLs separated by spaces, commas or lines, in order,
    without repeats. A bare word of id characters is an id; a URL may be ``watch?v=``,
    ``youtu.be/``, ``shorts/``, ``live/`` or ``embed/``, with or without scheme and with any
    ``&t=`` or ``?si=`` tail. NotAVideo names the first item that is neither.
    """
    ids = []
    for ref in re.split(r"[\s,、]+", text.strip()):
        if not ref:
            continue
        video_id = _video_id_from_ref(ref)
        if video_id is None:
            raise NotAVideo(ref)
        ids.append(video_id)
    return list(dict.fromkeys(ids))


_PLAYLIST_ID_RE = re.compile(r"[A-Za-z0-9_-]{2,64}")


def playlist_id_from_text(text: str | None) -> str | None:
    """A playlist id, or the ``list=`` of a YouTube URL (playlist or watch page); None else."""
    value = (text or "").strip()
    if "/" in value or "?" in value:
        parts = urlsplit(value if "://" in value else f"https://{value}")
        value = (parse_qs(parts.query).get("list") or [""])[0]
    return value if _PLAYLIST_ID_RE.fullmatch(value) else None


# --------------------------------------------------------------------------------------------
# Channels as people paste them
# --------------------------------------------------------------------------------------------

_CHANNEL_ID_RE = re.compile(r"UC[0-9A-Za-z_-]{22}")
# YouTube handles: 3-30 letters (any script), digits, "_", "-" and ".".
_HANDLE_RE = re.compile(r"@([\w.-]{3,30})")
_YOUTUBE_URL_RE = re.compile(
    r"(?:https?://)?(?:www\.|m\.)?youtube\.com(/[^?#]*)(?:[?#].*)?", re.IGNORECASE
)
CHANNEL_FORMS = (
    "a channel id (UC and 22 more characters), a channel URL "
    "(https://www.youtube.com/channel/UC...), or a handle (@name or https://www.youtube.com/@name)"
)


@dataclass(frozen=True)
class ChannelRef:
    """A channel as given: its id, or a handle still to be resolved through the API."""

    channel_id: str | None = None
    handle: str | None = None

    def __str__(self) -> str:
        return self.channel_id or self.handle or ""


def parse_channel(text: str | None) -> ChannelRef:
    """A channel id, channel URL, @handle or handle URL; ValueError for anything else."""
    value = unquote((text or "").strip())
    if not value:
        raise ValueError(f"a channel is needed: give {CHANNEL_FORMS}")
    if _CHANNEL_ID_RE.fullmatch(value):
        return ChannelRef(channel_id=value)
    if _HANDLE_RE.fullmatch(value):
        return ChannelRef(handle=value)
    url = _YOUTUBE_URL_RE.fullmatch(value)
    if url:
        parts = [p for p in url[1].split("/") if p]
        if len(parts) >= 2 and parts[0] == "channel" and _CHANNEL_ID_RE.fullmatch(parts[1]):
            return ChannelRef(channel_id=parts[1])
        if parts and _HANDLE_RE.fullmatch(parts[0]):
            return ChannelRef(handle=parts[0])
    raise ValueError(f"{text!r} is not a channel: give {CHANNEL_FORMS}")
