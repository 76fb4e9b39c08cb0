"""YouTube Analytics API v2 ``reports.query`` for the emulator's channels, deterministically.

``build("youtubeAnalytics", "v2", client_options={"api_endpoint": emu.url})`` sends
``GET {emu.url}/v2/reports?ids=...&startDate=...&endDate=...&metrics=...`` (the discovery
document's ``servicePath`` is empty); the server checks the Bearer token and hands the query
here with the channel the token speaks for.

The figures are invented but plausible and stable: every number is a function of the video
(its id, publication day, duration, lifetime ``viewCount`` and chapters) and the day, never of
when it is asked, except for the real API's two time effects:

* **lag**: the newest day with data is ``LAG_DAYS`` before today (Pacific time);
* **revision**: the newest days are reported low and grow to their final value
  (``REVISION`` gives the share reported at each age), so a re-read of the last days differs.

Daily views follow a launch spike that decays over a couple of weeks plus a long tail, fewer on
weekends (the audience watches at work); their lifetime sum is about the video's ``viewCount``.
Retention (100 points, ``elapsedVideoTimeRatio`` 0.01 ... 1.0) falls over a lecture, with a bump
(viewers jumping to it) or a step down at some chapter starts.

Reports implemented, with the real API's rules for them (any other combination of dimensions,
metrics and filters answers 400 "The query is not supported..."):

* basic / time-based: no dimension, ``day`` or ``month``; metrics from ``CORE_METRICS``;
  optional filter ``video==ID[,ID...]``;
* top videos: dimension ``video``, ``maxResults`` ≤ 200 and a descending ``sort`` on a metric;
* audience retention: dimension ``elapsedVideoTimeRatio``, metrics from
  ``RETENTION_METRICS``, filter ``video==ID`` (exactly one) plus optional ``audienceType``,
  ``subscribedStatus``, ``youtubeProduct`` (accepted, not modelled). A video with fewer than
  ``min_retention_views`` views in the range gets no ``rows`` (the real API withholds small
  samples the same way).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import errors
from .dataset import Dataset, parse_iso

REPORTS_PATH = "/v2/reports"
PACIFIC = ZoneInfo("America/Los_Angeles")  # YouTube Analytics days are Pacific days
KIND = "youtubeAnalytics#resultTable"
LAG_DAYS = 2
# Share of a day's final figures reported when the day is 2, 3, 4 days old; older: final.
REVISION = {2: 0.82, 3: 0.93, 4: 0.98}
MIN_RETENTION_VIEWS = 50
MAX_TOP_VIDEOS = 200

CORE_METRICS = {
    "views": "INTEGER",
    "estimatedMinutesWatched": "INTEGER",
    "averageViewDuration": "INTEGER",
    "averageViewPercentage": "FLOAT",
    "likes": "INTEGER",
    "dislikes": "INTEGER",
    "comments": "INTEGER",
    "shares": "INTEGER",
    "subscribersGained": "INTEGER",
    "subscribersLost": "INTEGER",
}
RETENTION_METRICS = {
    "audienceWatchRatio": "FLOAT",
    "relativeRetentionPerformance": "FLOAT",
    "startedWatching": "INTEGER",
    "stoppedWatching": "INTEGER",
    "totalSegmentImpressions": "INTEGER",
}
# Metrics the real API knows but this emulator does not model: "not supported", not "unknown".
OTHER_METRICS = {
    "estimatedRevenue", "estimatedAdRevenue", "grossRevenue", "cpm", "playbackBasedCpm",
    "adImpressions", "monetizedPlaybacks", "annotationClickThroughRate", "cardImpressions",
    "cardClicks", "viewerPercentage", "playlistStarts", "videosAddedToPlaylists",
    "videosRemovedFromPlaylists", "engagedViews", "redViews", "estimatedRedMinutesWatched",
    "averageTimeInPlaylist", "playlistViews", "viewsPerPlaylistStart",
}  # fmt: skip
DIMENSION_TYPES = {
    "day": "STRING",
    "month": "STRING",
    "video": "STRING",
    "elapsedVideoTimeRatio": "FLOAT",
}
OTHER_DIMENSIONS = {
    "country", "province", "city", "continent", "subContinent", "ageGroup", "gender",
    "deviceType", "operatingSystem", "insightTrafficSourceType", "insightTrafficSourceDetail",
    "insightPlaybackLocationType", "insightPlaybackLocationDetail", "liveOrOnDemand",
    "subscribedStatus", "youtubeProduct", "audienceType", "playlist", "group", "sharingService",
    "creatorContentType", "adType", "channel",
}  # fmt: skip
RETENTION_FILTERS = {"audienceType", "subscribedStatus", "youtubeProduct"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_IDS = re.compile(r"([a-zA-Z]+)==([a-zA-Z0-9_+-]+)")
_SUPPORTED_URL = "https://developers.google.com/youtube/analytics/v2/available_reports"


# ------------------------------------------------------------------ errors, worded as Google's


def not_supported() -> errors.ApiError:
    """400 for a combination of dimensions, metrics and filters no report supports."""
    return errors.error(
        400,
        "badRequest",
        f"The query is not supported. Check the documentation at {_SUPPORTED_URL} for a list "
        "of supported queries.",
    )


def unknown_identifier(name: str, field: str) -> errors.ApiError:
    """400 for a metric or dimension name the API does not know."""
    return errors.error(
        400, "badRequest", f"Unknown identifier ({name}) given in field parameters.{field}."
    )


def invalid_value(value: str, field: str) -> errors.ApiError:
    """400 for a parameter value the API cannot read."""
    return errors.error(
        400,
        "invalidParameter",
        f"Invalid value ({value}) given in field parameters.{field}.",
        location=field,
    )


def invalid_date(value: str, field: str) -> errors.ApiError:
    """400 for a date that does not match the documented pattern."""
    return errors.error(
        400,
        "invalidParameter",
        f"Invalid value '{value}'. Values must match the following regular expression: "
        f"'{_DATE_PATTERN}'",
        location=field,
    )


def required(field: str) -> errors.ApiError:
    """400 for a missing required parameter."""
    return errors.error(400, "required", "Required", location=field)


def forbidden() -> errors.ApiError:
    """403 for a channel or video the token's owner does not own."""
    return errors.error(403, "forbidden", "Forbidden")


