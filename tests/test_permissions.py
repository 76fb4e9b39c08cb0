"""A database the user cannot write, and staff resyncs under the deployment layout.

The tests run as root, whom file modes do not stop, so the commands run as other users through
`setpriv` (util-linux): the `nobody` user as a member of staff or not, `daemon` as the service
account. They keep CAP_DAC_READ_SEARCH (read and search anywhere, never write) only so that
they can load Python and the code from wherever the checkout is.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import sqlite_utils

from archivesync.emulator import Emulator, load_dataset

from .helpers import PYTHON, SAMPLE, SAMPLE_CHANNEL, cli_env, sync

SETPRIV = shutil.which("setpriv")
NOBODY = pwd.getpwnam("nobody")
SERVICE_UID = 1  # Debian's `daemon` user plays the `archivesync` service account
STAFF_GID = 50  # Debian's `staff` group plays `archivesync-staff`
VIDEO = "kD7mQx2LrVw"  # in data/sample_channel.json


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def as_user(uid: int, gid: int, groups: tuple[int, ...] = ()) -> list[str]:
    return [
        SETPRIV,
        f"--reuid={uid}",
        f"--regid={gid}",
        f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        "--",
    ]


NOBODY_ALONE = as_user(NOBODY.pw_uid, NOBODY.pw_gid)
NOBODY_IN_STAFF = as_user(NOBODY.pw_uid, NOBODY.pw_gid, (STAFF_GID,))
SERVICE = as_user(SERVICE_UID, STAFF_GID)


def _can_switch_users() -> bool:
    if os.geteuid() != 0 or SETPRIV is None:
        return False
    probe = subprocess.run([*NOBODY_ALONE, PYTHON, "-c", "import archivesync"], check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _can_switch_users(), reason="needs root and setpriv to run commands as other users"
)


@pytest.fixture
def place():
    """A directory every user can reach (pytest's own tmp_path is 0700 root's)."""
    path = Path(tempfile.mkdtemp(prefix="archivesync-perm-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True, check=False)
    shutil.rmtree(path)


def run_as(prefix, args, env, *, umask=0o022, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, PYTHON, "-m", "archivesync", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        umask=umask,
    )


def schedules(directory: Path) -> Path:
    directory.mkdir(mode=0o755)
    (directory / "test.toml").write_text(
        f'[[jobs]]\nid = "hourly"\nchannel = "{SAMPLE_CHANNEL}"\nmode = "full"\nevery = "1h"\n',
        encoding="utf-8",
    )
    return directory


def start_daemon(prefix, db: Path, place: Path, env, *, umask=0o022) -> tuple:
    """`archivesync daemon` as the user of `prefix`; returns it and its log once it started."""
    log = place / "daemon.log"
    args = ["daemon", "--db", str(db), "--schedules", str(schedules(place / "schedules"))]
    with open(log, "wb") as stderr:
        daemon = subprocess.Popen(
            [*prefix, PYTHON, "-m", "archivesync", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            umask=umask,
        )
    deadline = time.monotonic() + 15
    while "daemon started" not in log.read_text() and time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(log.read_text())
        time.sleep(0.05)
    return daemon, log


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def synced_index(tmp_path_factory) -> Path:
    """One synced index for the module; tests copy it."""
    db = tmp_path_factory.mktemp("index") / "archive.db"
    with Emulator(load_dataset(SAMPLE)) as emu:
        assert sync(db, emu).status == "ok"
    for extra in (f"{db}-wal", f"{db}-shm"):
        assert not Path(extra).exists()  # the last connection checkpointed and removed them
    return db


def make_index(synced_index: Path, db: Path) -> None:
    shutil.copyfile(synced_index, db)
    Path(f"{db}.lock").write_text("")  # as a sync leaves it


def snapshot(directory: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in directory.iterdir()}


# --- item 1: a database this user cannot write ---------------------------------------------


def _readonly_db(base: Path, db: Path):
    """The issue's case: a 0444 database owned by someone else, in a directory we may write."""
    base.chmod(0o777)
    os.chown(db, SERVICE_UID, SERVICE_UID)
    db.chmod(0o444)
    return db, f"no write permission on {db}", "mode 0444"


