"""The one timestamp format the index stores: `YYYY-MM-DDTHH:MM:SSZ`, always UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# A run reads the time from one clock, so every decision it takes (quota day, windows, ages,
# expiry) agrees with the timestamps it writes; tests inject their own.
Clock = Callable[[], datetime]

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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


def json_time(value: datetime | str | None) -> str | None:
    """Any time we hand out as JSON (a datetime or an ISO 8601 string) in the one format.

    Strings already in it pass through; `...+00:00`, offsets and fractions become `...Z`;
    text that is no time at all is returned unchanged rather than lost.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return format_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
