"""The `sync` command as a user runs it: exit codes, messages, and the key kept secret."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset

from .helpers import FIXTURES, cli_env, run_cli

CHANNEL = "UCquirksquirksquirks0001"


@pytest.fixture(scope="module")
def emu():
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json")) as emu:
        yield emu


def test_sync_ok_prints_a_summary_and_exits_0(emu, tmp_path):
    db = tmp_path / "a.db"
    result = run_cli(["sync", "--db", str(db), "--channel", CHANNEL, "--json"], cli_env(emu))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["status"] == "ok" and figures["videos_added"] == 4
    assert DEMO_API_KEY not in result.stdout + result.stderr


def test_bad_api_key_is_a_clear_error_that_never_shows_the_key(emu, tmp_path):
    db = tmp_path / "a.db"
    env = cli_env(emu)
    env["YOUTUBE_API_KEY"] = "AIzaSy-not-a-real-key-0123456789"
    result = run_cli(["sync", "--db", str(db), "--channel", CHANNEL, "-v"], env)
    assert result.returncode == 1
    assert "API key was rejected" in result.stderr
    assert "Traceback" not in result.stderr
    assert env["YOUTUBE_API_KEY"] not in result.stdout + result.stderr
    dump = "\n".join(sqlite_utils.Database(db).iterdump())
    assert env["YOUTUBE_API_KEY"] not in dump
    run_row = next(sqlite_utils.Database(db).query("SELECT status, error FROM sync_runs"))
    assert run_row["status"] == "failed" and "API key" in run_row["error"]


def test_unknown_channel_exits_1(emu, tmp_path):
    result = run_cli(
        ["sync", "--db", str(tmp_path / "a.db"), "--channel", "UCdoesnotexist0000000000"],
        cli_env(emu),
    )
    assert result.returncode == 1
    assert "channel 'UCdoesnotexist0000000000' not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_database_directory_exits_1_and_creates_nothing(emu, tmp_path):
    db = tmp_path / "no" / "such" / "dir" / "a.db"
    result = run_cli(["sync", "--db", str(db), "--channel", CHANNEL], cli_env(emu))
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "no").exists()


def test_missing_key_exits_1(emu, tmp_path):
    env = cli_env(emu)
    del env["YOUTUBE_API_KEY"]
    result = run_cli(["sync", "--db", str(tmp_path / "a.db"), "--channel", CHANNEL], env)
    assert result.returncode == 1
    assert "YOUTUBE_API_KEY" in result.stderr


def test_key_from_a_file(emu, tmp_path):
    env = cli_env(emu)
    del env["YOUTUBE_API_KEY"]
    key_file = tmp_path / "key"
    key_file.write_text(DEMO_API_KEY + "\n")
    env["YOUTUBE_API_KEY_FILE"] = str(key_file)
    result = run_cli(["sync", "--db", str(tmp_path / "a.db"), "--channel", CHANNEL], env)
    assert result.returncode == 0, result.stderr


def test_usage_errors_exit_2(emu, tmp_path):
    result = run_cli(["sync", "--db", str(tmp_path / "a.db")], cli_env(emu))
    assert result.returncode == 2
    result = run_cli(
        ["sync", "--db", str(tmp_path / "a.db"), "--channel", CHANNEL, "--daily-budget", "0"],
        cli_env(emu),
    )
    assert result.returncode == 2


def test_quota_exhausted_exits_75(tmp_path):
    with Emulator(load_dataset(FIXTURES / "quirks_channel.json"), quota=2) as emu:
        result = run_cli(
            ["sync", "--db", str(tmp_path / "a.db"), "--channel", CHANNEL], cli_env(emu)
        )
    assert result.returncode == 75
    assert "quota" in result.stderr