def _readonly_directory(base: Path, db: Path):
    os.chown(db, NOBODY.pw_uid, NOBODY.pw_gid)
    os.chown(base, SERVICE_UID, SERVICE_UID)
    return base, f"no write permission on directory {base}, needed for {db.name}-wal", "mode 0755"


def _readonly_lock(base: Path, db: Path):
    base.chmod(0o777)
    os.chown(db, NOBODY.pw_uid, NOBODY.pw_gid)
    lock = Path(f"{db}.lock")
    lock.write_text("1\n")
    os.chown(lock, SERVICE_UID, SERVICE_UID)
    return lock, f"no write permission on {lock}", "mode 0644"


@pytest.mark.parametrize("layout", [_readonly_db, _readonly_directory, _readonly_lock])
@pytest.mark.parametrize(
    "command",
    [
        ["daemon", "--schedules", "SCHEDULES"],
        ["sync", "--channel", SAMPLE_CHANNEL],
        ["resync", "--video", VIDEO, "--by", "tanaka"],
    ],
    ids=["daemon", "sync", "resync"],
)
def test_a_database_it_cannot_write_is_one_line_and_exit_1(
    emulator, synced_index, place, layout, command
):
    base = place / "index"
    base.mkdir(mode=0o755)
    db = base / "archive.db"
    make_index(synced_index, db)
    path, message, mode = layout(base, db)
    if command[0] == "daemon":
        command = [command[0], command[1], str(schedules(place / "schedules"))]
    before = snapshot(base)

    # A daemon that started anyway would run until the timeout: it must exit at once.
    result = run_as(NOBODY_ALONE, [command[0], "--db", str(db), *command[1:]], cli_env(emulator))

    line = one_error_line(result)
    assert message in line and mode in line, line
    assert f"owner {user_name(path.stat().st_uid)}:" in line, line
    assert snapshot(base) == before  # nothing written, no -wal/-shm left behind


@pytest.fixture
def immutable_ok(place):
    probe = place / "probe"
    probe.touch()
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable attribute (chattr +i)")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    probe.unlink()


def test_daemon_stops_with_exit_1_when_writes_start_failing(emulator, place, immutable_ok):
    db = place / "archive.db"
    daemon, log = start_daemon([], db, place, cli_env(emulator))
    try:
        # Even root cannot write an immutable file: the next heartbeat fails.
        subprocess.run(["chattr", "+i", f"{db}-wal"], check=True)
        code = daemon.wait(timeout=15)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        subprocess.run(["chattr", "-i", f"{db}-wal"], check=False)
    text = log.read_text()
    assert code == 1, text
    assert "Traceback" not in text, text
    assert text.count("heartbeat") == 0, text  # no "job :heartbeat failed" loop
    last = text.strip().splitlines()[-1]
    assert last.startswith(f"Error: cannot write {db}-wal: the system refuses"), text


# --- item 2: staff and the deployment layout ------------------------------------------------


@pytest.fixture
def deployment(emulator, place):
    """/var/lib/archivesync as docs/operators.md sets it up, with the daemon running as its user."""
    state = place / "state"
    state.mkdir()
    os.chown(state, SERVICE_UID, STAFF_GID)
    state.chmod(0o2770)
    db = state / "archive.db"
    # umask: the unit's UMask=
    daemon, _ = start_daemon(SERVICE, db, place, cli_env(emulator), umask=0o007)
    try:
        yield db
    finally:
        daemon.terminate()
        daemon.wait(timeout=15)


