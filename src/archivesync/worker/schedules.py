"""Schedule files: every `*.toml` in a directory, validated into job specs for the daemon.

A file holds `[[jobs]]` tables::

    [[jobs]]
    id = "rilg-incremental"
    channel = "UCX__Mlqfalo-NO1zAHhhuNw"
    mode = "incremental"        # or "full", "stats", "analytics", "transcripts", "embed"
    cron = "*/30 * * * *"       # crontab syntax, 0 and 7 mean Sunday
    # every = "15m"             # or an interval; exactly one of cron / every
    timezone = "Asia/Tokyo"     # optional, default UTC
    grace = "15m"               # optional: a run this late is skipped as missed (and notified)

One file may also say where the daemon replicates the database (`--replicate-to` wins)::

    [replication]
    url = "file:///mnt/backup/archive"   # or s3://bucket/path, sftp://host/path
    stall_after = "60s"   # optional: behind and not advancing this long is a stall (notified)

and where it sends notifications (added to `--notify`; `--public-url` wins)::

    [notify]
    urls = ["mailto://user:pass@example.org", "msteams://..."]   # Apprise URLs
    public_url = "https://archive.example.org"   # the console, for links in messages

Everything is checked before the daemon starts, and every problem is reported at once, each
naming its file and job: a schedule that only fails at 3 a.m. is found by nobody.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from archivesync.errors import ConfigError
from archivesync.urls import parse_channel

MODES = ("incremental", "full", "stats", "analytics", "transcripts", "embed")
KEYS = ("id", "channel", "mode", "cron", "every", "timezone", "max_units", "grace")
DEFAULT_MAX_UNITS = 2000  # transcripts jobs: the same default as `archivesync transcripts`
DEFAULT_TIMEZONE = "UTC"
# A run due while another one is still going (or while the daemon was stopped) may start this
# late; later, it is skipped and reported as missed.
DEFAULT_GRACE = "15m"
# A replica behind the database and not advancing for this long is reported as stalled.
DEFAULT_STALL_AFTER = "60s"

# Job ids become APScheduler job ids and log fields; the daemon's own jobs use ':' so they can
# never clash with these.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_EVERY_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Crontab counts weekdays from Sunday (0, and 7 again); APScheduler 3.x counts 0 as Monday
# (its issue #1102), so weekdays are always handed over as names.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


@dataclass(frozen=True)
class JobSpec:
    """One scheduled sync, as written in a schedule file."""

    id: str
    channel: str
    mode: str
    timezone: str
    source: Path
    cron: str | None = None
    every: str | None = None
    max_units: int = DEFAULT_MAX_UNITS  # mode "transcripts" only
    grace: str = DEFAULT_GRACE

    @property
    def full(self) -> bool:
        """Whether the job runs full syncs."""
        return self.mode == "full"

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger for the job's cron or interval."""
        if self.cron is not None:
            return crontab_trigger(self.cron, self.timezone)
        return IntervalTrigger(seconds=parse_every(self.every), timezone=ZoneInfo(self.timezone))

    def describe(self) -> str:
        """When the job runs, in words."""
        when = f"cron '{self.cron}'" if self.cron is not None else f"every {self.every}"
        return f"{when} ({self.timezone})"


