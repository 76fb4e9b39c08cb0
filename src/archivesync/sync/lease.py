"""One writer per database: an advisory lock on `<db>.lock`.

The operating system drops an flock when its process dies, even by kill -9, so a crashed sync
can never leave a stale lease behind: whoever gets the lock knows that every run still marked
`running` belongs to a dead process.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

from archivesync.db.access import NotWritable, companion_mode, explain
from archivesync.errors import Interrupted, LeaseHeld

log = logging.getLogger(__name__)


class Lease:
    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)
        self.path = Path(f"{db_path}.lock")
        self._fd: int | None = None

    def _open(self) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                return os.open(self.path, os.O_RDWR)
            except PermissionError:
                raise NotWritable(explain(self.path)) from None
        except PermissionError:
            raise NotWritable(explain(self.path.parent, directory=True)) from None
        # Like SQLite's -wal and -shm: whoever may write the database may take the lease.
        mode = companion_mode(self.db_path)
        if mode is not None:
            os.fchmod(fd, mode)
        return fd

    def try_acquire(self) -> bool:
        """Take the lease if it is free; False when another process holds it."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def acquire(
        self,
        *,
        wait: bool = False,
        describe_holder=lambda: "another sync",
        stop: threading.Event | None = None,
        poll_seconds: float = 0.2,
    ) -> None:
        """Take the lease, waiting for it with `wait`; LeaseHeld otherwise."""
        stop = stop or threading.Event()
        announced = False
        while not self.try_acquire():
            if not wait:
                raise LeaseHeld(
                    f"{describe_holder()} is writing to this database; "
                    "wait for it to finish or use --wait"
                )
            if not announced:  # say once what the wait is for: silence looks like a hang
                log.info("waiting for %s to end", describe_holder())
                announced = True
            if stop.wait(poll_seconds):
                raise Interrupted("stopped while waiting for the database")

    def release(self) -> None:
        """Give the lease back."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
