"""The one timestamp format the index stores: `YYYY-MM-DDTHH:MM:SSZ`, always UTC."""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_utc(moment: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SSZ` in UTC (naive ones are taken as local)."""
    return moment.astimezone(UTC).strftime(FORMAT)


def parse_utc(text: str) -> datetime:
    """A stored `YYYY-MM-DDTHH:MM:SSZ` back to an aware UTC datetime; ValueError otherwise."""
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


def utcnow() -> str:
    """Now, in the stored format."""
    return datetime.now(UTC).strftime(FORMAT)