def quota_exceeded() -> errors.ApiError:
    """The Analytics API's own daily quota is spent (it is separate from the Data API's)."""
    return errors.error(
        403,
        "quotaExceeded",
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per day' of service "
        "'youtubeanalytics.googleapis.com'.",
        domain="usageLimits",
        with_status=False,
    )


# ------------------------------------------------------------------ the model


def _uniforms(*key: object) -> list[float]:
    """Eight deterministic numbers in [0, 1) for ``key``."""
    digest = hashlib.blake2b(":".join(map(str, key)).encode(), digest_size=32).digest()
    return [int.from_bytes(digest[i : i + 4]) / 2**32 for i in range(0, 32, 4)]


_STAMP = re.compile(r"(?:^|[\s【\[(])((?:\d{1,2}:)?\d{1,2}:\d{2})(?=$|[\s】\]):\-|])")


def chapter_starts(description: str, duration: int) -> list[int]:
    """Chapter start seconds in a description by YouTube's rules ([] when it shows none).

    Only shapes the invented retention curves; the index's own parser is the real one.
    """
    starts: list[int] = []
    for line in unicodedata.normalize("NFKC", description or "").splitlines():
        match = _STAMP.search(line.strip())
        if match is None:
            continue
        parts = [int(p) for p in match.group(1).split(":")]
        seconds = parts[-1] + 60 * parts[-2] + (3600 * parts[0] if len(parts) == 3 else 0)
        starts.append(seconds)
    ok = (
        len(starts) >= 3
        and starts[0] == 0
        and all(b - a >= 10 for a, b in itertools.pairwise(starts))
        and duration - starts[-1] >= 10
    )
    return starts if ok else []


def _base_curve(r: float) -> float:
    # A quick early drop (people sampling the lecture), then a slow decline.
    return 0.55 * math.exp(-1.1 * r) + 0.35 * math.exp(-r / 0.04)