def _weekday(token: str) -> int:
    """A crontab weekday: 0 = Sunday .. 6 = Saturday, and 7 = Sunday again."""
    if token.isdigit():
        number = int(token)
        if number > 7:
            raise ValueError(f"weekday {token!r} is out of range (0-7, 0 and 7 are Sunday)")
    elif token in _CRON_DAYS:
        number = _CRON_DAYS.index(token)
    else:
        raise ValueError(f"unknown weekday {token!r}")
    return number


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3.x terms: `*` or a list of day names."""
    days: set[int] = set()
    for item in field.lower().split(","):
        match = _WEEKDAY_ITEM.match(item)
        if not match:
            raise ValueError(f"bad day-of-week {item!r}")
        span, step_text = match.groups()
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in day-of-week {item!r}")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-")
            first, last = _weekday(a), _weekday(b)
            if last == 0 and first > 0:
                last = 7  # Sunday closes a range as 7: "fri-sun" is "5-7"
            if last < first:
                raise ValueError(f"day-of-week range {item!r} runs backwards")
        else:
            first = _weekday(span)
            last = 6 if step_text else first  # "1/2": from Monday on, every other day
        days.update(d % 7 for d in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(name for name in _APS_ORDER if _CRON_DAYS.index(name) in days)


def crontab_trigger(expr: str, timezone: str = DEFAULT_TIMEZONE) -> CronTrigger:
    """A CronTrigger that fires when crontab would (weekday numbering included)."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    if not day.startswith("*") and not weekday.startswith("*"):
        # crontab runs when either day field matches, APScheduler only when both do.
        raise ValueError(
            "day-of-month and day-of-week are both restricted; crontab would fire when either "
            "matches but this scheduler needs both: use two jobs"
        )
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=ZoneInfo(timezone),
    )


def parse_every(text: str | None) -> int:
    """An interval such as "30s", "15m", "6h", "1d" or "1h30m", in seconds."""
    compact = (text or "").replace(" ", "").lower()
    if not compact or _EVERY_PART.sub("", compact):
        raise ValueError(f"bad interval {text!r}: use a number and s, m, h or d, e.g. '15m'")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _EVERY_PART.findall(compact))
    if seconds <= 0:
        raise ValueError(f"interval {text!r} must be longer than zero")
    return seconds


# A job may run at most this often: a sync every second burns the day's quota in minutes.
# ARCHIVESYNC_MIN_INTERVAL_SECONDS lowers it (the test suite's daemons tick every second).
MIN_INTERVAL_SECONDS = 300


def min_interval() -> int:
    """The shortest interval a schedule may ask for, in seconds."""
    try:
        return int(os.environ.get("ARCHIVESYNC_MIN_INTERVAL_SECONDS", MIN_INTERVAL_SECONDS))
    except ValueError:
        return MIN_INTERVAL_SECONDS


def _too_often(seconds: float) -> str | None:
    floor = min_interval()
    if seconds < floor:
        return (
            f"runs every {seconds:.0f} s: at most once every {floor // 60} minutes "
            f"({floor} s), or the day's quota goes in minutes"
        )
    return None


