"""Replication as `status` shows it: on or off, the replica's position and time, the lag.

Works from another process than the daemon: it reads `<db>.replication.json` and asks
Litestream itself (its local state, and the replica's LTX files) where things are.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from archivesync.errors import ArchiveSyncError
from archivesync.host import pid_alive
from archivesync.replication import follow, litestream, positions
from archivesync.timestamps import format_utc, json_time, parse_utc

# A replica that is behind and has not advanced for this long is a warning.
STALL_SECONDS = 60.0
# LTX file times have whole seconds and Litestream uploads once a second: a write this close
# to the replica's newest file is not yet "behind".
SLACK_SECONDS = 3.0
# The daemon refreshes the cached check every 30 s; older than this, it is not trusted.
CACHE_SECONDS = 90.0


def _mtime(*paths: Path) -> datetime | None:
    times = [p.stat().st_mtime for p in paths if p.exists()]
    return datetime.fromtimestamp(max(times), UTC) if times else None


def collect(
    db_path: str | Path,
    *,
    now: datetime | None = None,
    stall_seconds: float | None = None,
    slack_seconds: float = SLACK_SECONDS,
) -> dict:
    """The replication section of `status --json`.

    A stall is judged by `stall_seconds`, else by the replicating daemon's `stall_after` (kept
    in its state file), else by STALL_SECONDS.
    """
    now = now or datetime.now(UTC)
    # Litestream knows the database by its absolute path (its config says so): a relative
    # `--db data/archive.db` must name the same file when we ask it.
    db_path = Path(db_path).resolve()
    state = litestream.read_state(db_path)
    if state is None:
        return {"state": "off", "role": None, "warnings": []}
    role = state.get("role", "primary")
    if stall_seconds is None:
        stall_seconds = float(state.get("stall_seconds") or STALL_SECONDS)
    alive = pid_alive(state.get("pid")) and pid_alive(state.get("owner_pid"))
    data = {
        "state": "on" if alive else "off",
        "role": role,
        "url": litestream.redact_url(state.get("url")),
        "pid": state.get("pid") if alive else None,
        # Older state files wrote `...+00:00`; JSON from us says `...Z`.
        "started_at": json_time(state.get("started_at")),
        "stopped_at": json_time(state.get("stopped_at")),
        "restarts": state.get("restarts", 0),
        "local_txid": None,
        "replica": None,
        "lag_transactions": None,
        "lag_seconds": None,
        "warnings": [],
    }
    if role == "primary" and not alive and state.get("pid") and not state.get("stopped_at"):
        data["warnings"].append("Litestream is not running (the daemon died without stopping it)")
    try:
        replica = positions.replica_position(state["url"], timeout=15)
    except ArchiveSyncError as e:
        data["warnings"].append(f"replica unreadable: {e}")
        return data
    data["replica"] = replica.as_json() if replica else None
    if replica is None:
        if alive:
            data["warnings"].append("the replica holds no backup yet")
        return data
    if role == "follower":
        local = follow.follower_txid(db_path)
        data["local_txid"] = local
        behind = max(replica.txid - local, 0) if local is not None else None
        applied_at = _mtime(Path(f"{db_path}-txid"))
        # How long the reader has been missing the replica's newer transactions.
        seconds = (now - applied_at).total_seconds() if behind and applied_at else 0.0
    else:
        # Litestream's local state, read with a private config of our own (the daemon's is in
        # a directory only it can enter).
        has_state = litestream.meta_dir(db_path).exists()
        local = positions.local_txid(state["url"], db_path) if has_state else None
        data["local_txid"] = local
        behind = max(local - replica.txid, 0) if local is not None else None
        # Litestream's local state only moves while it runs; the files' own times say whether
        # the database was written after the replica's newest transaction.
        written = _mtime(db_path, Path(f"{db_path}-wal"))
        gap = (written - replica.at).total_seconds() if written and replica.at else 0.0
        seconds = gap if (behind or gap > slack_seconds) else 0.0
        if not behind and gap > slack_seconds:
            behind = None  # behind by an unknown number of transactions
    data["lag_transactions"] = behind
    data["lag_seconds"] = round(max(seconds, 0.0), 1)
    since = (now - replica.at).total_seconds() if replica.at else None
    lagging = behind or (behind is None and data["lag_seconds"])
    if alive and lagging and since is not None and since > stall_seconds:
        what = "replica" if role == "primary" else "source replica"
        data["warnings"].append(
            f"the {what} has not advanced for {since:.0f} s while this database is ahead of it"
        )
    return data


def cache_path(db_path: str | Path) -> Path:
    """Where the daemon keeps the last replication check, for readers that must be quick."""
    return Path(f"{db_path}.replication-status.json")


def write_cache(db_path: str | Path, data: dict, now: datetime) -> None:
    """Keep `data` (what `collect` found) with the time it was found, atomically."""
    path = cache_path(db_path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**data, "checked_at": format_utc(now)}), encoding="utf-8")
    os.replace(tmp, path)


def collect_cached(
    db_path: str | Path, *, now: datetime | None = None, max_age: float = CACHE_SECONDS
) -> dict:
    """The daemon's last check when it is fresh, else `collect` (which may ask Litestream).

    The console's overview reads this: a Litestream subprocess per page view made it ~30 times
    slower once replication state existed.
    """
    now = now or datetime.now(UTC)
    try:
        data = json.loads(cache_path(db_path).read_text(encoding="utf-8"))
        age = (now - parse_utc(data["checked_at"])).total_seconds()
    except (OSError, ValueError, KeyError, TypeError):
        age = None
    if age is not None and 0 <= age <= max_age:
        return data
    return collect(db_path, now=now)


def render_lines(data: dict) -> list[str]:
    """The replication lines of plain `status`."""
    if data["state"] == "off" and not data.get("url"):
        return ["Replication: off"]
    role = "follows" if data["role"] == "follower" else "to"
    head = f"Replication: {data['state']} ({role} {data['url']})"
    lines = [head]
    replica = data.get("replica")
    if replica:
        lines.append(f"  replica at txid {replica['txid']}, written {replica['at'] or '?'}")
    if replica and data.get("lag_seconds") is not None:
        count = data.get("lag_transactions")
        lag = f"{'?' if count is None else count} transaction(s), {data['lag_seconds']:.0f} s"
        lines.append(f"  lag: {lag} (local txid {data['local_txid']})")
    lines += [f"  WARNING: {w}" for w in data["warnings"]]
    return lines
