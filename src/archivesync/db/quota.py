"""The quota ledger: units spent per bucket and Pacific-time day, the day YouTube resets on.

Since 2026 YouTube charges some methods to their own quota buckets: `videos.batchGetStats`
spends nothing from the project's default 10,000 units. Each bucket has its own daily limit and
safety margin here, and its own rows in `quota_usage`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from archivesync.errors import QuotaExhausted

if TYPE_CHECKING:
    from sqlite_utils import Database

PACIFIC = ZoneInfo("America/Los_Angeles")
DEFAULT_DAILY_BUDGET = 10_000
# Units kept back from the budget for staff resyncs and for other tools sharing the key.
DEFAULT_SAFETY_MARGIN = 500

DEFAULT = "default"
STATS = "videos.batchGetStats"


@dataclass(frozen=True)
class Bucket:
    """One quota bucket: what YouTube allows a day and what we keep back from it."""

    name: str
    daily_limit: int
    safety_margin: int


# The statistics bucket's default: 10,000 calls a day (and 600 a minute) per project.
BUCKETS = {
    DEFAULT: Bucket(DEFAULT, DEFAULT_DAILY_BUDGET, DEFAULT_SAFETY_MARGIN),
    STATS: Bucket(STATS, 10_000, 100),
}


def pacific_day(now: datetime | None = None) -> str:
    """The quota day (the API resets at midnight Pacific time) as YYYY-MM-DD."""
    now = now or datetime.now(UTC)
    return now.astimezone(PACIFIC).date().isoformat()


def next_reset(now: datetime | None = None) -> datetime:
    """The next midnight Pacific time, in UTC."""
    now = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), PACIFIC)
    return midnight.astimezone(UTC)


def spent_on(db: Database, day: str, bucket: str = DEFAULT) -> int:
    """Units recorded as spent on `day` in `bucket`."""
    rows = list(
        db.query("SELECT units FROM quota_usage WHERE day = ? AND bucket = ?", [day, bucket])
    )
    return rows[0]["units"] if rows else 0


def record_units(db: Database, day: str, units: int, bucket: str = DEFAULT) -> None:
    """Add `units` to the ledger for `day` in `bucket`."""
    if units:
        db.execute(
            "INSERT INTO quota_usage (day, bucket, units) VALUES (?, ?, ?) "
            "ON CONFLICT(day, bucket) DO UPDATE SET units = units + excluded.units",
            [day, bucket, units],
        )


class QuotaGuard:
    """Counts a bucket's units (thread-safe) and refuses a call that would pass its budget."""

    def __init__(self, budget: int | None = None, already_spent: int = 0, bucket: str = DEFAULT):
        self.budget = budget
        self.already_spent = already_spent
        self.bucket = bucket
        self.units = 0
        self._lock = threading.Lock()

    def take(self, units: int = 1) -> None:
        """Count `units` (captions calls cost 50 or 200); QuotaExhausted past the budget."""
        with self._lock:
            if self.budget is not None and self.already_spent + self.units + units > self.budget:
                which = "" if self.bucket == DEFAULT else f" of the {self.bucket} bucket"
                raise QuotaExhausted(
                    f"daily quota budget{which} reached ({self.already_spent + self.units} of "
                    f"{self.budget} units spent today, Pacific time); try again after the reset"
                )
            self.units += units

    def refund(self, units: int = 1) -> None:
        """Give back units taken for a request that never got an HTTP answer."""
        with self._lock:
            self.units -= units
