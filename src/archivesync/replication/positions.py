"""How far a replica, or Litestream's local state, has got: `litestream ltx` and `status`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from archivesync.errors import ReplicationError
from archivesync.replication.litestream import error_line, redact_url, run_with_url
from archivesync.timestamps import parse_iso


@dataclass(frozen=True)
class Position:
    """How far a replica (or a local database) has got: a transaction id and when it was written."""

    txid: int
    at: datetime | None = None

    def as_json(self) -> dict:
        """The position as JSON values: the transaction id and its time."""
        return {"txid": self.txid, "at": self.at.isoformat() if self.at else None}


def replica_position(url: str, timeout: float = 30) -> Position | None:
    """The newest transaction in the replica at `url`, or None when it holds no backup."""
    with tempfile.TemporaryDirectory(prefix="archivesync-ltx-") as scratch:
        # The database named in the private config: ltx only lists the replica's files.
        result = run_with_url(
            "ltx", url, Path(scratch) / "replica.db", ["-level", "all", "-json"], timeout
        )
    if result.returncode != 0:
        raise ReplicationError(f"cannot read replica {redact_url(url)}: {error_line(result)}")
    files = json.loads(result.stdout or "[]") or []
    if not files:
        return None
    best = max(files, key=lambda f: (int(f["max_txid"], 16), f.get("timestamp") or ""))
    # Compaction rewrites old transactions into higher levels with later timestamps; the time the
    # newest txid reached the replica is that of its level-0 file when there still is one.
    level0 = [f for f in files if f["level"] == 0 and f["max_txid"] == best["max_txid"]]
    chosen = level0[0] if level0 else best
    return Position(int(best["max_txid"], 16), parse_iso(chosen.get("timestamp")))


def local_txid(url: str, db_path: str | Path) -> int | None:
    """The last transaction Litestream has recorded locally for the database (None: none yet)."""
    result = run_with_url("status", url, db_path, ["-json"], timeout=15)
    if result.returncode != 0:
        return None
    for entry in json.loads(result.stdout or "[]") or []:
        if entry.get("local_txid"):
            return int(entry["local_txid"], 16)
    return None
