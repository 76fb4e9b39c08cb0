"""The console's users file: names, roles and Argon2 password hashes, nothing else.

A JSON file, written whole (temporary file, then rename) with mode 0600. Passwords are hashed
with argon2-cffi's `PasswordHasher` (Argon2id, a random salt per hash, its cost parameters kept
in the hash string), so a stolen file still costs an attacker a slow hash per guess.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import stat
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from archivesync.errors import UsersFileError
from archivesync.host import write_private
from archivesync.timestamps import format_utc, utcnow

ROLES = ("staff", "analyst")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 8
# Datasette gives the actor "root" its debugging powers (/-/permissions, the _internal
# database): no console user may be called that, in any case.
RESERVED_NAMES = frozenset({"root"})

_hasher = PasswordHasher()
# The file changes one change at a time (read, change, write whole): two staff adding users at
# once, or `archivesync users add` while the console adds one, must not lose either. The thread
# lock serves the console's threads; the lock file, other processes.
_threads = threading.Lock()


@contextlib.contextmanager
def _changing(path: Path) -> Iterator[None]:
    # The users file itself is replaced by a rename at each change, so it cannot carry the
    # lock: a file beside it does (0600, left in place).
    if not path.parent.is_dir():
        raise UsersFileError(f"directory {str(path.parent)!r} does not exist")
    with _threads:
        try:
            fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise UsersFileError(f"cannot lock users file {str(path)!r}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


@functools.cache
def _dummy_hash() -> str:
    # Verifying an unknown name still costs one hash, so timing does not tell which names exist.
    return _hasher.hash("archivesync-no-such-user")


def load(path: str | Path) -> dict[str, dict]:
    """The users in `path`: {name: {"role", "hash", "added_at"}}; an error if unreadable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsersFileError(f"users file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UsersFileError(f"cannot read users file {str(path)!r}: {e}") from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict) or not all(
        isinstance(u, dict) and isinstance(u.get("hash"), str) and u.get("role") in ROLES
        for u in users.values()
    ):
        raise UsersFileError(f"users file {str(path)!r} is not an archivesync users file")
    return users


def writable(path: str | Path) -> bool:
    """Whether the console may change the users file: this process can write its directory
    and the file, and the file is not read-only (`chmod 400` keeps the console from changing
    it, even when the server runs as root)."""
    path = Path(path)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return False  # the file is replaced by a rename in its directory
    if not path.exists():
        return True
    return bool(path.stat().st_mode & stat.S_IWUSR) and os.access(path, os.W_OK)


def _save(path: Path, users: dict[str, dict]) -> None:
    # Always under _changing(path), which has checked the directory.
    text = json.dumps({"users": users}, ensure_ascii=False, indent=2, sort_keys=True)
    try:
        write_private(path, text + "\n")
    except OSError as e:
        raise UsersFileError(f"cannot write users file {str(path)!r}: {e.strerror or e}") from None


def check_name(name: str) -> str:
    """`name` if it is a valid user name (letters, digits, . _ @ -), else UsersFileError."""
    if not NAME_PATTERN.match(name or ""):
        raise UsersFileError(
            f"invalid user name {name!r}: a login id is 1-64 ASCII letters, digits, '.', '_', "
            "'@' or '-' (a Japanese name goes in --display-name)",
            "name",
        )
    if name.lower() in RESERVED_NAMES:
        raise UsersFileError(
            f"user name {name!r} is reserved: Datasette gives it special powers", "reserved"
        )
    return name


def check_display_name(display_name: str | None) -> str | None:
    """A display name (山田 太郎) if printable and at most 64 characters, else UsersFileError."""
    if display_name is None:
        return None
    display_name = " ".join(display_name.split())
    if len(display_name) > 64 or not display_name.isprintable():
        raise UsersFileError("display name: at most 64 printable characters", "display_name")
    return display_name or None


def check_password(password: str) -> str:
    """`password` if it is long enough, else UsersFileError."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UsersFileError(
            f"password too short: at least {MIN_PASSWORD_LENGTH} characters", "password"
        )
    return password


def add_user(
    path: str | Path,
    name: str,
    password: str,
    role: str = "staff",
    display_name: str | None = None,
    *,
    replace: bool = True,
    at: datetime | None = None,
) -> bool:
    """Add `name` or replace its password and role; True when the name is new.

    `display_name` (a name in Japanese, shown in the console's header and audit page) is kept
    from before when not given. `replace=False` refuses a name already there (the console's
    form adds; only the CLI replaces). `at`: when (default now).
    """
    path = Path(path)
    check_name(name)
    display_name = check_display_name(display_name)
    if role not in ROLES:
        raise UsersFileError(f"unknown role {role!r}: use one of {', '.join(ROLES)}", "role")
    check_password(password)
    with _changing(path):
        users = load(path) if path.exists() else {}
        new = name not in users
        if not new and not replace:
            raise UsersFileError(f"user {name!r} already exists in {str(path)!r}", "exists")
        added_at = format_utc(at) if at else utcnow()
        user = {"role": role, "hash": _hasher.hash(password), "added_at": added_at}
        display_name = display_name or (users.get(name) or {}).get("display_name")
        if display_name:
            user["display_name"] = display_name
        users[name] = user
        _save(path, users)
    return new


def set_password(path: str | Path, name: str, password: str) -> None:
    """Give `name` a new password, keeping its role, display name and date added."""
    path = Path(path)
    check_password(password)
    with _changing(path):
        users = load(path)
        if name not in users:
            raise UsersFileError(f"no user {name!r} in {str(path)!r}", "missing")
        users[name] = {**users[name], "hash": _hasher.hash(password)}
        _save(path, users)


def actor(name: str, user: dict) -> dict:
    """The console's view of a user: {"id", "role", "name"} (name: display name, else id)."""
    return {"id": name, "role": user["role"], "name": user.get("display_name") or name}


def remove_user(path: str | Path, name: str, *, by: str | None = None) -> None:
    """Remove `name`; UsersFileError if it is not there, or if it is `by`, the person asking
    (a staff member removing themselves could leave nobody to manage the console), or if `by`
    is no longer staff (two staff removing each other at once must not both succeed)."""
    path = Path(path)
    if by is not None and by == name:
        raise UsersFileError(f"{name!r} cannot remove themselves", "self")
    with _changing(path):
        users = load(path)
        if name not in users:
            raise UsersFileError(f"no user {name!r} in {str(path)!r}", "missing")
        if by is not None and (users.get(by) or {}).get("role") != "staff":
            raise UsersFileError(f"{by!r} is no longer staff in {str(path)!r}", "not_staff")
        del users[name]
        _save(path, users)


def authenticate(users: dict[str, dict], name: str, password: str) -> dict | None:
    """The actor {"id", "role"} when `password` is `name`'s, else None."""
    user = users.get(name or "")
    if (name or "").lower() in RESERVED_NAMES:
        user = None  # a hand-edited file may hold one: it never signs in
    try:
        _hasher.verify(user["hash"] if user else _dummy_hash(), password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    return actor(name, user)
