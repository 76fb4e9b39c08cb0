"""What has been told: the `notify_state` table decides whether an event is news.

A problem is news when it begins (or when its last message could not be delivered); while it
lasts, repeats are not; its end is news once. The rows outlive the daemon, so a restart during
a problem stays quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

PROBLEM = "problem"
OK = "ok"


@dataclass
class Change:
    """A state change worth a message: `recovered` False for a problem that began."""

    key: str
    event: str
    subject: str | None
    recovered: bool
    cause: str | None
    run_id: int | None
    since: str


def observe(
    db: Database,
    event: str,
    subject: str | None,
    *,
    problem: bool,
    now: str,
    cause: str | None = None,
    run_id: int | None = None,
) -> Change | None:
    """Record what was seen of (event, subject); returns the change to tell, or None."""
    key = f"{event}:{subject or ''}"
    row = next(db.query("SELECT * FROM notify_state WHERE key = ?", [key]), None)
    if problem:
        if row is not None and row["state"] == PROBLEM and row["sent"]:
            return None  # already told: a failure repeated every 15 minutes stays one message
        since = row["since"] if row is not None and row["state"] == PROBLEM else now
        values = {"state": PROBLEM, "cause": cause, "run_id": run_id, "since": since, "sent": 0}
    else:
        if row is None or row["state"] == OK:
            return None
        if not row["sent"]:
            # Over before anyone could be told: nothing to report either way.
            db["notify_state"].update(key, {"state": OK, "since": now, "sent": 1})
            return None
        since = row["since"]
        values = {"state": OK, "run_id": run_id, "since": now, "sent": 0}
    db["notify_state"].upsert(
        {"key": key, "event": event, "subject": subject, **values}, pk="key", alter=False
    )
    return Change(key, event, subject, not problem, cause, run_id, since)


def mark_sent(db: Database, key: str, now: str, delivered: bool) -> None:
    """Remember that a message went out (or could not): undelivered ones are tried again."""
    db["notify_state"].update(key, {"notified_at": now, "sent": 1 if delivered else 0})


def open_problems(db: Database) -> list[dict]:
    """Problems still going on, for `status` and the console."""
    if not db["notify_state"].exists():
        return []
    return list(
        db.query(
            "SELECT event, subject, cause, run_id, since, notified_at FROM notify_state "
            "WHERE state = ? ORDER BY since",
            [PROBLEM],
        )
    )