def test_staff_resync_through_the_daemon_under_the_deployment_layout(emulator, deployment):
    db = deployment
    st = db.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (SERVICE_UID, STAFF_GID, 0o660)
    lock = Path(f"{db}.lock")
    assert (lock.stat().st_gid, lock.stat().st_mode & 0o777) == (STAFF_GID, 0o660)
    env = cli_env(emulator)
    del env["YOUTUBE_API_KEY"]  # staff hold no API key: the daemon does the work

    result = run_as(
        NOBODY_IN_STAFF,
        ["resync", "--db", str(db), "--video", VIDEO, "--by", "tanaka", "--wait"],
        env,
    )

    assert result.returncode == 0, result.stderr
    assert "queued for the daemon" in result.stderr
    (request,) = sqlite_utils.Database(db).query("SELECT * FROM sync_requests")
    assert (request["requested_by"], request["status"]) == ("tanaka", "done")
    for path in db.parent.iterdir():  # whatever the staff member created stays the group's
        assert path.stat().st_gid == STAFF_GID and path.stat().st_mode & 0o060 == 0o060, path


def test_someone_outside_the_staff_group_is_told_to_ask_for_it(emulator, deployment):
    db = deployment
    before = sqlite_utils.Database(db).execute("SELECT count(*) FROM sync_requests").fetchone()

    result = run_as(NOBODY_ALONE, ["resync", "--db", str(db), "--video", VIDEO], cli_env(emulator))

    line = one_error_line(result)
    assert line == (
        f"Error: no write or search permission on directory {db.parent}, needed for "
        f"archive.db-wal, -shm and .lock: ask to be added to group {group_name(STAFF_GID)} "
        f"(owner {user_name(SERVICE_UID)}:{group_name(STAFF_GID)}, mode 2770)"
    )
    after = sqlite_utils.Database(db).execute("SELECT count(*) FROM sync_requests").fetchone()
    assert after == before


def test_the_old_layout_names_the_owner_who_may_write(emulator, synced_index, place):
    # What the issue saw: the database owned by the service user, 0644, no staff group.
    db = place / "archive.db"
    make_index(synced_index, db)
    os.chown(db, SERVICE_UID, SERVICE_UID)
    place.chmod(0o777)

    result = run_as(
        NOBODY_ALONE,
        ["resync", "--db", str(db), "--video", VIDEO, "--by", "tanaka"],
        cli_env(emulator),
    )

    owner = user_name(SERVICE_UID)
    assert one_error_line(result) == (
        f"Error: no write permission on {db}: only its owner {owner} may; run it as {owner}, "
        "or give a group access as docs/operators.md (Deployment) shows "
        f"(owner {owner}:{group_name(SERVICE_UID)}, mode 0644)"
    )


def test_a_member_whose_login_predates_the_group_is_told_to_log_in_again(synced_index, place):
    # `daemon`'s primary group is `daemon` in /etc/passwd; this process runs without it, as a
    # session started before `usermod -aG` would.
    entry = pwd.getpwuid(SERVICE_UID)
    db = place / "archive.db"
    make_index(synced_index, db)
    for path in (db, Path(f"{db}.lock")):
        os.chown(path, 0, entry.pw_gid)
        path.chmod(0o660)
    place.chmod(0o777)
    stale_session = as_user(SERVICE_UID, NOBODY.pw_gid)

    args = ["sync", "--db", str(db), "--channel", SAMPLE_CHANNEL]
    result = run_as(stale_session, args, {"YOUTUBE_API_KEY": "key"})

    group = group_name(entry.pw_gid)
    assert one_error_line(result) == (
        f"Error: no read or write permission on {db}: you were added to group {group} after "
        f"this login; log in again (or run `newgrp {group}`) (owner root:{group}, mode 0660)"
    )


def test_a_reader_outside_the_group_is_told_to_ask_for_it(emulator, deployment):
    result = run_as(NOBODY_ALONE, ["status", "--db", str(deployment)], cli_env(emulator))

    assert one_error_line(result) == (
        f"Error: no search permission on directory {deployment.parent}: ask to be added to "
        f"group {group_name(STAFF_GID)} (owner {user_name(SERVICE_UID)}:"
        f"{group_name(STAFF_GID)}, mode 2770)"
    )
