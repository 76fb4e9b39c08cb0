"""The one timestamp format the index stores (`YYYY-MM-DDTHH:MM:SSZ`, always UTC), and the one
lenient parser for the timestamps the API and people write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

# A run reads the time from one clock, so every decision it takes (quota day, windows, ages,
# expiry) agrees with the timestamps it writes; tests inject their own.
Clock = Callable[[], datetime]

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Japan has had no daylight saving time since 1951: a fixed offset is exact and needs no tzdata.
TOKYO = timezone(timedelta(hours=9), "JST")


def format_utc(moment: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SSZ` in UTC (naive ones are taken as local)."""
    return moment.astimezone(UTC).strftime(FORMAT)


def parse_utc(text: str) -> datetime:
    """A stored `YYYY-MM-DDTHH:MM:SSZ` back to an aware UTC datetime; ValueError otherwise."""
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


def system_clock() -> datetime:
    """The wall clock, as an aware UTC datetime (the default `Clock`)."""
    return datetime.now(UTC)


def utcnow(clock: Clock = system_clock) -> str:
    """Now by `clock`, in the stored format."""
    return format_utc(clock())


# --------------------------------------------------------------------------------------------
# Timestamps as the API writes them
# --------------------------------------------------------------------------------------------


def parse_iso(s: str | None) -> datetime | None:
    """An API timestamp (``2022-04-01T09:00:00Z``, ``...00.123Z``, ``...+09:00``) as an aware
    UTC datetime truncated to whole seconds. None or "" gives None; a timestamp without an
    offset is taken as UTC; anything unparsable raises ValueError.
    """
    if s is None or not s.strip():
        return None
    try:
        dt = datetime.fromisoformat(s.strip())
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 timestamp: {s!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)


def iso_utc(dt: datetime | str | None) -> str | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC for a datetime or an API timestamp string.

    Naive datetimes are taken as UTC; fractions of a second are dropped. None gives None.
    """
    if dt is None:
        return None
    if isinstance(dt, str):
        parsed = parse_iso(dt)
        if parsed is None:
            return None
        dt = parsed
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return format_utc(dt)


def read_iso(s: str | None) -> datetime | None:
    """`parse_iso`, with None for a text it cannot read (for display and ordering, not storage)."""
    try:
        return parse_iso(s)
    except ValueError:
        return None


def json_time(value: datetime | str | None) -> str | None:
    """Any time we hand out as JSON (a datetime or an ISO 8601 string) in the one format.

    Strings already in it pass through; `...+00:00`, offsets and fractions become `...Z`;
    text that is no time at all is returned unchanged rather than lost.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
    moment = read_iso(value)
    return format_utc(moment) if moment else value
