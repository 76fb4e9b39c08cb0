"""Caption tracks: ``captions.list`` and ``captions.download`` as pure functions of the tracks.

Tracks are data (``data/sample_transcripts.json``): the caption resource's snippet fields plus
``format`` (what the uploader sent, answered when ``tfmt`` is absent) and ``cues``
(``[start_seconds, end_seconds, text]``). A download renders the cues in the asked format;
an ``ASR`` track renders as YouTube writes automatic captions in WebVTT: every cue repeats the
line before it, new words carry inline timings (``<00:00:01.000><c>word</c>``), and a 10 ms
cue holds each finished line (as YouTube serves them; see docs/emulator.md).

Rules copied from the real API: both methods need OAuth with ``youtube.force-ssl`` (or
``youtubepartner``); list costs 50 units and download 200; a video or track of another
channel is 403 ``forbidden``; an unknown video is 404 ``videoNotFound``, an unknown track 404
``captionNotFound``. ``snippet.trackKind`` is spelled ``ASR`` in capitals, as the discovery
document's enum has it. ``refuse_asr`` makes downloads of ``ASR`` tracks 403, since whether
the owner may download them is not documented.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from . import errors
from .api import etag

LIST_COST = 50
DOWNLOAD_COST = 200
FORMATS = ("vtt", "srt", "sbv", "ttml")
_CONTENT_TYPES = {
    "vtt": "text/vtt; charset=UTF-8",
    "srt": "application/x-subrip; charset=UTF-8",
    "sbv": "text/plain; charset=UTF-8",
    "ttml": "application/ttml+xml; charset=UTF-8",
}
_SNIPPET_FIELDS = (
    "videoId", "lastUpdated", "trackKind", "language", "name", "audioTrackType", "isCC",
    "isLarge", "isEasyReader", "isDraft", "isAutoSynced", "status",
)  # fmt: skip
_LIST_PARAMS = {"part", "videoId", "id", "onBehalfOf", "onBehalfOfContentOwner"}
_DOWNLOAD_PARAMS = {"tfmt", "tlang", "onBehalfOf", "onBehalfOfContentOwner"}
_STANDARD_PARAMS = {
    "$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token",
    "prettyPrint", "quotaUser", "upload_protocol", "uploadType", "userIp",
}  # fmt: skip


def track_id(video_id: str, language: str, kind: str) -> str:
    """A stable id shaped like the real ones (``AUieDa`` and 38 more characters)."""
    digest = hashlib.sha256(f"{video_id}/{language}/{kind}".encode()).hexdigest()
    return "AUieDa" + digest[:38]


class Captions:
    """Caption tracks by id and by video; thread-safe; editable by tests."""

    def __init__(self, tracks: Iterable[Mapping[str, Any]] = (), note: str = ""):
        self.note = note
        self.refuse_asr = False
        self._lock = threading.Lock()
        self._tracks: dict[str, dict[str, Any]] = {}
        for track in tracks:
            self.add_track(track)

    def add_track(self, track: Mapping[str, Any]) -> str:
        """Add (or replace) a track; missing snippet fields get the API's defaults."""
        res = copy.deepcopy(dict(track))
        for name in ("videoId", "language", "cues"):
            if name not in res:
                raise ValueError(f"caption track without {name}: {str(track)[:80]}")
        res.setdefault("trackKind", "standard")
        res.setdefault("id", track_id(res["videoId"], res["language"], res["trackKind"]))
        res.setdefault("name", "")
        res.setdefault("format", "vtt")
        res.setdefault("status", "serving")
        res.setdefault("isDraft", False)
        res.setdefault("isAutoSynced", False)
        res.setdefault("lastUpdated", "2024-01-01T00:00:00.000Z")
        res.setdefault("audioTrackType", "unknown")
        for flag in ("isCC", "isLarge", "isEasyReader"):
            res.setdefault(flag, False)
        with self._lock:
            self._tracks[res["id"]] = res
        return res["id"]

    def update_track(self, track_id: str, **changes: Any) -> None:
        """Change a track's fields (``cues``, ``lastUpdated``...), as an edit in Studio would."""
        with self._lock:
            self._tracks[track_id].update(copy.deepcopy(changes))

    def remove_track(self, track_id: str) -> None:
        """Delete a track."""
        with self._lock:
            self._tracks.pop(track_id, None)

    def track(self, track_id: str) -> dict[str, Any] | None:
        """A copy of a track, or None."""
        with self._lock:
            found = self._tracks.get(track_id)
            return copy.deepcopy(found) if found else None

    def for_video(self, video_id: str) -> list[dict[str, Any]]:
        """Copies of a video's tracks."""
        with self._lock:
            return [copy.deepcopy(t) for t in self._tracks.values() if t["videoId"] == video_id]

    def video_ids(self) -> list[str]:
        """The ids of the videos that have tracks."""
        with self._lock:
            return sorted({t["videoId"] for t in self._tracks.values()})