@dataclass(frozen=True)
class VideoModel:
    """What the figures of one video are computed from."""

    video_id: str
    channel_id: str
    published: date
    duration: int
    lifetime_views: int
    chapters: tuple[int, ...]

    @functools.cached_property
    def curve(self) -> tuple[float, ...]:
        """The final audience-watch ratio at elapsedVideoTimeRatio 0.01 ... 1.00."""
        u = _uniforms(self.video_id, "curve")
        scale = 0.75 + 0.45 * u[0]
        points = [_base_curve(k / 100) * scale for k in range(1, 101)]
        for position, start in enumerate(self.chapters):
            if position == 0 or not self.duration:
                continue
            at = start / self.duration
            kind, size = _uniforms(self.video_id, "chapter", position)[:2]
            for k in range(1, 101):
                r = k / 100
                if kind < 0.4:  # viewers jump to this chapter: a bump that fades
                    points[k - 1] += (0.04 + 0.08 * size) * math.exp(-(((r - at) / 0.02) ** 2))
                elif kind < 0.75 and r >= at:  # viewers leave when this chapter starts
                    points[k - 1] *= 0.97 - 0.12 * size
        return tuple(points)

    @functools.cached_property
    def average_view_percentage(self) -> float:
        """The share of the video watched on average, in percent."""
        return 100 * min(1.0, sum(self.curve) / len(self.curve))

    def expected_views(self, day: date) -> float:
        """The views the model expects on `day`."""
        age = (day - self.published).days
        if age < 0 or self.lifetime_views <= 0:
            return 0.0
        total = self.lifetime_views
        launch = 0.35 * total * (1 - math.exp(-0.1)) * math.exp(-age / 10)
        tail = 0.65 * total / 1095
        weekday = 0.5 if day.weekday() >= 5 else 1.2
        return (launch + tail) * weekday

    def day_figures(self, day: date, share: float = 1.0) -> dict[str, float]:
        """The video's figures for one day, ``share`` of their final value (revisions)."""
        return _day_figures(self, day, share)

    def _compute_day(self, day: date, share: float) -> dict[str, float]:
        u = _uniforms(self.video_id, day.isoformat())
        views = math.floor(self.expected_views(day) * (0.75 + 0.5 * u[0]) * share + u[1])
        if views <= 0:
            return dict.fromkeys(CORE_METRICS, 0) | {"averageViewPercentage": 0.0}
        percentage = min(100.0, self.average_view_percentage * (0.9 + 0.2 * u[2]))
        duration = round(self.duration * percentage / 100)
        return {
            "views": views,
            "estimatedMinutesWatched": round(views * duration / 60),
            "averageViewDuration": duration,
            "averageViewPercentage": round(percentage, 2),
            "likes": math.floor(views * 0.02 + u[3]),
            "dislikes": math.floor(views * 0.002 + u[4] * 0.5),
            "comments": math.floor(views * 0.003 + u[5] * 0.5),
            "shares": math.floor(views * 0.006 + u[6] * 0.7),
            "subscribersGained": math.floor(views * 0.005 + u[7]),
            "subscribersLost": math.floor(views * 0.001 + u[7] * 0.3),
        }


@functools.lru_cache(maxsize=262_144)
def _day_figures(model: VideoModel, day: date, share: float) -> dict[str, float]:
    # A backfill asks for every day of every video two or three times (video, channel,
    # retention's view count): computing each once keeps the emulator quick.
    return model._compute_day(day, share)