def _check_job(raw: object, index: int, path: Path) -> tuple[JobSpec | None, list[str]]:
    """Validate one [[jobs]] table; problems are returned, not raised, to report them all."""
    if not isinstance(raw, dict):
        return None, [f"{path}: jobs[{index}]: must be a table ([[jobs]])"]
    job_id = raw.get("id")
    name = f"job {job_id!r}" if isinstance(job_id, str) and job_id else f"jobs[{index}]"
    problems: list[str] = []

    def problem(text: str) -> None:
        problems.append(f"{path}: {name}: {text}")

    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        problem(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(KEYS)})")
    if job_id is None:
        problem("missing 'id'")
    elif not isinstance(job_id, str) or not _ID.match(job_id):
        problem("'id' must be letters, digits, '_', '.' or '-', starting with a letter or digit")
    channel = raw.get("channel")
    if channel is None and raw.get("mode") == "embed":
        channel = ""  # the meaning index covers every channel of the database
    elif channel is None:
        problem("missing 'channel'")
    elif not isinstance(channel, str):
        problem(f"'channel' must be a channel id such as 'UC...', not {channel!r}")
    else:
        try:
            ref = parse_channel(channel)
        except ValueError as e:
            problem(f"'channel': {e}")
        else:
            if ref.handle:
                # Looking a handle up would spend a unit at every start; the id never changes.
                problem(
                    f"'channel' {channel!r} is a handle: write the channel id (UC...) instead "
                    f"(`archivesync sync --channel {ref.handle}` shows it)"
                )
            else:
                channel = ref.channel_id  # a channel URL is written down as its id
    mode = raw.get("mode", "incremental")
    if mode not in MODES:
        problem(f"bad mode {mode!r} (use {', '.join(repr(m) for m in MODES)})")
    max_units = raw.get("max_units", DEFAULT_MAX_UNITS)
    if "max_units" in raw and mode != "transcripts":
        problem("'max_units' goes with mode = \"transcripts\" only")
    elif not isinstance(max_units, int) or isinstance(max_units, bool) or max_units < 0:
        problem(f"'max_units' must be a whole number of quota units, not {max_units!r}")
    timezone = raw.get("timezone", DEFAULT_TIMEZONE)
    zone_ok = False
    if not isinstance(timezone, str):
        problem(f"'timezone' must be a string such as 'Asia/Tokyo', not {timezone!r}")
    else:
        try:
            ZoneInfo(timezone)
            zone_ok = True
        except (ZoneInfoNotFoundError, ValueError):
            problem(f"unknown timezone {timezone!r}")
    cron, every = raw.get("cron"), raw.get("every")
    if (cron is None) == (every is None):
        problem("give exactly one of 'cron' or 'every'")
    # Each value given is checked even when another key is wrong, so one pass finds it all.
    if cron is not None:
        if not isinstance(cron, str):
            problem(f"'cron' must be a string such as '*/30 * * * *', not {cron!r}")
        else:
            try:
                trigger = crontab_trigger(cron, timezone if zone_ok else DEFAULT_TIMEZONE)
            except ValueError as e:
                problem(f"bad cron expression {cron!r}: {e}")
            else:
                first = trigger.get_next_fire_time(None, datetime.now(UTC))
                if first is None:
                    problem(f"cron expression {cron!r} never fires")
                else:
                    second = trigger.get_next_fire_time(first, first)
                    gap = (second - first).total_seconds() if second else None
                    if gap is not None and (message := _too_often(gap)):
                        problem(f"cron expression {cron!r} {message}")
    if every is not None:
        if not isinstance(every, str):
            problem(f"'every' must be a string such as '15m', not {every!r}")
        else:
            try:
                seconds = parse_every(every)
            except ValueError as e:
                problem(str(e))
            else:
                if message := _too_often(seconds):
                    problem(f"every = {every!r} {message}")
    grace = raw.get("grace", DEFAULT_GRACE)
    try:
        parse_every(grace)
    except (ValueError, AttributeError):
        problem(f"'grace' must be a duration such as '15m', not {grace!r}")
    if problems:
        return None, problems
    spec = JobSpec(
        id=job_id,
        channel=channel,
        mode=mode,
        timezone=timezone,
        source=path,
        cron=cron,
        every=every,
        max_units=max_units,
        grace=grace,
    )
    return spec, []


def _job_id(raw: object) -> str | None:
    """A job's id when it is a well-formed one, whatever else is wrong with the job."""
    job_id = raw.get("id") if isinstance(raw, dict) else None
    return job_id if isinstance(job_id, str) and _ID.match(job_id) else None


