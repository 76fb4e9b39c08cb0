"""May this process write the index? Asked before SQLite opens it, answered with who may.

SQLite opens a file it cannot write read-only without a word and fails only at the first write
("attempt to write a readonly database"), which for the daemon is the heartbeat, every two
seconds, forever. Writers therefore check the database, its directory (SQLite creates the
`-wal` and `-shm` files there, we create the `.lock` files) and the files beside it first, and
say what is missing in terms of the file's owner, group and mode, read at run time: with the
deployment layout of docs/operators.md that is "ask to be added to group archivesync-staff".
"""

from __future__ import annotations

import grp
import os
import pwd
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path

from archivesync.errors import ConfigError, NotWritable

# SQLite error names that mean "this file cannot be written", whatever the reason; the extended
# names (SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE, ...) start with these.
_WRITE_FAILURES = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR")


def companion_paths(db_path: str | Path) -> list[Path]:
    """The files a writer uses beside the database: SQLite's WAL and shared memory, the lease."""
    return [Path(f"{db_path}{suffix}") for suffix in ("-wal", "-shm", ".lock")]


def companion_mode(db_path: str | Path) -> int | None:
    """Permission bits for a new file beside the database: the database's own, as SQLite does."""
    try:
        return stat.S_IMODE(os.stat(db_path).st_mode) & 0o666
    except OSError:
        return None


def create_file(path: str | Path) -> None:
    """Create an empty database file with mode 0666 less the umask (SQLite's own is 0644).

    A service run with UMask=0007 in a setgid directory thus makes a database its group can
    write, which is how staff run `resync` (docs/operators.md, "Deployment").
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except FileExistsError:
        pass
    except PermissionError:
        raise NotWritable(explain(Path(path).parent, directory=True)) from None


def check_writable(db_path: str | Path, extra: Iterable[str | Path] = ()) -> None:
    """Raise NotWritable naming the first path this process cannot write, and who can."""
    path = Path(db_path)
    directory = path.parent
    if not os.access(directory, os.W_OK | os.X_OK):
        raise NotWritable(explain(directory, directory=True, needed_for=path.name))
    for candidate in [path, *companion_paths(path), *map(Path, extra)]:
        if candidate.exists() and not os.access(candidate, os.R_OK | os.W_OK):
            raise NotWritable(explain(candidate))


def is_write_failure(error: BaseException) -> bool:
    """Does this exception mean the index (or a file beside it) can no longer be written?"""
    if isinstance(error, NotWritable | PermissionError):
        return True
    if isinstance(error, sqlite3.DatabaseError):
        name = getattr(error, "sqlite_errorname", "") or ""
        return name.startswith(_WRITE_FAILURES) or "readonly database" in str(error)
    return False


def write_failure(db_path: str | Path, error: BaseException) -> NotWritable:
    """The NotWritable to raise for a write that failed after the checks at start passed."""
    if isinstance(error, NotWritable):
        return error
    try:
        check_writable(db_path)
    except NotWritable as found:
        return found
    name = getattr(error, "sqlite_errorname", None)
    detail = f"{error} ({name})" if name else str(error)
    return NotWritable(f"cannot write {db_path}: {detail}")


# --- explaining a refusal --------------------------------------------------------------------


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _listed_in_group(gid: int) -> bool:
    """Is this user in the group by /etc/group (or as primary group), logged in or not?"""
    try:
        entry = pwd.getpwuid(os.getuid())
    except KeyError:
        return False
    if entry.pw_gid == gid:
        return True
    try:
        return entry.pw_name in grp.getgrgid(gid).gr_mem
    except KeyError:
        return False


def check_readable(db_path: str | Path) -> None:
    """Raise ConfigError if this process may not search the directory or read the database."""
    path = Path(db_path)
    if path.parent.exists() and not os.access(path.parent, os.X_OK):
        raise ConfigError(explain(path.parent, directory=True, need=("search",)))
    if path.exists() and not os.access(path, os.R_OK):
        raise ConfigError(explain(path, need=("read",)))


def explain(
    path: Path,
    *,
    directory: bool = False,
    need: tuple[str, ...] | None = None,
    needed_for: str | None = None,
) -> str:
    """One line: which permission this process lacks on `path`, and what would give it.

    `need` defaults to read and write for a file, write and search for a directory.
    """
    path = Path(os.path.abspath(path))
    try:
        st = os.stat(path)
    except PermissionError:
        return f"cannot reach {path}: a directory above it is not searchable for you"
    except FileNotFoundError:
        return f"{path} does not exist"
    mode = stat.S_IMODE(st.st_mode)
    owner, group = _user(st.st_uid), _group(st.st_gid)
    facts = f"(owner {owner}:{group}, mode {mode:04o})"
    bits = {"read": 4, "write": 2, "search": 1}
    need = need or (("write", "search") if directory else ("read", "write"))
    wanted = {name: bits[name] for name in need}

    # The kernel picks exactly one class of bits: the owner's, else the group's, else others'.
    if os.getuid() == st.st_uid:
        shift, who = 6, "owner"
    elif st.st_gid == os.getgid() or st.st_gid in os.getgroups():
        shift, who = 3, "group"
    else:
        shift, who = 0, "other"
    have = (mode >> shift) & 7
    missing = [name for name, bit in wanted.items() if not have & bit]
    what = f"directory {path}" if directory else str(path)
    if directory:
        needed = f", needed for {needed_for}-wal, -shm and .lock" if needed_for else ""
    else:
        needed = ""

    if not missing:  # the mode allows it: something other than permissions says no
        verb = "write" if "write" in need else "read"
        if verb == "write" and os.statvfs(path).f_flag & os.ST_RDONLY:
            return f"cannot write {what}: its file system is mounted read-only"
        return (
            f"cannot {verb} {what}: the system refuses although the mode allows it "
            f"(immutable attribute? see `lsattr`) {facts}"
        )
    lacking = f"no {' or '.join(missing)} permission on {what}{needed}"
    if who == "owner":
        return f"{lacking}: you own it; `chmod u+{_letters(missing)} {path}` {facts}"
    if who == "group":
        return (
            f"{lacking}: group {group} may not; `chmod g+{_letters(missing)} {path}` "
            f"as {owner} or root {facts}"
        )
    group_has = (mode >> 3) & 7
    if all(group_has & wanted[name] for name in missing):
        if _listed_in_group(st.st_gid):
            return (
                f"{lacking}: you were added to group {group} after this login; "
                f"log in again (or run `newgrp {group}`) {facts}"
            )
        return f"{lacking}: ask to be added to group {group} {facts}"
    owner_has = (mode >> 6) & 7
    if all(owner_has & wanted[name] for name in missing):
        return (
            f"{lacking}: only its owner {owner} may; run it as {owner}, or give a group "
            f"access as docs/operators.md (Deployment) shows {facts}"
        )
    return (
        f"{lacking}: its mode allows that to no one; `chmod` it as {owner} or root, as the "
        f"docs/operators.md (Deployment) shows {facts}"
    )


def _letters(missing: list[str]) -> str:
    return "".join({"read": "r", "write": "w", "search": "x"}[name] for name in missing)