def load_captions(path: str | Path) -> Captions:
    """Read caption tracks from a JSON file (``{"_note", "tracks": [...]}``)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    return Captions(data.get("tracks", []), note=data.get("_note", ""))


def default_captions_path() -> Path:
    """``data/sample_transcripts.json`` of the source checkout."""
    return Path(__file__).resolve().parents[3] / "data" / "sample_transcripts.json"


# ---------------------------------------------------------------------------- API answers


def _check_params(params: Mapping[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - _STANDARD_PARAMS - allowed)
    if unknown:
        name = unknown[0]
        raise errors.error(
            400,
            "badRequest",
            f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
            f"parameter. Field '{name}' could not be found in request message.",
        )


def forbidden() -> errors.ApiError:
    """The 403 for a caption download the key may not make."""
    return errors.error(
        403,
        "forbidden",
        "The permissions associated with the request are not sufficient to download the "
        "caption track. The request might not be properly authorized, or the video order "
        "might not have enabled third-party contributions for this caption.",
        domain="youtube.caption",
    )


def caption_resource(track: Mapping[str, Any], parts: Iterable[str]) -> dict[str, Any]:
    """A captions.list resource for a track, with the parts asked for."""
    out: dict[str, Any] = {"kind": "youtube#caption", "etag": "", "id": track["id"]}
    if "snippet" in parts:
        out["snippet"] = {f: track[f] for f in _SNIPPET_FIELDS if f in track}
    out["etag"] = etag(out)
    return out


def list_captions(
    captions: Captions,
    params: Mapping[str, str],
    owner_of: Callable[[str], str | None],
    channel_id: str,
) -> dict[str, Any]:
    """The ``captions.list`` body for ``params``; ``owner_of`` gives a video's channel id."""
    _check_params(params, _LIST_PARAMS)
    parts = [p.strip() for p in params.get("part", "").split(",") if p.strip()]
    if not parts:
        raise errors.error(400, "required", "Required parameter: part", location="part")
    for part in parts:
        if part not in ("id", "snippet"):
            raise errors.error(
                400, "unknownPart", f"'{part}'", domain="youtube.part", location="part"
            )
    video_id = params.get("videoId", "")
    if not video_id:
        raise errors.error(400, "required", "Required parameter: videoId", location="videoId")
    owner = owner_of(video_id)
    if owner is None:
        raise errors.error(
            404,
            "videoNotFound",
            'The video identified by the <code><a href="/youtube/v3/docs/captions/list#videoId">'
            "videoId</a></code> parameter could not be found.",
            domain="youtube.video",
            location="videoId",
        )
    if owner != channel_id:
        raise forbidden()
    wanted = {i.strip() for i in params.get("id", "").split(",") if i.strip()}
    tracks = [t for t in captions.for_video(video_id) if not wanted or t["id"] in wanted]
    tracks.sort(key=lambda t: (t["trackKind"].lower() == "asr", t["language"], t["id"]))
    items = [caption_resource(t, parts) for t in tracks]
    body = {"kind": "youtube#captionListResponse", "etag": "", "items": items}
    body["etag"] = etag(body)
    return body


