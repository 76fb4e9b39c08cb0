"""The in-memory world the emulator serves: channels, videos, playlists.

A :class:`Dataset` is mutable so a test can change the "remote" channel between two syncs
(rename a video, hide its likes, delete it, reorder a playlist...). Every method takes the
dataset's lock, so handler threads never see half a mutation.

JSON format (``load_dataset(path)``, ``Dataset.from_dict``, ``Dataset.to_json``)::

    {
      "_note": "free text: where the data comes from, what is invented",
      "channels": [ <channel resource> ... ],      # the first one is the main channel
      "videos": [ <video resource> ... ],
      "playlists": [ <playlist resource> + "items": [ <entry> ... ] ... ],
      "unavailable_video_ids": [ "<11-char id>" ... ]
    }

* Resources are in the API's own shape (``id``, ``snippet``, ``contentDetails``, ``status``,
  ``statistics``...); ``kind`` and ``etag`` may be left out (etags are always computed).
* Channel: ``contentDetails.relatedPlaylists.uploads`` defaults to ``"UU" + id[2:]``;
  ``statistics.videoCount`` is recomputed from the public uploads when served.
* Video: its channel is ``snippet.channelId``. The uploads playlist of a channel is derived:
  every public video of the channel, newest ``snippet.publishedAt`` first. A video whose
  ``status.privacyStatus`` is ``"private"`` is left out of videos.list and the uploads, and
  shows as "Private video" in other playlists. ``"unlisted"`` videos are served by id only.
* Playlist: the uploads playlist is *not* listed (playlists.list never returns it).
  ``contentDetails.itemCount`` is computed. ``items`` holds the entries in playlist order;
  an entry is either a video id string, or ``{"videoId": ..., "state": "deleted"|"private",
  "addedAt": "<RFC 3339>"}`` (``state`` and ``addedAt`` optional). A plain entry's
  added-to-playlist time defaults to the later of the video's and the playlist's publishedAt.
* ``unavailable_video_ids``: ids that playlists refer to but that no longer exist (deleted);
  videos.list leaves them out and playlist entries show them as "Deleted video". A playlist
  entry naming an id that is neither a video nor listed here is a load error.

``to_json`` writes the same format back; a video removed with :meth:`Dataset.remove_video`
is written as an unavailable id.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

PUBLIC = "public"
UNLISTED = "unlisted"
PRIVATE = "private"
DELETED = "deleted"
ENTRY_STATES = (DELETED, PRIVATE)


def iso(epoch: float) -> str:
    """RFC 3339 in the API's style: seconds precision, ``Z``."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> int:
    """An ISO 8601 timestamp as Unix seconds."""
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def now_iso() -> str:
    """Now as an API timestamp."""
    return iso(datetime.now(UTC).timestamp())


def uploads_playlist_id(channel_id: str) -> str:
    """The uploads playlist id of a channel: `UU` + the id after `UC`."""
    return "UU" + channel_id[2:]


class Entry(NamedTuple):
    """One slot of a playlist; ``serial`` keeps its playlistItem id stable across moves."""

    serial: int
    video_id: str
    state: str | None  # None: follow the video; otherwise forced "deleted"/"private"
    added_at: str | None


class VideoSource(Protocol):
    """Videos generated on demand (see ``synthetic``), so 100k of them stay cheap.

    ``ids`` are in publish order, oldest first, with strictly increasing ``epochs``.
    """

    channel_id: str
    ids: Sequence[str]
    index: Mapping[str, int]
    epochs: Sequence[int]

    def make(self, i: int) -> dict[str, Any]:
        """The video resource with index `i`."""


class _Playlist:
    __slots__ = ("_entries", "_loader", "next_serial", "resource")

    def __init__(
        self,
        resource: dict[str, Any],
        entries: list[Entry] | None = None,
        loader: Callable[[], list[Entry]] | None = None,
    ):
        self.resource = resource
        self._entries = entries
        self._loader = loader
        self.next_serial = len(entries) if entries is not None else 0

    @property
    def entries(self) -> list[Entry]:
        if self._entries is None:
            assert self._loader is not None
            self._entries = self._loader()
            self._loader = None
            self.next_serial = max((e.serial for e in self._entries), default=-1) + 1
        return self._entries

    def replace(self, entries: list[Entry]) -> None:
        self._entries = entries
        self._loader = None


