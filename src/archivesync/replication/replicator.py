"""`litestream replicate` as the daemon's child: started, watched, restarted, stopped."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from archivesync.errors import ReplicationError
from archivesync.replication.litestream import (
    SYNC_INTERVAL,
    check_url,
    child_env,
    die_with_parent,
    error_line,
    find_binary,
    private_dir,
    read_state,
    write_config,
    write_state,
)

log = logging.getLogger("archivesync.replication")

# How long a SIGTERM'd daemon waits for the replica to catch up before it gives up and says so.
FINAL_SYNC_TIMEOUT = 30
START_TIMEOUT = 10.0
RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)


class Replicator:
    """`litestream replicate` for one database, restarted if it dies, stopped after a last sync.

    Supervised from its own long-lived thread: PR_SET_PDEATHSIG fires when the *thread* that
    started the child ends, so a pool thread that may come and go must never start it.
    """

    def __init__(
        self,
        db_path: str | Path,
        url: str,
        *,
        sync_interval: str = SYNC_INTERVAL,
        stall_seconds: float | None = None,
    ):
        self.db_path = Path(db_path).resolve()
        # Kept in the state file, so that `status` in another process judges a stall as the
        # daemon does (`[replication] stall_after`).
        self.stall_seconds = stall_seconds
        self.url = check_url(url)
        self.binary = find_binary()
        self.sync_interval = sync_interval
        # Socket and config in a directory only this process's user can enter (0700).
        self._socket_dir = private_dir()
        self.socket_path = self._socket_dir / "ls.sock"
        self.config = self._socket_dir / "litestream.yml"
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
        # Written anew before every start: whatever happened to the file meanwhile, Litestream
        # reads only what this process wrote.
        self.config = write_config(self._socket_dir, self.db_path, self.url, self.socket_path)
        proc = subprocess.Popen(
            [self.binary, "replicate", "-config", str(self.config), "-no-expand-env"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_parent,
            env=child_env(),
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
            started_at=datetime.now(UTC).isoformat(),
            restarts=self.restarts,
            stall_seconds=self.stall_seconds,
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
            env=child_env(),
        )
        if result.returncode != 0:
            raise ReplicationError(f"litestream sync failed: {error_line(result)}")
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
        write_state(
            self.db_path, **{**state, "pid": None, "stopped_at": datetime.now(UTC).isoformat()}
        )
        shutil.rmtree(self._socket_dir, ignore_errors=True)
        return synced
