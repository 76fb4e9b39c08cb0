"""Schedule files: what the daemon accepts, what it refuses, and when cron jobs fire."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archivesync.errors import ConfigError
from archivesync.worker.schedules import (
    crontab_trigger,
    crontab_weekdays,
    load_schedules,
    parse_every,
)

# Schedules are decided by date: also run a year ahead (make test).
pytestmark = pytest.mark.dates

REPO = Path(__file__).resolve().parents[1]
CHANNEL = "UCX__Mlqfalo-NO1zAHhhuNw"
GOOD = f"""
[[jobs]]
id = "inc"
channel = "{CHANNEL}"
cron = "*/30 * * * *"
timezone = "Asia/Tokyo"

[[jobs]]
id = "nightly"
channel = "{CHANNEL}"
mode = "full"
every = "1h30m"
"""


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def job(**fields) -> str:
    """One [[jobs]] table; a value of None leaves the key out."""
    base = {"id": "j1", "channel": CHANNEL, "cron": "0 3 * * *"}
    base.update(fields)
    lines = ["[[jobs]]"]
    for key, value in base.items():
        if value is not None:
            lines.append(f"{key} = {value!r}" if isinstance(value, str) else f"{key} = {value}")
    return "\n".join(lines).replace("'", '"') + "\n"


def test_good_file_loads_into_specs(tmp_path):
    write(tmp_path, "a.toml", GOOD)
    inc, nightly = load_schedules(tmp_path)
    assert (inc.id, inc.channel, inc.mode, inc.cron, inc.every, inc.timezone) == (
        "inc",
        CHANNEL,
        "incremental",
        "*/30 * * * *",
        None,
        "Asia/Tokyo",
    )
    assert (nightly.mode, nightly.full, nightly.every, nightly.timezone) == (
        "full",
        True,
        "1h30m",
        "UTC",
    )
    assert inc.source == tmp_path / "a.toml"
    assert nightly.trigger().interval.total_seconds() == 5400


def test_shipped_schedule_for_the_organisation_channel_is_valid():
    specs = {s.id: s for s in load_schedules(REPO / "schedules")}
    assert {s.channel for s in specs.values()} == {CHANNEL}
    assert {s.mode for s in specs.values()} == {"incremental", "full", "stats", "analytics"}
    incremental = next(s for s in specs.values() if s.mode == "incremental")
    after = datetime(2025, 1, 6, 0, 1, tzinfo=UTC)
    first = incremental.trigger().get_next_fire_time(None, after)
    assert (first - after).total_seconds() <= 30 * 60


# (file text, words the message must contain)
BROKEN = [
    ("[[jobs]\nid = 'x'\n", ["invalid TOML", "line 1"]),
    (job(colour="blue"), ["job 'j1'", "unknown key(s) colour"]),
    ("nonsense = 1\n" + job(), ["unknown top-level key(s) nonsense"]),
    ("jobs = 3\n", ["'jobs' must be an array"]),
    (job(id=None), ["jobs[0]", "missing 'id'"]),
    (job(id="has space"), ["'id' must be"]),
    (job(id=":heartbeat"), ["'id' must be"]),
    (job(channel=None), ["job 'j1'", "missing 'channel'"]),
    (job(channel="UC bad"), ["'channel': 'UC bad' is not a channel"]),
    (job(channel=""), ["'channel': a channel is needed"]),
    (job(channel="@rilg"), ["is a handle: write the channel id"]),
    (job(every="15m"), ["exactly one of 'cron' or 'every'"]),
    (job(cron=None), ["exactly one of 'cron' or 'every'"]),
    (job(cron="*/30 * * *"), ["bad cron expression", "expected 5 fields"]),
    (job(cron="61 * * * *"), ["bad cron expression '61 * * * *'"]),
    (job(cron="0 3 * * 8"), ["bad cron expression", "out of range"]),
    (job(cron="0 3 * * funday"), ["bad cron expression", "unknown weekday"]),
    (job(cron="0 3 1 * 1"), ["both restricted"]),
    (job(cron="0 3 31 2 *"), ["never fires"]),
    (job(cron=5), ["'cron' must be a string"]),
    (job(cron=None, every="15 minutes"), ["bad interval '15 minutes'"]),
    (job(cron=None, every="0s"), ["longer than zero"]),
    (job(cron=None, every=15), ["'every' must be a string"]),
    (job(timezone="Mars/Olympus"), ["unknown timezone 'Mars/Olympus'"]),
    (job(mode="sometimes"), ["bad mode 'sometimes'"]),
    (job(grace="soon"), ["'grace' must be a duration such as '15m', not 'soon'"]),
    (job(grace=60), ["'grace' must be a duration"]),
    (job() + job(), ["duplicate id", "already defined in"]),
]


@pytest.mark.parametrize(("text", "words"), BROKEN, ids=[w[-1] for _, w in BROKEN])
def test_broken_schedule_is_refused_naming_file_job_and_problem(tmp_path, text, words):
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(ConfigError) as info:
        load_schedules(tmp_path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_every_problem_is_reported_at_once(tmp_path):
    write(tmp_path, "a.toml", job(id="one", mode="never") + job(id="two", timezone="Nowhere"))
    write(tmp_path, "b.toml", "[[jobs]\n")
    with pytest.raises(ConfigError) as info:
        load_schedules(tmp_path)
    message = str(info.value)
    assert "job 'one': bad mode" in message
    assert "job 'two': unknown timezone" in message
    assert f"{tmp_path / 'b.toml'}: invalid TOML" in message


def test_duplicate_ids_across_files_name_both_files(tmp_path):
    write(tmp_path, "a.toml", job(id="same"))
    write(tmp_path, "b.toml", job(id="same", cron="0 4 * * *"))
    with pytest.raises(ConfigError) as info:
        load_schedules(tmp_path)
    assert f"{tmp_path / 'b.toml'}: job 'same': duplicate id, already defined in " in str(
        info.value
    )
    assert str(tmp_path / "a.toml") in str(info.value)


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda d: None, "does not exist"),
        (lambda d: d.mkdir(), "no *.toml schedule files"),
        (lambda d: write(d, "notes.txt", job()), "no *.toml schedule files"),
        (lambda d: write(d, ".editor.toml", job()), "no *.toml schedule files"),
        (lambda d: write(d, "empty.toml", "# all jobs commented out\n"), "define no jobs"),
        (lambda d: write(d.parent, "file.toml", job()) and d.write_text(""), "not a directory"),
    ],
)
def test_directory_problems(tmp_path, setup, words):
    directory = tmp_path / "schedules"
    setup(directory)
    with pytest.raises(ConfigError) as info:
        load_schedules(directory)
    assert words in str(info.value)
    assert str(directory) in str(info.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("6h", 21600), ("1d", 86400), ("1h30m", 5400), ("2 s", 2)],
)
def test_intervals(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "m", "1.5h", "-5m", "15x", "1h 30"])
def test_bad_intervals(text):
    with pytest.raises(ValueError):
        parse_every(text)


# --- crontab weekdays: 0 and 7 are Sunday, unlike APScheduler 3.x's own numbering ---------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1", "mon"),
        ("6", "sat"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("5-7", "fri,sat,sun"),
        ("fri-sun", "fri,sat,sun"),
        ("0,6", "sat,sun"),
        ("*/2", "tue,thu,sat,sun"),  # crontab: 0,2,4,6
        ("1-5/2", "mon,wed,fri"),
        ("0-7", "*"),
        ("SUN", "sun"),
    ],
)
def test_crontab_weekdays_become_names(field, expected):
    assert crontab_weekdays(field) == expected


def test_weekday_0_fires_on_sunday():
    trigger = crontab_trigger("0 3 * * 0", "UTC")
    monday = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)  # 2025-01-06 is a Monday
    fire = trigger.get_next_fire_time(None, monday)
    assert fire == datetime(2025, 1, 12, 3, 0, tzinfo=UTC)
    assert fire.strftime("%A") == "Sunday"


def test_weekday_7_fires_on_sunday_and_1_on_monday():
    saturday = datetime(2025, 1, 11, 12, 0, tzinfo=UTC)
    assert crontab_trigger("0 3 * * 7").get_next_fire_time(None, saturday).strftime("%A") == (
        "Sunday"
    )
    assert crontab_trigger("0 3 * * 1").get_next_fire_time(None, saturday).strftime("%A") == (
        "Monday"
    )


def test_weekday_fire_times_follow_the_job_timezone():
    # Sunday 03:15 in Tokyo is Saturday 18:15 UTC.
    trigger = crontab_trigger("15 3 * * 0", "Asia/Tokyo")
    fire = trigger.get_next_fire_time(None, datetime(2025, 1, 6, tzinfo=UTC))
    assert fire.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%A %H:%M") == "Sunday 03:15"
    assert fire.astimezone(UTC) == datetime(2025, 1, 11, 18, 15, tzinfo=UTC)


def test_workday_range_skips_the_weekend():
    trigger = crontab_trigger("0 9 * * 1-5")
    friday = datetime(2025, 1, 10, 10, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, friday)
    assert fire == datetime(2025, 1, 13, 9, 0, tzinfo=UTC)  # Monday


def test_a_bad_cron_and_a_duplicate_id_are_reported_in_one_pass(tmp_path):
    path = write(tmp_path, "a.toml", job(id="x", cron="61 * * * *") + job(id="x"))
    write(tmp_path, "b.toml", job(id="y", timezone="Nowhere", cron="0 3 * * 8") + job(id="x"))
    with pytest.raises(ConfigError) as info:
        load_schedules(tmp_path)
    lines = str(info.value).splitlines()[1:]
    assert f"{path}: job 'x': bad cron expression '61 * * * *'" in "\n".join(lines)
    assert sum("job 'x': duplicate id" in line for line in lines) == 2
    assert any("job 'y': unknown timezone 'Nowhere'" in line for line in lines)
    assert any("job 'y': bad cron expression '0 3 * * 8'" in line for line in lines)
    assert len(lines) == 5, lines


def test_both_cron_and_every_are_checked_when_both_are_given(tmp_path):
    write(tmp_path, "a.toml", job(cron="61 * * * *", every="soon"))
    with pytest.raises(ConfigError) as info:
        load_schedules(tmp_path)
    message = str(info.value)
    assert "exactly one of 'cron' or 'every'" in message
    assert "bad cron expression '61 * * * *'" in message
    assert "bad interval 'soon'" in message


def test_notify_tables_gather_urls_and_one_public_url(tmp_path):
    from archivesync.worker.schedules import load_notify

    (tmp_path / "a.toml").write_text(
        job() + '\n[notify]\nurls = ["json://127.0.0.1:9/a"]\npublic_url = "https://x.example"\n'
    )
    (tmp_path / "b.toml").write_text('[notify]\nurls = ["mailto://u:secretpw@example.org"]\n')
    assert load_schedules(tmp_path)  # [notify] is a known table
    assert load_notify(tmp_path) == (
        ["json://127.0.0.1:9/a", "mailto://u:secretpw@example.org"],
        "https://x.example",
    )
    (tmp_path / "b.toml").write_text('[notify]\nurls = "mailto://u:secretpw@example.org"\n')
    with pytest.raises(ConfigError) as bad:
        load_notify(tmp_path)
    assert "b.toml: [notify] takes urls" in str(bad.value) and "secretpw" not in str(bad.value)


def test_grace_and_stall_after_are_operator_settings_with_defaults(tmp_path):
    from archivesync.worker.schedules import Replication, load_replication

    write(tmp_path, "a.toml", job() + job(id="late", grace="2h"))
    assert [(s.id, parse_every(s.grace)) for s in load_schedules(tmp_path)] == [
        ("j1", 900),
        ("late", 7200),
    ]
    assert load_replication(tmp_path) == Replication(None, "60s")
    write(tmp_path, "b.toml", '[replication]\nurl = "file:///b"\nstall_after = "5m"\n')
    assert load_replication(tmp_path) == Replication("file:///b", "5m")
    write(tmp_path, "b.toml", '[replication]\nurl = "file:///b"\nstall_after = "later"\n')
    with pytest.raises(ConfigError, match=r"b.toml: \[replication\] stall_after: bad interval"):
        load_replication(tmp_path)


def test_embed_jobs_need_no_channel(tmp_path):
    write(tmp_path, "e.toml", '[[jobs]]\nid = "meaning"\nmode = "embed"\ncron = "0 4 * * *"\n')
    (job,) = load_schedules(tmp_path)
    assert (job.mode, job.channel) == ("embed", "")
    write(tmp_path, "e.toml", '[[jobs]]\nid = "inc"\nmode = "incremental"\nevery = "1h"\n')
    with pytest.raises(ConfigError, match="missing 'channel'"):
        load_schedules(tmp_path)
