"""Pure parsing of `videos.batchGetStats` answers: no I/O, no database.

Its `contentDetails.duration` is a `google.protobuf.Duration` in JSON (`"3723s"`, maybe with a
fraction: `"3723.5s"`), not ISO 8601 as in videos.list; `snippet.publishTime` is a protobuf
Timestamp (RFC 3339 in UTC, with up to nine fractional digits).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^(-?)(\d+)(?:\.(\d{1,9}))?s$")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)$"
)


def parse_protobuf_duration(text: str | None) -> float | None:
    """Seconds in a protobuf Duration (`"3723s"`, `"3723.5s"`); None when absent.

    Anything else (ISO 8601 `PT1H`, a number, a negative length) raises ValueError.
    """
    if text is None or text == "":
        return None
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or match.group(1):
        raise ValueError(f"not a protobuf Duration such as '3723s': {text!r}")
    fraction = match.group(3) or ""
    return int(match.group(2)) + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def duration_seconds(text: str | None) -> int | None:
    """Whole seconds, rounded down as `videos.duration_seconds` stores them; 0 means unknown."""
    seconds = parse_protobuf_duration(text)
    if seconds is None:
        return None
    return int(seconds) or None


def parse_rfc3339(text: str | None) -> datetime | None:
    """A protobuf Timestamp (`2026-06-03T01:02:03.123456789Z`) as an aware UTC datetime.

    Nanoseconds are cut to microseconds (what datetime holds); an offset other than Z is
    honoured. None or "" gives None; anything else raises ValueError.
    """
    if text is None or text == "":
        return None
    match = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(9, "0")[:6])
    offset = timedelta(0)
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
    )
    return moment - offset


def _count(value) -> int | None:
    # int64 counters arrive as strings; an absent one (likes hidden, comments off) is unknown.
    return int(value) if value is not None else None


def stats_row(item: dict) -> dict:
    """A `youtube#videoStats` item as the counters, duration and publication time we store."""
    statistics = item.get("statistics") or {}
    published = parse_rfc3339((item.get("snippet") or {}).get("publishTime"))
    return {
        "id": item["id"],
        "view_count": _count(statistics.get("viewCount")),
        "like_count": _count(statistics.get("likeCount")),
        "comment_count": _count(statistics.get("commentCount")),
        "duration_seconds": duration_seconds((item.get("contentDetails") or {}).get("duration")),
        "published_at": published.strftime("%Y-%m-%dT%H:%M:%SZ") if published else None,
    }
