"""This machine: files only their owner may read, and whether a process still runs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Replace `path` with `text`, readable and writable by its owner alone (0600).

    For OAuth tokens, the users file and a replica URL that may hold a password. The file is
    written beside its final place and renamed over it: a reader sees the old text or the new,
    never half, and the text is never readable by others, not even for a moment.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pid_alive(pid: int | None) -> bool:
    """Whether a process of that id still runs on this machine (False without an id)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    return True