def download_caption(
    captions: Captions,
    caption_id: str,
    params: Mapping[str, str],
    owner_of: Callable[[str], str | None],
    channel_id: str,
) -> tuple[str, str]:
    """(content type, text) of ``captions.download``; ``errors.ApiError`` when refused."""
    _check_params(params, _DOWNLOAD_PARAMS)
    track = captions.track(caption_id)
    if track is None:
        raise errors.error(
            404,
            "captionNotFound",
            "The caption track could not be found.",
            domain="youtube.caption",
            location="id",
        )
    if owner_of(track["videoId"]) != channel_id:
        raise forbidden()
    if captions.refuse_asr and track["trackKind"].lower() == "asr":
        raise forbidden()
    if params.get("tlang"):
        raise errors.error(
            400, "invalidValue", "tlang: machine translation is not emulated", location="tlang"
        )
    fmt = params.get("tfmt") or track["format"]
    if fmt not in FORMATS:
        raise errors.error(
            400,
            "invalidValue",
            f"tfmt must be one of {', '.join(FORMATS)} in this emulator: {fmt!r}",
            location="tfmt",
        )
    return _CONTENT_TYPES[fmt], render(track, fmt)


# ---------------------------------------------------------------------------- formats


def _clock(seconds: float, sep: str = ".", hours_min: int = 2) -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:0{hours_min}d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def render(track: Mapping[str, Any], fmt: str) -> str:
    """The track's cues in ``fmt`` (vtt, srt, sbv, ttml); ASR tracks roll in vtt."""
    cues = [(float(a), float(b), str(text)) for a, b, text in track["cues"]]
    if fmt == "vtt":
        if track["trackKind"].lower() == "asr":
            return _rolling_vtt(cues, track["language"])
        blocks = [f"{_clock(a)} --> {_clock(b)}\n{text}" for a, b, text in cues]
        return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"
    if fmt == "srt":
        blocks = [
            f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{text}"
            for i, (a, b, text) in enumerate(cues, 1)
        ]
        return "\n\n".join(blocks) + "\n"
    if fmt == "sbv":
        blocks = [f"{_clock(a, '.', 1)},{_clock(b, '.', 1)}\n{text}" for a, b, text in cues]
        return "\n\n".join(blocks) + "\n"
    paras = "\n".join(
        f'<p begin="{_clock(a)}" end="{_clock(b)}">{escape(text)}</p>' for a, b, text in cues
    )
    return (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        f'<tt xml:lang="{track["language"]}" xmlns="http://www.w3.org/ns/ttml"><body><div>\n'
        f"{paras}\n</div></body></tt>\n"
    )


def _chunks(text: str) -> list[str]:
    """Words as the recogniser times them: spaces where there are any, else ~4 characters."""
    if " " in text.strip():
        words = text.split()
        return [words[0]] + [" " + w for w in words[1:]]
    return [text[i : i + 4] for i in range(0, len(text), 4)] or [text]


def _rolling_vtt(cues: list[tuple[float, float, str]], language: str) -> str:
    out = [f"WEBVTT\nKind: captions\nLanguage: {language}\n"]
    previous = " "
    for start, end, text in cues:
        words = _chunks(text)
        hold = max(start, end - 0.01)
        step = (hold - start) / len(words)
        timed = words[0] + "".join(
            f"<{_clock(start + step * i)}><c>{w}</c>" for i, w in enumerate(words[1:], 1)
        )
        out.append(
            f"{_clock(start)} --> {_clock(hold)} align:start position:0%\n{previous}\n{timed}\n"
        )
        out.append(f"{_clock(hold)} --> {_clock(end)} align:start position:0%\n{text}\n \n")
        previous = text
    return "\n".join(out)
