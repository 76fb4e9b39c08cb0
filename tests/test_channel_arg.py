"""--channel takes what people paste (id, channel URL, @handle, handle URL) and refuses the rest
before any request and before any file is created."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset
from archivesync.urls import ChannelRef, parse_channel
from archivesync.worker.schedules import load_schedules

from .helpers import SAMPLE, SAMPLE_CHANNEL, cli_env, run_cli

HANDLE = "@rilg-jichiken"  # the sample channel's handle (snippet.customUrl)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SAMPLE_CHANNEL, ChannelRef(channel_id=SAMPLE_CHANNEL)),
        (f"  {SAMPLE_CHANNEL}\n", ChannelRef(channel_id=SAMPLE_CHANNEL)),
        (
            f"https://www.youtube.com/channel/{SAMPLE_CHANNEL}",
            ChannelRef(channel_id=SAMPLE_CHANNEL),
        ),
        (
            f"youtube.com/channel/{SAMPLE_CHANNEL}/videos?view=0",
            ChannelRef(channel_id=SAMPLE_CHANNEL),
        ),
        ("@rilg", ChannelRef(handle="@rilg")),
        ("youtube.com/@rilg", ChannelRef(handle="@rilg")),
        ("https://www.youtube.com/@rilg", ChannelRef(handle="@rilg")),
        ("https://m.youtube.com/@rilg-jichiken/featured", ChannelRef(handle="@rilg-jichiken")),
        ("https://www.youtube.com/@%E8%87%AA%E6%B2%BB%E4%BD%93", ChannelRef(handle="@自治体")),
    ],
)
def test_accepted_forms(text, expected):
    assert parse_channel(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "not-a-channel",
        "UCshort",
        SAMPLE_CHANNEL + "x",
        "@a",
        f"https://example.com/channel/{SAMPLE_CHANNEL}",
        "https://www.youtube.com/c/rilg",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "rilg",
    ],
)
def test_refused_forms(text):
    with pytest.raises(ValueError, match=r"give a channel id .* a channel URL .* or a handle"):
        parse_channel(text)


@pytest.fixture(scope="module")
def emu():
    with Emulator(load_dataset(SAMPLE)) as emu:
        yield emu


@pytest.mark.parametrize("command", ["sync", "resync"])
@pytest.mark.parametrize("bad", ["", "not-a-channel", "https://www.youtube.com/c/rilg"])
def test_a_bad_channel_is_a_usage_error_before_any_request_or_file(emu, tmp_path, command, bad):
    emu.reset_stats()
    db = tmp_path / "a.db"
    result = run_cli([command, "--db", str(db), "--channel", bad], cli_env(emu))
    assert result.returncode == 2, result.stderr
    assert "is not a channel" in result.stderr or "a channel is needed" in result.stderr
    assert "HTTP 400" not in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()
    assert emu.requests == []


def test_a_handle_url_is_resolved_shown_and_charged_one_unit(emu, tmp_path):
    emu.reset_stats()
    db = tmp_path / "a.db"
    result = run_cli(
        ["sync", "--db", str(db), "--channel", "https://www.youtube.com/@rilg-jichiken", "--json"],
        cli_env(emu),
    )
    assert result.returncode == 0, result.stderr
    assert f"{HANDLE} is channel {SAMPLE_CHANNEL}" in result.stderr
    figures = json.loads(result.stdout)
    handle_calls = [r for r in emu.requests if "forHandle" in r["params"]]
    assert len(handle_calls) == 1 and handle_calls[0]["units"] == 1
    index = sqlite_utils.Database(db)
    assert [r["channel_id"] for r in index.query("SELECT channel_id FROM sync_runs")] == [
        SAMPLE_CHANNEL
    ]
    # The ledger holds every unit the API charged: the run's and the look-up's.
    (ledger,) = index.query("SELECT sum(units) AS units FROM quota_usage")
    assert ledger["units"] == figures["quota_units"] + 1 == emu.units_spent(DEMO_API_KEY)


def test_a_channel_url_needs_no_lookup(emu, tmp_path):
    emu.reset_stats()
    result = run_cli(
        ["sync", "--db", str(tmp_path / "a.db"), "--channel",
         f"https://www.youtube.com/channel/{SAMPLE_CHANNEL}/videos"],
        cli_env(emu),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not [r for r in emu.requests if "forHandle" in r["params"]]


def test_an_unknown_handle_exits_1_and_creates_no_file(emu, tmp_path):
    db = tmp_path / "a.db"
    result = run_cli(["sync", "--db", str(db), "--channel", "@nosuchhandle"], cli_env(emu))
    assert result.returncode == 1
    assert "no channel has the handle @nosuchhandle" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


def test_resync_resolves_a_handle_too(emu, tmp_path):
    db = tmp_path / "a.db"
    result = run_cli(["resync", "--db", str(db), "--channel", HANDLE, "--by", "t"], cli_env(emu))
    assert result.returncode == 0, result.stderr
    assert f"{HANDLE} is channel {SAMPLE_CHANNEL}" in result.stderr
    (row,) = sqlite_utils.Database(db).query("SELECT target_id FROM sync_requests")
    assert row["target_id"] == SAMPLE_CHANNEL


def test_schedule_files_take_a_channel_url_as_its_id(tmp_path):
    (tmp_path / "a.toml").write_text(
        f'[[jobs]]\nid = "a"\nchannel = "https://www.youtube.com/channel/{SAMPLE_CHANNEL}"\n'
        'cron = "0 3 * * *"\n'
    )
    (spec,) = load_schedules(tmp_path)
    assert spec.channel == SAMPLE_CHANNEL