def _combine(rows: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Sum a set of daily figures, with the averages weighted as YouTube weights them."""
    total: dict[str, float] = dict.fromkeys(CORE_METRICS, 0)
    watched_seconds = 0.0
    weighted_percentage = 0.0
    for row in rows:
        for name in CORE_METRICS:
            if name not in ("averageViewDuration", "averageViewPercentage"):
                total[name] += row[name]
        watched_seconds += row["views"] * row["averageViewDuration"]
        weighted_percentage += row["views"] * row["averageViewPercentage"]
    views = total["views"]
    total["averageViewDuration"] = round(watched_seconds / views) if views else 0
    total["averageViewPercentage"] = round(weighted_percentage / views, 2) if views else 0.0
    total["estimatedMinutesWatched"] = round(watched_seconds / 60)
    return total


@dataclass
class Query:
    """A parsed and validated ``reports.query``."""

    channel_id: str
    start: date
    end: date
    metrics: list[str]
    dimensions: list[str]
    video_ids: list[str]
    sort: list[str]
    max_results: int | None
    start_index: int


class Analytics:
    """Answers ``reports.query`` for the channels of a dataset; see the module docstring."""

    def __init__(self, dataset: Dataset, min_retention_views: int = MIN_RETENTION_VIEWS):
        self.dataset = dataset
        self.min_retention_views = min_retention_views
        self._models: dict[tuple[str, int], VideoModel] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------------- the dataset's videos

    def model(self, video_id: str) -> VideoModel | None:
        """The figures model of a video the dataset knows (private ones too), else None."""
        with self.dataset.lock:
            version = self.dataset.version
            with self._lock:
                cached = self._models.get((video_id, version))
            if cached is not None:
                return cached
            res = self.dataset.video(video_id)
            if res is None or self.dataset.video_state(video_id) == "deleted":
                return None
            snippet = res.get("snippet") or {}
            duration = _seconds(str((res.get("contentDetails") or {}).get("duration") or ""))
            views = int((res.get("statistics") or {}).get("viewCount") or 0)
            model = VideoModel(
                video_id=video_id,
                channel_id=snippet.get("channelId", ""),
                published=datetime.fromtimestamp(parse_iso(snippet["publishedAt"]), UTC)
                .astimezone(PACIFIC)
                .date(),
                duration=duration,
                lifetime_views=views,
                chapters=tuple(chapter_starts(snippet.get("description", ""), duration)),
            )
        with self._lock:
            self._models[(video_id, version)] = model
        return model

    def owned_videos(self, channel_id: str) -> list[VideoModel]:
        """The models of the channel's own videos."""
        models = (self.model(v) for v in self.dataset.owned_video_ids(channel_id))
        return [m for m in models if m is not None]

    # -------------------------------------------------------------- the endpoint

    def query(self, params: Mapping[str, str], owner: str, today: date) -> dict[str, Any]:
        """The response body for ``params`` asked by the owner of channel ``owner``.

        Raises ``errors.ApiError`` worded as the real API words it.
        """
        q = self.parse(params, owner)
        last = today - timedelta(days=LAG_DAYS)
        headers = [
            {"name": d, "columnType": "DIMENSION", "dataType": DIMENSION_TYPES[d]}
            for d in q.dimensions
        ] + [
            {
                "name": m,
                "columnType": "METRIC",
                "dataType": (CORE_METRICS | RETENTION_METRICS)[m],
            }
            for m in q.metrics
        ]
        if q.dimensions == ["elapsedVideoTimeRatio"]:
            rows = self._retention(q, today, last)
        else:
            rows = self._activity(q, today, last)
        rows = _sorted(rows, q, headers)
        rows = rows[q.start_index - 1 :]
        if q.max_results is not None:
            rows = rows[: q.max_results]
        body: dict[str, Any] = {"kind": KIND, "columnHeaders": headers}
        if rows:
            body["rows"] = rows
        return body

    def parse(self, params: Mapping[str, str], owner: str) -> Query:
        """Validate the parameters in the order the real API reports problems."""
        for name in ("ids", "startDate", "endDate", "metrics"):
            if not params.get(name):
                raise required(name)
        match = _IDS.fullmatch(params["ids"])
        if match is None:
            raise invalid_value(params["ids"], "ids")
        kind, who = match.groups()
        if kind != "channel" or who not in ("MINE", owner):
            raise forbidden()
        start = _date(params["startDate"], "startDate")
        end = _date(params["endDate"], "endDate")
        if start > end:
            raise invalid_value(params["startDate"], "startDate")
        metrics = _names(params["metrics"])
        dimensions = _names(params.get("dimensions", ""))
        for m in metrics:
            if m not in CORE_METRICS and m not in RETENTION_METRICS and m not in OTHER_METRICS:
                raise unknown_identifier(m, "metrics")
        for d in dimensions:
            if d not in DIMENSION_TYPES and d not in OTHER_DIMENSIONS:
                raise unknown_identifier(d, "dimensions")
        filters = _filters(params.get("filters", ""))
        sort = _names(params.get("sort", ""))
        try:
            max_results = int(params["maxResults"]) if params.get("maxResults") else None
            start_index = int(params.get("startIndex") or 1)
        except ValueError:
            raise invalid_value(params.get("maxResults", ""), "maxResults") from None
        if (max_results is not None and max_results < 1) or start_index < 1:
            raise invalid_value(str(max_results if start_index >= 1 else start_index), "maxResults")
        video_ids = filters.pop("video", [])
        q = Query(owner, start, end, metrics, dimensions, video_ids, sort, max_results, start_index)
        self._check_report(q, filters)
        for video_id in video_ids:
            model = self.model(video_id)
            if model is None or model.channel_id != owner:
                raise forbidden()
        for key in sort:
            if key.lstrip("-") not in metrics and key.lstrip("-") not in dimensions:
                raise not_supported()
        return q

    @staticmethod
    def _check_report(q: Query, filters: Mapping[str, list[str]]) -> None:
        metrics, dims = set(q.metrics), q.dimensions
        if dims == ["elapsedVideoTimeRatio"]:
            ok = (
                metrics <= RETENTION_METRICS.keys()
                and len(q.video_ids) == 1
                and set(filters) <= RETENTION_FILTERS
            )
        elif dims in ([], ["day"], ["month"]):
            ok = metrics <= CORE_METRICS.keys() and not filters
        elif dims == ["video"]:
            ok = (
                metrics <= CORE_METRICS.keys()
                and not filters
                and not q.video_ids
                and q.max_results is not None
                and q.max_results <= MAX_TOP_VIDEOS
                and bool(q.sort)
                and all(s.startswith("-") and s[1:] in metrics for s in q.sort)
            )
        else:
            ok = False
        if not ok:
            raise not_supported()

    # -------------------------------------------------------------- the reports

    def _daily(self, model: VideoModel, day: date, today: date) -> dict[str, float]:
        share = REVISION.get((today - day).days, 1.0)
        return model.day_figures(day, share)

    def _activity(self, q: Query, today: date, last: date) -> list[list[Any]]:
        models = (
            [self.model(v) for v in q.video_ids] if q.video_ids else self.owned_videos(q.channel_id)
        )
        models = [m for m in models if m is not None]
        end = min(q.end, last)
        days: dict[date, list[dict[str, float]]] = {}
        per_video: dict[str, list[dict[str, float]]] = {}
        for model in models:
            first = max(q.start, model.published)
            day = first
            while day <= end:
                figures = self._daily(model, day, today)
                days.setdefault(day, []).append(figures)
                per_video.setdefault(model.video_id, []).append(figures)
                day += timedelta(days=1)
        rows: list[list[Any]] = []
        if q.dimensions == ["day"]:
            for day in sorted(days):
                rows.append([day.isoformat(), *_pick(_combine(days[day]), q.metrics)])
        elif q.dimensions == ["month"]:
            months: dict[str, list[dict[str, float]]] = {}
            for day, figures in days.items():
                months.setdefault(day.strftime("%Y-%m"), []).extend(figures)
            for month in sorted(months):
                rows.append([month, *_pick(_combine(months[month]), q.metrics)])
        elif q.dimensions == ["video"]:
            for video_id, figures in per_video.items():
                rows.append([video_id, *_pick(_combine(figures), q.metrics)])
        elif days:
            rows.append(_pick(_combine(f for fs in days.values() for f in fs), q.metrics))
        return rows

    def _retention(self, q: Query, today: date, last: date) -> list[list[Any]]:
        model = self.model(q.video_ids[0])
        assert model is not None  # parse() checked it
        end = min(q.end, last)
        views = 0
        day = max(q.start, model.published)
        while day <= end:
            views += int(self._daily(model, day, today)["views"])
            day += timedelta(days=1)
        if views < self.min_retention_views or not model.duration:
            return []
        rows = []
        noise = _uniforms(model.video_id, "retention", q.start, end)
        for k, final in enumerate(model.curve, start=1):
            r = k / 100
            wobble = (noise[k % 8] - 0.5) * 0.01
            ratio = max(0.0, final + wobble)
            typical = _base_curve(r)
            values = {
                "audienceWatchRatio": round(ratio, 4),
                "relativeRetentionPerformance": round(
                    min(1.0, max(0.0, 0.5 + (ratio / typical - 1) * 0.8)), 4
                ),
                "totalSegmentImpressions": round(views * ratio),
                "startedWatching": round(views * 0.01 * noise[(k + 3) % 8]),
                "stoppedWatching": round(views * max(0.0, _base_curve(r - 0.01) - typical)),
            }
            rows.append([r, *(values[m] for m in q.metrics)])
        return rows


# ------------------------------------------------------------------ helpers


def _seconds(iso_duration: str) -> int:
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", iso_duration)
    if not match:
        return 0
    d, h, m, s = (int(g or 0) for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _date(value: str, field: str) -> date:
    if not _DATE.fullmatch(value):
        raise invalid_date(value, field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_value(value, field) from None


def _filters(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in (p for p in value.split(";") if p.strip()):
        name, sep, values = part.partition("==")
        if not sep or not values or not name:
            raise invalid_value(value, "filters")
        if name not in DIMENSION_TYPES and name not in OTHER_DIMENSIONS:
            raise unknown_identifier(name, "filters")
        out[name.strip()] = _names(values)
    return out


def _pick(figures: Mapping[str, float], metrics: list[str]) -> list[float]:
    return [figures[m] for m in metrics]


def _sorted(rows: list[list[Any]], q: Query, headers: list[dict[str, str]]) -> list[list[Any]]:
    names = [h["name"] for h in headers]
    for key in reversed(q.sort):
        column = names.index(key.lstrip("-"))
        rows = sorted(rows, key=lambda row, c=column: row[c], reverse=key.startswith("-"))
    return rows
