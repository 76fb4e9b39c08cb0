"""The quota ledger: units spent per Pacific-time day, the day YouTube's quota resets on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlite_utils import Database

PACIFIC = ZoneInfo("America/Los_Angeles")
DEFAULT_DAILY_BUDGET = 10_000
# Units kept back from the budget for staff resyncs and for other tools sharing the key.
DEFAULT_SAFETY_MARGIN = 500


def pacific_day(now: datetime | None = None) -> str:
    """The quota day (the API resets at midnight Pacific time) as YYYY-MM-DD."""
    now = now or datetime.now(UTC)
    return now.astimezone(PACIFIC).date().isoformat()


def next_reset(now: datetime | None = None) -> datetime:
    """The next midnight Pacific time, in UTC."""
    now = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return midnight.astimezone(UTC)


def spent_on(db: Database, day: str) -> int:
    """Units recorded as spent on `day`."""
    rows = list(db.query("SELECT units FROM quota_usage WHERE day = ?", [day]))
    return rows[0]["units"] if rows else 0


def record_units(db: Database, day: str, units: int) -> None:
    """Add `units` to the ledger for `day`."""
    if units:
        db.execute(
            "INSERT INTO quota_usage (day, units) VALUES (?, ?) "
            "ON CONFLICT(day) DO UPDATE SET units = units + excluded.units",
            [day, units],
        )