def _load_file(path: Path) -> tuple[list[JobSpec], list[str], list[str]]:
    """The valid jobs in one file, the problems, and the ids of all its jobs."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        return [], [f"{path}: invalid TOML: {e}"], []
    except OSError as e:
        return [], [f"{path}: cannot read: {e.strerror}"], []
    problems: list[str] = []
    unknown = sorted(set(data) - {"jobs", "replication", "notify"})
    if unknown:
        problems.append(
            f"{path}: unknown top-level key(s) {', '.join(unknown)} "
            "(only [[jobs]], [replication], [notify])"
        )
    raw_jobs = data.get("jobs", [])
    if not isinstance(raw_jobs, list):
        return [], [*problems, f"{path}: 'jobs' must be an array of tables ([[jobs]])"], []
    specs: list[JobSpec] = []
    for index, raw in enumerate(raw_jobs):
        spec, found = _check_job(raw, index, path)
        problems.extend(found)
        if spec:
            specs.append(spec)
    ids = [job_id for job_id in map(_job_id, raw_jobs) if job_id]
    return specs, problems, ids


def _schedule_files(directory: Path) -> list[Path]:
    # Editors leave hidden files such as .rilg.toml.swp or .#rilg.toml next to the real one.
    return sorted(p for p in directory.glob("*.toml") if not p.name.startswith("."))


def _tables(directory: str | Path, name: str) -> Iterator[tuple[Path, object]]:
    """(file, its `[name]` table) for each schedule file that has one."""
    for path in _schedule_files(Path(directory)):
        with open(path, "rb") as f:
            table = tomllib.load(f).get(name)
        if table is not None:
            yield path, table


def load_schedules(directory: str | Path) -> list[JobSpec]:
    """Every job in `directory/*.toml`, or ConfigError listing every problem found."""
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(f"schedules directory {str(directory)!r} {what}")
    files = _schedule_files(directory)
    if not files:
        raise ConfigError(f"no *.toml schedule files in {str(directory)!r}")
    specs: list[JobSpec] = []
    problems: list[str] = []
    first_seen: dict[str, Path] = {}
    for path in files:
        found, file_problems, ids = _load_file(path)
        problems.extend(file_problems)
        # Duplicates are found among all ids, so a job with another problem is still counted.
        for job_id in ids:
            if job_id in first_seen:
                problems.append(
                    f"{path}: job {job_id!r}: duplicate id, already defined in {first_seen[job_id]}"
                )
            else:
                first_seen[job_id] = path
        specs.extend(found)
    if problems:
        raise ConfigError("invalid schedule files:\n  " + "\n  ".join(problems))
    if not specs:
        raise ConfigError(f"the schedule files in {str(directory)!r} define no jobs")
    return specs


@dataclass(frozen=True)
class Replication:
    """The `[replication]` table: the replica URL (None: none) and when a replica is stalled."""

    url: str | None = None
    stall_after: str = DEFAULT_STALL_AFTER


def load_replication(directory: str | Path) -> Replication:
    """The `[replication]` table of `directory/*.toml`, if one file has one."""
    found: list[tuple[Path, dict]] = []
    for path, table in _tables(directory, "replication"):
        if (
            not isinstance(table, dict)
            or set(table) - {"url", "stall_after"}
            or not all(isinstance(v, str) for v in table.values())
        ):
            raise ConfigError(f'{path}: [replication] takes url = "file:///..." (and stall_after)')
        try:
            parse_every(table.get("stall_after", DEFAULT_STALL_AFTER))
        except ValueError as e:
            raise ConfigError(f"{path}: [replication] stall_after: {e}") from None
        found.append((path, table))
    if len(found) > 1:
        raise ConfigError(
            "[replication] is set in more than one file: "
            + ", ".join(str(path) for path, _ in found)
        )
    return Replication(**found[0][1]) if found else Replication()


def load_notify(directory: str | Path) -> tuple[list[str], str | None]:
    """The `[notify]` tables of `directory/*.toml`: every URL, and the console's public URL."""
    urls: list[str] = []
    public: list[tuple[Path, str]] = []
    for path, table in _tables(directory, "notify"):
        given = table.get("urls", []) if isinstance(table, dict) else None
        if (
            not isinstance(table, dict)
            or set(table) - {"urls", "public_url"}
            or not isinstance(given, list)
            or not all(isinstance(u, str) and "://" in u for u in given)
            or not isinstance(table.get("public_url", ""), str)
        ):
            raise ConfigError(
                f'{path}: [notify] takes urls = ["scheme://...", ...] and public_url = "https://..."'
            )
        urls.extend(given)
        if "public_url" in table:
            public.append((path, table["public_url"]))
    if len(public) > 1:
        raise ConfigError(
            "[notify] public_url is set in more than one file: "
            + ", ".join(str(path) for path, _ in public)
        )
    return urls, (public[0][1] if public else None)