def _dig(obj: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, Mapping) or part not in obj:
            return default
        obj = obj[part]
    return obj


def _set_dotted(obj: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    if value is None:
        obj.pop(leaf, None)
    else:
        obj[leaf] = value


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def thumbnails(video_id: str, *, hd: bool = True, live: bool = False) -> dict[str, Any]:
    """The i.ytimg.com set the API returns; standard/maxres only exist for HD uploads."""
    suffix = "_live" if live else ""
    sizes = [
        ("default", "default", 120, 90),
        ("medium", "mqdefault", 320, 180),
        ("high", "hqdefault", 480, 360),
    ]
    if hd:
        sizes += [("standard", "sddefault", 640, 480), ("maxres", "maxresdefault", 1280, 720)]
    return {
        name: {
            "url": f"https://i.ytimg.com/vi/{video_id}/{file}{suffix}.jpg",
            "width": w,
            "height": h,
        }
        for name, file, w, h in sizes
    }


class Dataset:
    """Channels, videos and playlists, indexed by id and by playlist; thread-safe."""

    def __init__(
        self,
        *,
        channels: Iterable[Mapping[str, Any]],
        videos: Iterable[Mapping[str, Any]] = (),
        playlists: Iterable[tuple[Mapping[str, Any], Iterable[Any]]] = (),
        unavailable_video_ids: Iterable[str] = (),
        note: str = "",
        source: VideoSource | None = None,
        lazy_playlists: Iterable[tuple[dict[str, Any], Callable[[], list[Entry]]]] = (),
    ):
        self.lock = threading.RLock()
        self.note = note
        self.version = 0
        self._source = source
        self._channels: dict[str, dict[str, Any]] = {}
        self._handles: dict[str, str] = {}
        self._uploads_ids: dict[str, str] = {}
        for channel in channels:
            self._add_channel(channel)
        if not self._channels:
            raise ValueError("a dataset needs at least one channel")
        self.channel_id: str = next(iter(self._channels))
        self._videos: dict[str, dict[str, Any]] = {}
        for video in videos:
            res = self._normalize_video(video)
            if res["id"] in self._videos:
                raise ValueError(f"duplicate video id {res['id']!r}")
            self._videos[res["id"]] = res
        self._removed: set[str] = set()
        self._unavailable: set[str] = set(unavailable_video_ids)
        self._updated_at: dict[str, str] = {}
        self._playlists: dict[str, _Playlist] = {}
        for resource, loader in lazy_playlists:
            self._store_playlist(_Playlist(self._normalize_playlist(resource), loader=loader))
        for resource, items in playlists:
            self._add_playlist(resource, items)
        self._uploads_cache: dict[str, list[str]] | None = None
        self._channel_playlists_cache: dict[str, list[str]] | None = None

    # ----------------------------------------------------------------- loading & saving

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dataset:
        """A dataset from its JSON form."""
        playlists = []
        for raw in data.get("playlists", []):
            resource = dict(raw)
            items = resource.pop("items", [])
            playlists.append((resource, items))
        return cls(
            channels=data["channels"],
            videos=data.get("videos", []),
            playlists=playlists,
            unavailable_video_ids=data.get("unavailable_video_ids", []),
            note=data.get("_note", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """The dataset's JSON form."""
        with self.lock:
            channels = []
            for channel_id in self._channels:
                channel = copy.deepcopy(self._channels[channel_id])
                stats = channel.setdefault("statistics", {})
                stats["videoCount"] = str(len(self.uploads(channel_id)))
                channels.append(channel)
            videos = [copy.deepcopy(self.video(v)) for v in self._all_video_ids()]
            videos.sort(key=lambda v: (v["snippet"]["publishedAt"], v["id"]), reverse=True)
            playlists = []
            for pl in self._playlists.values():
                out = copy.deepcopy(pl.resource)
                out["items"] = [self._entry_to_json(e) for e in pl.entries]
                playlists.append(out)
            unavailable = sorted(self._unavailable | self._removed)
            return {
                "_note": self.note,
                "channels": channels,
                "videos": videos,
                "playlists": playlists,
                "unavailable_video_ids": unavailable,
            }

    def to_json(self, *, indent: int | None = 1) -> str:
        """The dataset as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def save(self, path: str | Path) -> None:
        """Write the dataset to a JSON file."""
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @staticmethod
    def _entry_to_json(entry: Entry) -> str | dict[str, str]:
        if entry.state is None and entry.added_at is None:
            return entry.video_id
        out = {"videoId": entry.video_id}
        if entry.state:
            out["state"] = entry.state
        if entry.added_at:
            out["addedAt"] = entry.added_at
        return out

    # ----------------------------------------------------------------- normalization

    def _add_channel(self, channel: Mapping[str, Any]) -> None:
        res = copy.deepcopy(dict(channel))
        channel_id = res.get("id")
        if not isinstance(channel_id, str) or not channel_id.startswith("UC"):
            raise ValueError(f"channel id must start with 'UC': {channel_id!r}")
        res["kind"] = "youtube#channel"
        res.pop("etag", None)
        related = res.setdefault("contentDetails", {}).setdefault("relatedPlaylists", {})
        related.setdefault("likes", "")
        related.setdefault("uploads", uploads_playlist_id(channel_id))
        res.setdefault("statistics", {}).setdefault("hiddenSubscriberCount", False)
        self._channels[channel_id] = res
        self._uploads_ids[related["uploads"]] = channel_id
        handle = _dig(res, "snippet.customUrl")
        if handle:
            self._handles[handle.lstrip("@").lower()] = channel_id

    def _normalize_video(self, video: Mapping[str, Any]) -> dict[str, Any]:
        res = copy.deepcopy(dict(video))
        if not isinstance(res.get("id"), str) or not res["id"]:
            raise ValueError(f"video without an id: {str(video)[:80]}")
        if not _dig(res, "snippet.publishedAt"):
            raise ValueError(f"video {res['id']} has no snippet.publishedAt")
        res["kind"] = "youtube#video"
        res.pop("etag", None)
        return res

    def _normalize_playlist(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        res = copy.deepcopy(dict(resource))
        if not isinstance(res.get("id"), str) or not res["id"]:
            raise ValueError(f"playlist without an id: {str(resource)[:80]}")
        if res["id"] in self._uploads_ids:
            raise ValueError(f"{res['id']} is an uploads playlist; it is derived, not listed")
        res["kind"] = "youtube#playlist"
        res.pop("etag", None)
        res.pop("items", None)
        res.setdefault("snippet", {}).setdefault("channelId", self.channel_id)
        res.setdefault("status", {}).setdefault("privacyStatus", PUBLIC)
        # Both are computed when served, so a stale stored value can never leak.
        res.pop("contentDetails", None)
        res.pop("player", None)
        return res

    def _parse_entries(self, items: Iterable[Any], first_serial: int = 0) -> list[Entry]:
        entries = []
        for serial, item in enumerate(items, start=first_serial):
            if isinstance(item, str):
                video_id, state, added_at = item, None, None
            elif isinstance(item, Mapping):
                unknown = set(item) - {"videoId", "state", "addedAt"}
                if unknown or "videoId" not in item:
                    raise ValueError(f"bad playlist entry {dict(item)!r}")
                video_id, state, added_at = item["videoId"], item.get("state"), item.get("addedAt")
                if state is not None and state not in ENTRY_STATES:
                    raise ValueError(f"entry state must be one of {ENTRY_STATES}: {state!r}")
            else:
                raise ValueError(f"bad playlist entry {item!r}")
            if state is None and not self._known(video_id):
                raise ValueError(
                    f"playlist entry {video_id!r} is neither a video nor in unavailable_video_ids"
                )
            entries.append(Entry(serial, video_id, state, added_at))
        return entries

    def _known(self, video_id: str) -> bool:
        return (
            video_id in self._videos
            or video_id in self._unavailable
            or (self._source is not None and video_id in self._source.index)
        )

    def _add_playlist(self, resource: Mapping[str, Any], items: Iterable[Any]) -> str:
        res = self._normalize_playlist(resource)
        if res["id"] in self._playlists:
            raise ValueError(f"duplicate playlist id {res['id']!r}")
        self._store_playlist(_Playlist(res, entries=self._parse_entries(items)))
        return res["id"]

    def _store_playlist(self, pl: _Playlist) -> None:
        self._playlists[pl.resource["id"]] = pl
        self._channel_playlists_cache = None

    # ----------------------------------------------------------------- reads

    @property
    def source(self) -> VideoSource | None:
        """The generator behind a synthetic dataset, None for one loaded from JSON."""
        return self._source

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        """A channel resource, or None."""
        return self._channels.get(channel_id)

    def channel_ids(self) -> list[str]:
        """The ids of every channel served."""
        return list(self._channels)

    def channel_by_handle(self, handle: str) -> str | None:
        """The id of the channel with this @handle, or None."""
        return self._handles.get(handle.strip().lstrip("@").lower())

    def channel_for_uploads(self, playlist_id: str) -> str | None:
        """The channel whose uploads playlist this is, or None."""
        return self._uploads_ids.get(playlist_id)

    def video(self, video_id: str) -> dict[str, Any] | None:
        """The stored resource, whatever its state; callers must not mutate it."""
        res = self._videos.get(video_id)
        if res is None and self._source is not None:
            i = self._source.index.get(video_id)
            if i is not None:
                res = self._source.make(i)
        return res

    def get_video(self, video_id: str) -> dict[str, Any] | None:
        """A private copy of the stored resource, for tests to inspect."""
        with self.lock:
            res = self.video(video_id)
            return copy.deepcopy(res) if res is not None else None

    def video_state(self, video_id: str) -> str:
        """public / unlisted / private / deleted, as a viewer without the owner's rights sees."""
        if video_id in self._removed:
            return DELETED
        if video_id not in self._videos and self._source is not None:
            # Generated videos are public until a mutation copies them into _videos.
            return PUBLIC if video_id in self._source.index else DELETED
        res = self.video(video_id)
        if res is None:
            return DELETED
        return _dig(res, "status.privacyStatus", PUBLIC)

    def updated_at(self, video_id: str) -> str:
        """When a video last changed, for its etag."""
        stamp = self._updated_at.get(video_id)
        if stamp:
            return stamp
        res = self.video(video_id)
        return res["snippet"]["publishedAt"] if res else now_iso()

    def uploads(self, channel_id: str | None = None) -> list[str]:
        """Public uploads of a channel, newest first (cached until the next mutation)."""
        with self.lock:
            if self._uploads_cache is None:
                self._uploads_cache = self._build_uploads()
            return self._uploads_cache.get(channel_id or self.channel_id, [])

    def video_ids(self, channel_id: str | None = None) -> list[str]:
        """Ids in the uploads playlist, newest first."""
        return list(self.uploads(channel_id))

    def owned_video_ids(self, channel_id: str) -> list[str]:
        """Every video of a channel its owner sees (public, unlisted, private), not deleted."""
        with self.lock:
            ids = [v for v in self._videos if v not in self._removed]
            ids = [v for v in ids if _dig(self._videos[v], "snippet.channelId") == channel_id]
            src = self._source
            if src is not None and src.channel_id == channel_id:
                skip = self._removed | self._videos.keys()
                ids += [v for v in src.ids if v not in skip]
            return ids

    def _all_video_ids(self) -> list[str]:
        ids = [v for v in self._videos if v not in self._removed]
        if self._source is not None:
            ids += [v for v in self._source.ids if v not in self._videos and v not in self._removed]
        return ids

    def _build_uploads(self) -> dict[str, list[str]]:
        pairs: dict[str, list[tuple[int, str]]] = {c: [] for c in self._channels}
        src = self._source
        if src is not None and src.channel_id in pairs:
            skip = self._removed | self._videos.keys()
            bucket = pairs[src.channel_id]
            for vid, epoch in zip(src.ids, src.epochs, strict=True):
                if vid not in skip:
                    bucket.append((epoch, vid))
        for vid, res in self._videos.items():
            bucket = pairs.get(_dig(res, "snippet.channelId", ""))
            if bucket is not None and self.video_state(vid) == PUBLIC:
                bucket.append((parse_iso(res["snippet"]["publishedAt"]), vid))
        return {c: [v for _, v in sorted(p, reverse=True)] for c, p in pairs.items()}

    def playlist(self, playlist_id: str) -> _Playlist | None:
        """A playlist, or None."""
        return self._playlists.get(playlist_id)

    def playlist_ids(self, channel_id: str | None = None) -> list[str]:
        """Playlists of a channel as playlists.list returns them (uploads not included)."""
        with self.lock:
            if self._channel_playlists_cache is None:
                cache: dict[str, list[str]] = {}
                for pid, pl in self._playlists.items():
                    cache.setdefault(pl.resource["snippet"]["channelId"], []).append(pid)
                self._channel_playlists_cache = cache
            return self._channel_playlists_cache.get(channel_id or self.channel_id, [])

    def playlist_items(self, playlist_id: str) -> list[dict[str, Any]]:
        """Entries as JSON (`items` format above), for tests to inspect."""
        with self.lock:
            pl = self._playlists.get(playlist_id)
            if pl is None:
                raise KeyError(playlist_id)
            return [
                {"videoId": e.video_id, "state": e.state, "addedAt": e.added_at} for e in pl.entries
            ]

    # ----------------------------------------------------------------- mutations

    def _touch(self, video_id: str | None = None) -> None:
        self.version += 1
        self._uploads_cache = None
        if video_id is not None:
            self._updated_at[video_id] = now_iso()

    def _own(self, video_id: str) -> dict[str, Any]:
        """The stored resource of a video, copied out of the lazy source before a change."""
        res = self._videos.get(video_id)
        if res is None:
            generated = self.video(video_id)
            if generated is None:
                raise KeyError(video_id)
            res = self._videos[video_id] = copy.deepcopy(generated)
        return res

    def add_video(self, resource: Mapping[str, Any]) -> str:
        """Add a video; missing fields get plausible defaults, publishedAt defaults to now
        so the video becomes the newest upload of its channel."""
        with self.lock:
            video_id = resource.get("id")
            if not isinstance(video_id, str) or not video_id:
                raise ValueError("add_video needs an id")
            if self._known(video_id) and video_id not in self._unavailable:
                raise ValueError(f"video {video_id!r} already exists")
            channel_id = _dig(resource, "snippet.channelId", self.channel_id)
            channel = self._channels.get(channel_id, {})
            title = _dig(resource, "snippet.title", "無題の動画")
            description = _dig(resource, "snippet.description", "")
            base = {
                "kind": "youtube#video",
                "id": video_id,
                "snippet": {
                    "publishedAt": now_iso(),
                    "channelId": channel_id,
                    "title": title,
                    "description": description,
                    "thumbnails": thumbnails(video_id),
                    "channelTitle": _dig(channel, "snippet.title", ""),
                    "categoryId": "29",
                    "liveBroadcastContent": "none",
                    "defaultAudioLanguage": "ja",
                    "localized": {"title": title, "description": description},
                },
                "contentDetails": {
                    "duration": "PT10M",
                    "dimension": "2d",
                    "definition": "hd",
                    "caption": "false",
                    "licensedContent": False,
                    "contentRating": {},
                    "projection": "rectangular",
                },
                "status": {
                    "uploadStatus": "processed",
                    "privacyStatus": PUBLIC,
                    "license": "youtube",
                    "embeddable": True,
                    "publicStatsViewable": True,
                    "madeForKids": False,
                },
                "statistics": {
                    "viewCount": "0",
                    "likeCount": "0",
                    "favoriteCount": "0",
                    "commentCount": "0",
                },
            }
            res = self._normalize_video(_deep_merge(base, resource))
            self._unavailable.discard(video_id)
            self._videos[video_id] = res
            self._touch(video_id)
            return video_id

    def update_video(
        self, video_id: str, changes: Mapping[str, Any] | None = None, **dotted: Any
    ) -> None:
        """Change fields by dotted path, e.g. ``update_video(v, {"snippet.title": "新"})``
        or ``update_video(v, **{"snippet.title": "新"})``; a None value removes the field.
        ``snippet.localized`` follows a title/description change unless set explicitly."""
        all_changes = {**(changes or {}), **dotted}
        with self.lock:
            res = self._own(video_id)
            for field in ("title", "description"):
                key = f"snippet.{field}"
                localized = f"snippet.localized.{field}"
                follows = _dig(res, localized) == _dig(res, key)
                if key in all_changes and localized not in all_changes and follows:
                    all_changes[localized] = all_changes[key]
            for path, value in all_changes.items():
                _set_dotted(res, path, value)
            self._touch(video_id)

    def set_statistics(self, video_id: str, **stats: int | str | None) -> None:
        """E.g. ``set_statistics(v, viewCount=10, likeCount=None)``: None hides the counter
        (likes hidden, comments off), as the API leaves the key out rather than sending 0."""
        with self.lock:
            res = self._own(video_id)
            current = res.setdefault("statistics", {})
            for name, value in stats.items():
                if value is None:
                    current.pop(name, None)
                else:
                    current[name] = str(int(value))
            self._touch(video_id)

    def remove_video(self, video_id: str) -> None:
        """Delete: gone from videos.list and the uploads; a "Deleted video" in playlists."""
        with self.lock:
            if self.video(video_id) is None:
                raise KeyError(video_id)
            self._removed.add(video_id)
            self._touch(video_id)

    def restore_video(self, video_id: str) -> None:
        """Bring a removed video back."""
        with self.lock:
            self._removed.discard(video_id)
            self._touch(video_id)

    def make_private(self, video_id: str) -> None:
        """Make a video private."""
        self.update_video(video_id, {"status.privacyStatus": PRIVATE})

    def make_public(self, video_id: str) -> None:
        """Make a video public."""
        self.update_video(video_id, {"status.privacyStatus": PUBLIC})

    def update_channel(
        self, changes: Mapping[str, Any] | None = None, channel_id: str | None = None, **dotted: Any
    ) -> None:
        """Change fields of a channel resource, by dotted path."""
        with self.lock:
            res = self._channels[channel_id or self.channel_id]
            for path, value in {**(changes or {}), **dotted}.items():
                _set_dotted(res, path, value)
            self._touch()

    def add_playlist(self, resource: Mapping[str, Any], items: Iterable[Any] = ()) -> str:
        """Add a playlist with its items; returns its id."""
        with self.lock:
            base: dict[str, Any] = {
                "snippet": {
                    "publishedAt": now_iso(),
                    "channelId": self.channel_id,
                    "title": "",
                    "description": "",
                    "thumbnails": {},
                    "channelTitle": "",
                },
                "status": {"privacyStatus": PUBLIC},
            }
            res = _deep_merge(base, resource)
            channel = self._channels.get(res["snippet"]["channelId"], {})
            if not res["snippet"]["channelTitle"]:
                res["snippet"]["channelTitle"] = _dig(channel, "snippet.title", "")
            res["snippet"].setdefault(
                "localized",
                {"title": res["snippet"]["title"], "description": res["snippet"]["description"]},
            )
            playlist_id = self._add_playlist(res, items)
            self._touch()
            return playlist_id

    def remove_playlist(self, playlist_id: str) -> None:
        """Delete a playlist."""
        with self.lock:
            if self._playlists.pop(playlist_id, None) is None:
                raise KeyError(playlist_id)
            self._channel_playlists_cache = None
            self._touch()

    def set_playlist_items(self, playlist_id: str, items: Iterable[Any]) -> None:
        """Replace the entries; an entry equal to a current one (same video, same slot
        order among that video's entries) keeps its playlistItem id."""
        with self.lock:
            pl = self._playlists.get(playlist_id)
            if pl is None:
                raise KeyError(playlist_id)
            old: dict[str, list[int]] = {}
            for e in pl.entries:
                old.setdefault(e.video_id, []).append(e.serial)
            parsed = self._parse_entries(items)
            entries = []
            for e in parsed:
                serials = old.get(e.video_id)
                if serials:
                    serial = serials.pop(0)
                else:
                    serial = pl.next_serial
                    pl.next_serial += 1
                entries.append(e._replace(serial=serial))
            pl.replace(entries)
            self._touch()


def load_dataset(path: str | Path) -> Dataset:
    """Read a dataset JSON file (format in this module's docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    return Dataset.from_dict(data)


def default_sample_path() -> Path:
    """``data/sample_channel.json`` of the source checkout this package runs from; an
    installed wheel has no checkout, so a copy next to this module is used if present."""
    checkout = Path(__file__).resolve().parents[3] / "data" / "sample_channel.json"
    bundled = Path(__file__).resolve().parent / "sample_channel.json"
    return checkout if checkout.is_file() or not bundled.is_file() else bundled
