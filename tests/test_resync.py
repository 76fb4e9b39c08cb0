"""`archivesync resync`: run at once without a daemon, queued for a live one, taken over."""

from __future__ import annotations

import getpass
import subprocess
import time

import pytest
import sqlite_utils
from click.testing import CliRunner

from archivesync.cli import cli
from archivesync.db.schema import open_db
from archivesync.sync.lease import Lease
from archivesync.timestamps import utcnow

from .helpers import PYTHON, SAMPLE_CHANNEL, cli_env, run_cli, sync


def resync(db_path, emu, *args, env=None):
    return run_cli(["resync", "--db", str(db_path), *args], env or cli_env(emu), timeout=60)


def rows(db_path, sql, params=()):
    return list(sqlite_utils.Database(db_path).query(sql, params))


def requests(db_path):
    return rows(db_path, "SELECT * FROM sync_requests ORDER BY id")


def run_of(db_path, request):
    return rows(db_path, "SELECT * FROM sync_runs WHERE id = ?", [request["run_id"]])[0]


def fake_daemon(db_path, *, stopped=False):
    """A heartbeat as a live daemon writes it; the tests play the daemon's part themselves."""
    db = open_db(db_path)
    now = utcnow()
    db["daemon_heartbeat"].upsert(
        {
            "id": 1,
            "pid": 999999,
            "hostname": "ops-host",
            "started_at": now,
            "heartbeat_at": now,
            "stopped_at": now if stopped else None,
            "jobs": "[]",
        },
        pk="id",
    )
    db.close()


