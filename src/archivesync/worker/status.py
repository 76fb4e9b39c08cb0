"""`archivesync status`: what the daemon, the runs, the request queue and the quota are doing.

`collect` reads everything into one dict (the `--json` output); `render` turns it into text
for staff. Both only read: status is safe to run at any moment, next to a running sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from sqlite_utils import Database

from archivesync.db import quota, runs
from archivesync.db.heartbeat import STALE_AFTER_SECONDS, heartbeat_age, read_heartbeat
from archivesync.db.runs import FIGURES
from archivesync.host import pid_alive
from archivesync.notify.state import open_problems
from archivesync.reporting import figures_sentence
from archivesync.sync.requests import ACTIVE
from archivesync.sync.targets import describe
from archivesync.timestamps import format_utc, parse_utc

RECENT_REQUESTS = 5
RECENT_RUNS = 5


def _age(text: str | None, now: datetime) -> float | None:
    if not text:
        return None
    moment = parse_utc(text)
    return round((now - moment).total_seconds(), 1)


def _rows(db: Database, table: str, sql: str, params=()) -> list[dict]:
    # A database written by an older archivesync may lack the newer tables.
    return list(db.query(sql, params)) if db[table].exists() else []


def _run(row: dict) -> dict:
    keys = ("id", "channel_id", "mode", "trigger", "target", "status", "started_at")
    keys += ("finished_at", "heartbeat_at", "error", "pid", *FIGURES)
    return {k: row[k] for k in keys}


def _daemon(db: Database, now: datetime) -> dict:
    row = read_heartbeat(db)
    if row is None:
        return {"state": "never started", "alive": False}
    age = heartbeat_age(row, now)
    if row["stopped_at"]:
        state = "stopped"
    elif age is not None and age <= STALE_AFTER_SECONDS:
        state = "running"
    else:
        state = "not responding"
    return {
        "state": state,
        "alive": state == "running",
        "pid": row["pid"],
        "hostname": row["hostname"],
        "started_at": row["started_at"],
        "heartbeat_at": row["heartbeat_at"],
        "heartbeat_age_seconds": None if age is None else round(age, 1),
        "stopped_at": row["stopped_at"],
        "schedules_dir": row["schedules_dir"],
    }


def _schedule(db: Database) -> list[dict]:
    row = read_heartbeat(db)
    try:
        jobs = json.loads(row["jobs"]) if row and row["jobs"] else []
    except ValueError:
        return []
    return jobs if isinstance(jobs, list) else []


def quota_buckets(db: Database, now: datetime, budgets: dict[str, int]) -> dict[str, dict]:
    """Each quota bucket's day: spent, budget, left and reset; `budgets` overrides the limits."""
    day = quota.pacific_day(now)
    reset = quota.next_reset(now)
    ledger = db["quota_usage"].exists()
    found = {}
    for name, bucket in quota.BUCKETS.items():
        budget = budgets.get(name, bucket.daily_limit)
        spent = quota.spent_on(db, day, name) if ledger else 0
        found[name] = {
            "day": day,
            "spent": spent,
            "budget": budget,
            "left": max(0, budget - spent),
            "next_reset_at": format_utc(reset),
            "resets_in_seconds": round((reset - now).total_seconds()),
        }
    return found