@pytest.fixture
def synced(emulator, db_path):
    """An index of the sample channel, and two of its video ids and a playlist id."""
    assert sync(db_path, emulator, full=True).status == "ok"
    videos = [r["id"] for r in rows(db_path, "SELECT id FROM videos ORDER BY id LIMIT 2")]
    playlist = rows(db_path, "SELECT id FROM playlists LIMIT 1")[0]["id"]
    return videos, playlist


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --channel, --playlist or --video"),
        (["--channel", SAMPLE_CHANNEL, "--playlist", "PL1"], "exactly one of"),
        (["--channel", SAMPLE_CHANNEL, "--video", "abc"], "exactly one of"),
        (["--playlist", "PL1", "--full"], "--full goes with --channel only"),
        (["--video", "abc", "--full"], "--full goes with --channel only"),
        (["--video", " , "], "--video needs a video id"),
    ],
)
def test_usage_mistakes_exit_2(db_path, args, message):
    result = CliRunner().invoke(cli, ["resync", "--db", str(db_path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not db_path.exists()


def test_without_daemon_videos_are_resynced_at_once(emulator, db_path, synced):
    videos, _ = synced
    result = resync(db_path, emulator, "--video", videos[0], "--video", videos[1])
    assert result.returncode == 0, result.stderr
    assert ": ok;" in result.stdout
    assert "resync progress (videos):" in result.stderr  # the progress reporter, off a TTY
    (request,) = requests(db_path)
    assert (request["target_kind"], request["target_id"], request["mode"]) == (
        "videos",
        ",".join(videos),
        "videos",
    )
    assert (request["status"], request["exit_code"], request["error"]) == ("done", 0, None)
    assert request["requested_by"] == getpass.getuser()
    assert request["started_at"] and request["finished_at"]
    run = run_of(db_path, request)
    assert (run["trigger"], run["mode"], run["status"], run["videos_seen"]) == (
        "manual",
        "videos",
        "ok",
        2,
    )


def test_without_daemon_a_playlist_resync_records_who_asked(emulator, db_path, synced):
    _, playlist = synced
    result = resync(db_path, emulator, "--playlist", playlist, "--by", "carol")
    assert result.returncode == 0, result.stderr
    (request,) = requests(db_path)
    assert (request["requested_by"], request["mode"], request["status"]) == (
        "carol",
        "playlist",
        "done",
    )
    assert run_of(db_path, request)["target"] == f"playlist {playlist}"


def test_unknown_video_fails_with_exit_1(emulator, db_path):
    result = resync(db_path, emulator, "--video", "NoSuchVid01")
    assert result.returncode == 1
    assert "NoSuchVid01" in result.stderr and "Traceback" not in result.stderr
    (request,) = requests(db_path)
    assert (request["status"], request["exit_code"]) == ("failed", 1)
    assert "not found" in request["error"]
    assert run_of(db_path, request)["status"] == "failed"


def test_quota_exhausted_exits_75(emulator, db_path):
    result = resync(
        db_path,
        emulator,
        "--channel",
        SAMPLE_CHANNEL,
        "--full",
        "--daily-budget",
        "3",
        "--safety-margin",
        "0",
    )
    assert result.returncode == 75, result.stderr
    (request,) = requests(db_path)
    assert (request["status"], request["exit_code"], request["mode"]) == (
        "quota_exhausted",
        75,
        "full",
    )
    assert run_of(db_path, request)["status"] == "quota_exhausted"


def test_busy_database_without_wait_fails_and_says_why(emulator, db_path, synced):
    videos, _ = synced
    lease = Lease(db_path)
    assert lease.try_acquire()
    try:
        result = resync(db_path, emulator, "--video", videos[0])
    finally:
        lease.release()
    assert result.returncode == 1
    assert "is writing to this database" in result.stderr
    (request,) = requests(db_path)
    assert (request["status"], request["run_id"]) == ("failed", None)
    assert "is writing to this database" in request["error"]


def test_missing_key_without_daemon_is_an_error(emulator, db_path):
    env = cli_env(emulator)
    del env["YOUTUBE_API_KEY"]
    result = resync(db_path, emulator, "--video", "abc", env=env)
    assert result.returncode == 1
    assert "YOUTUBE_API_KEY" in result.stderr
    assert requests(db_path) == []


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        (["--channel", SAMPLE_CHANNEL], ("channel", SAMPLE_CHANNEL, "incremental")),
        (["--channel", SAMPLE_CHANNEL, "--full"], ("channel", SAMPLE_CHANNEL, "full")),
        (["--playlist", "PLx"], ("playlist", "PLx", "playlist")),
        (["--video", "a1", "--video", "b2,c3"], ("videos", "a1,b2,c3", "videos")),
    ],
)
def test_with_a_live_daemon_the_request_is_queued(emulator, db_path, args, fields):
    fake_daemon(db_path)
    env = cli_env(emulator)
    del env["YOUTUBE_API_KEY"]  # queueing needs no key: the daemon has its own
    result = resync(db_path, emulator, *args, "--by", "dave", env=env)
    assert result.returncode == 0, result.stderr
    (request,) = requests(db_path)
    assert result.stdout.strip() == str(request["id"])
    assert "queued for the daemon (pid 999999 on ops-host)" in result.stderr
    assert (request["target_kind"], request["target_id"], request["mode"]) == fields
    assert (request["status"], request["requested_by"], request["run_id"]) == (
        "queued",
        "dave",
        None,
    )
    assert rows(db_path, "SELECT count(*) AS n FROM sync_runs")[0]["n"] == 0


def test_a_stopped_daemon_does_not_take_requests(emulator, db_path, synced):
    videos, _ = synced
    fake_daemon(db_path, stopped=True)
    result = resync(db_path, emulator, "--video", videos[0])
    assert result.returncode == 0, result.stderr
    assert "queued for the daemon" not in result.stderr
    assert requests(db_path)[0]["status"] == "done"


def test_waiting_client_takes_over_when_the_daemon_stops_first(emulator, db_path, synced):
    videos, _ = synced
    fake_daemon(db_path)
    client = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "archivesync",
            "resync",
            "--db",
            str(db_path),
            "--video",
            videos[0],
            "--wait",
        ],
        env=cli_env(emulator),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 15
    while not requests(db_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)  # the client is polling now; the request must still be queued
    assert requests(db_path)[0]["status"] == "queued"
    fake_daemon(db_path, stopped=True)
    out, err = client.communicate(timeout=30)
    assert client.returncode == 0, err
    assert "running it here" in err
    assert ": ok;" in out
    (request,) = requests(db_path)
    assert request["status"] == "done"
    assert run_of(db_path, request)["trigger"] == "manual"


def test_requests_left_running_by_a_dead_process_are_settled(db_path):
    from archivesync.sync.requests import ABANDONED, recover_abandoned

    db = open_db(db_path)
    now = utcnow()
    db["sync_runs"].insert_all(
        [
            {"id": 1, "mode": "videos", "trigger": "manual", "started_at": now, "status": "ok"},
            {
                "id": 2,
                "mode": "full",
                "trigger": "manual",
                "started_at": now,
                "status": "quota_exhausted",
                "error": "quota",
            },
        ]
    )
    base = {"requested_at": now, "target_kind": "videos", "target_id": "v1", "mode": "videos"}
    db["sync_requests"].insert_all(
        [
            {**base, "id": 1, "status": "running", "run_id": 1},  # died before recording it
            {**base, "id": 2, "status": "running", "run_id": 2},
            {**base, "id": 3, "status": "running", "run_id": None},  # died before its run
            {**base, "id": 4, "status": "queued", "run_id": None},  # not started: left alone
        ]
    )
    assert recover_abandoned(db) == 3
    settled = [(r["status"], r["exit_code"], r["error"]) for r in requests(db_path)]
    assert settled == [
        ("done", 0, None),
        ("quota_exhausted", 75, "quota"),
        ("interrupted", 1, ABANDONED),
        ("queued", None, None),
    ]
    db.close()


# One rule turns what a person pasted into a target: the CLI's options and the console's form
# both go through sync.targets.resync_target, so the same text gives the same target.
PASTED = [
    ("channel", SAMPLE_CHANNEL, ("channel", [SAMPLE_CHANNEL])),
    ("channel", f"https://www.youtube.com/channel/{SAMPLE_CHANNEL}", ("channel", [SAMPLE_CHANNEL])),
    ("playlist", "PLabcdefghij0123456789", ("playlist", ["PLabcdefghij0123456789"])),
    (
        "playlist",
        "https://www.youtube.com/playlist?list=PLabcdefghij0123456789",
        ("playlist", ["PLabcdefghij0123456789"]),
    ),
    (
        "videos",
        "https://youtu.be/Xa3vN8pQe1s?t=30, Xa3vN8pQe1s\nhttps://www.youtube.com/shorts/Gf1pR6yLk4x",
        ("videos", ["Xa3vN8pQe1s", "Gf1pR6yLk4x"]),
    ),
]


@pytest.mark.parametrize("kind, text, expected", PASTED)
def test_the_cli_and_the_console_read_pasted_text_alike(kind, text, expected):
    from archivesync.cli.ops import _target
    from archivesync.web.staff import _target_from_form

    option = {"channel": "channel_id", "playlist": "playlist_id"}.get(kind, "videos")
    by_cli = _target(
        text if kind == "channel" else None,
        False,
        text if kind == "playlist" else None,
        [text] if kind == "videos" else [],
    )
    by_console = _target_from_form({"kind": kind, option: text})
    assert (by_cli.kind, by_cli.ids) == (by_console.kind, by_console.ids) == expected


@pytest.mark.parametrize(
    "kind, text, reason",
    [
        ("channel", "UCshort", "channel"),
        ("channel", "@somebody", "handle"),
        ("playlist", "https://www.youtube.com/watch?v=Xa3vN8pQe1s", "playlist"),
        ("videos", "Xa3vN8pQe1s https://example.com/watch?v=Xa3vN8pQe1s", "video"),
        ("videos", " , ", "no_video"),
        ("nothing", "x", "kind"),
    ],
)
def test_what_names_no_target_is_refused_with_a_reason(kind, text, reason):
    from archivesync.sync.targets import TargetError, resync_target

    with pytest.raises(TargetError) as refused:
        resync_target(kind, text)
    assert refused.value.reason == reason


def test_a_full_sync_goes_with_a_channel_only():
    from archivesync.sync.targets import TargetError, resync_target

    assert resync_target("channel", SAMPLE_CHANNEL, full=True).full
    with pytest.raises(TargetError, match="channel only"):
        resync_target("videos", "Xa3vN8pQe1s", full=True)