def collect(
    db: Database,
    *,
    db_path: str | Path,
    daily_budget: int = quota.DEFAULT_DAILY_BUDGET,
    budgets: dict[str, int] | None = None,
    now: datetime | None = None,
) -> dict:
    """Everything `status` shows, as one dict (the --json output)."""
    now = now or datetime.now(UTC)
    current = []
    for row in runs.running_runs(db):
        run = _run(row)
        run["progress_age_seconds"] = _age(row["heartbeat_at"], now)
        run["running_for_seconds"] = _age(row["started_at"], now)
        run["process_alive"] = pid_alive(row["pid"]) if row["pid"] else None
        current.append(run)
    titles = {
        r["id"]: r
        for r in _rows(
            db, "channels", "SELECT id, title, last_synced_at, last_full_sync_at FROM channels"
        )
    }
    last_runs = runs.last_finished_per_channel(db)
    channels = []
    seen = set()
    for row in last_runs:
        info = titles.get(row["channel_id"], {})
        seen.add(row["channel_id"])
        channels.append(
            {
                "channel_id": row["channel_id"],
                "title": info.get("title"),
                "last_synced_at": info.get("last_synced_at"),
                "last_full_sync_at": info.get("last_full_sync_at"),
                "last_run": _run(row),
            }
        )
    for channel_id, info in sorted(titles.items()):
        if channel_id not in seen:
            channels.append(
                {
                    "channel_id": channel_id,
                    "title": info["title"],
                    "last_synced_at": info["last_synced_at"],
                    "last_full_sync_at": info["last_full_sync_at"],
                    "last_run": None,
                }
            )
    recent_runs = [_run(r) for r in runs.recent_finished(db, RECENT_RUNS)]
    marks = ",".join("?" * len(ACTIVE))
    active = _rows(
        db,
        "sync_requests",
        f"SELECT * FROM sync_requests WHERE status IN ({marks}) ORDER BY id",
        ACTIVE,
    )
    finished = _rows(
        db,
        "sync_requests",
        f"SELECT * FROM sync_requests WHERE status NOT IN ({marks}) ORDER BY id DESC LIMIT ?",
        [*ACTIVE, RECENT_REQUESTS],
    )
    buckets = quota_buckets(db, now, {quota.DEFAULT: daily_budget, **(budgets or {})})
    return {
        "database": str(db_path),
        "checked_at": format_utc(now),
        "daemon": _daemon(db, now),
        "current_runs": current,
        "channels": channels,
        "recent_runs": recent_runs,
        "requests": {"active": active, "recent": finished},
        # The default bucket's figures stay at the top, as before buckets existed.
        "quota": {**buckets[quota.DEFAULT], "buckets": buckets},
        "schedule": _schedule(db),
        # Problems the daemon has notified and that are not over (never the URLs it used).
        "notifications": open_problems(db),
    }


# --- text ----------------------------------------------------------------------------------

# The database and --json keep UTC; people read their own clock, with its offset shown.
Clock = Callable[[str | None], str | None]


def local_time(text: str | None, zone: tzinfo | None) -> str | None:
    """A stored UTC time ("...Z") in `zone` (None: the system's), with its offset."""
    if not text:
        return text
    try:
        moment = parse_utc(text)
    except ValueError:
        return text  # not ours to reformat
    local = moment.astimezone(zone)
    if not local.utcoffset():
        return format_utc(local)
    return local.isoformat(timespec="seconds")


def zone_label(zone: tzinfo | None, now: datetime | None = None) -> str:
    """How the zone of the times shown is named: `Asia/Tokyo (UTC+09:00)`."""
    local = (now or datetime.now(UTC)).astimezone(zone)
    offset = local.strftime("%z")
    name = str(zone) if zone is not None else local.tzname()
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def duration(seconds: float | None) -> str:
    """Seconds in words for people: `45s`, `3m 05s`, `2h 10m`, `3d 4h`."""
    if seconds is None:
        return "?"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _daemon_line(d: dict, t: Clock) -> str:
    if d["state"] == "never started":
        return "Daemon: never started on this database"
    where = f"pid {d['pid']} on {d['hostname']}"
    if d["state"] == "running":
        return (
            f"Daemon: running ({where}, last heartbeat {duration(d['heartbeat_age_seconds'])} "
            f"ago, up since {t(d['started_at'])})"
        )
    if d["state"] == "stopped":
        return f"Daemon: stopped at {t(d['stopped_at'])} ({where})"
    return (
        f"Daemon: NOT RESPONDING: last heartbeat {duration(d['heartbeat_age_seconds'])} ago "
        f"({where}); requests will not be picked up"
    )


def _current_lines(runs: list[dict]) -> list[str]:
    if not runs:
        return ["Current run: none"]
    lines = []
    for run in runs:
        lines.append(
            f"Current run {run['id']}: {run['target'] or run['channel_id']} ({run['mode']}, "
            f"trigger {run['trigger']}), running for {duration(run['running_for_seconds'])}"
        )
        lines.append(
            f"  {run['pages']} pages, {run['videos_seen']} videos seen, {run['quota_units']} "
            f"quota units; last progress {duration(run['progress_age_seconds'])} ago"
        )
        if run["process_alive"] is False:
            lines.append(
                f"  its process (pid {run['pid']}) is gone: the next sync will mark it interrupted"
            )
    return lines


def _channel_lines(channels: list[dict], t: Clock) -> list[str]:
    if not channels:
        return ["Channels: none synced yet"]
    lines = ["Channels:"]
    for c in channels:
        title = f" ({c['title']})" if c["title"] else ""
        lines.append(f"  {c['channel_id']}{title}")
        run = c["last_run"]
        if run:
            lines.append(
                f"    last run {run['id']}: {run['status']} ({run['mode']}, {run['trigger']}) "
                f"ended {t(run['finished_at'])}; {figures_sentence(run)}"
            )
            if run["error"]:
                lines.append(f"    error: {run['error']}")
        lines.append(
            f"    last sync {t(c['last_synced_at']) or 'never'}, last full sync "
            f"{t(c['last_full_sync_at']) or 'never'}"
        )
    return lines


def _request_line(r: dict, t: Clock) -> str:
    text = (
        f"  #{r['id']} {r['status']:<15} {describe(r['target_kind'], r['target_id'], r['mode'])}"
        f", by {r['requested_by'] or '?'} at {t(r['requested_at'])}"
    )
    if r["run_id"] is not None:
        text += f", run {r['run_id']}"
    if r["finished_at"]:
        text += f", ended {t(r['finished_at'])}"
    if r["error"]:
        text += f"\n      {r['error']}"
    return text


def _request_lines(requests: dict, t: Clock) -> list[str]:
    lines = []
    if requests["active"]:
        lines.append("Requests in the queue:")
        lines.extend(_request_line(r, t) for r in requests["active"])
    else:
        lines.append("Requests in the queue: none")
    if requests["recent"]:
        lines.append("Recent requests:")
        lines.extend(_request_line(r, t) for r in requests["recent"])
    return lines


def _schedule_lines(jobs: list[dict], daemon: dict, t: Clock) -> list[str]:
    if not daemon["alive"]:
        return ["Next scheduled runs: none (the daemon is not running)"]
    if not jobs:
        return ["Next scheduled runs: none"]
    lines = ["Next scheduled runs:"]
    for job in jobs:
        lines.append(
            f"  {t(job.get('next_run_at')) or 'paused':<20} {job.get('id')}: {job.get('mode')} "
            f"sync of {job.get('channel')}, {job.get('schedule')}"
        )
    return lines


def _notification_lines(problems: list[dict], t: Clock) -> list[str]:
    if not problems:
        return []
    lines = ["Notified problems still going on:"]
    for p in problems:
        run = f", run {p['run_id']}" if p["run_id"] is not None else ""
        lines.append(f"  {p['event']} {p['subject'] or ''} since {t(p['since'])}{run}")
        if p["cause"]:
            lines.append(f"    {p['cause']}")
    return lines


def render(status: dict, zone: tzinfo | None = UTC) -> str:
    """Status as text for staff, times in `zone` (None: the system's zone)."""
    q = status["quota"]

    def t(text: str | None) -> str | None:
        return local_time(text, zone)

    lines = [
        f"Database: {status['database']}",
        f"Times in {zone_label(zone)}",
        _daemon_line(status["daemon"], t),
        *_current_lines(status["current_runs"]),
        *_channel_lines(status["channels"], t),
        *_request_lines(status["requests"], t),
        f"Quota today (Pacific day {q['day']}), resets at {t(q['next_reset_at'])} "
        f"(in {duration(q['resets_in_seconds'])}):",
        *(
            f"  {name}: {b['spent']} of {b['budget']} units spent, {b['left']} left"
            for name, b in q["buckets"].items()
        ),
        *_schedule_lines(status["schedule"], status["daemon"], t),
        *_notification_lines(status["notifications"], t),
    ]
    return "\n".join(lines)
