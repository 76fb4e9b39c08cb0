"""The meaning index: passage vectors in SQLite, brought up to date incrementally.

Table ``meaning_passages`` (migration 0009_meaning_index): one row per passage (see
search/passages.py), its L2-normalised vector as little-endian float16 bytes, and the model
(``name@version``) that made it. Vectors in the database are replicated by Litestream with the
rest, and need no SQLite extension (the Python here cannot load one, and Datasette reads the
index through that same sqlite3): nearest neighbours are computed with numpy (search/meaning.py).

``embed_index`` embeds only passages that are new, whose text changed or whose model differs,
drops passages that no longer exist, and commits every batch: an interrupted run keeps what it
embedded, and the next run starts from there.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from archivesync.search.models import DEFAULT_MODEL, Embedder, load_model
from archivesync.search.passages import Passage, read_passages

BATCH = 16
TABLE = "meaning_passages"


@dataclass
class EmbedResult:
    """What one `embed` run did."""

    model: str
    passages: int = 0  # passages in the index after the run
    embedded: int = 0
    removed: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The summary printed by `archivesync embed --json`."""
        return {
            "model": self.model,
            "passages": self.passages,
            "embedded": self.embedded,
            "removed": self.removed,
            "seconds": round(self.seconds, 2),
        }


def has_meaning_index(conn: sqlite3.Connection) -> bool:
    """True when the index holds embedded passages (then search defaults to hybrid)."""
    try:
        return conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # an index older than migration 0009
        return False


def indexed_model(conn: sqlite3.Connection) -> str | None:
    """The model (name@version) most passages were embedded with, or None."""
    try:
        row = conn.execute(
            f"SELECT model FROM {TABLE} GROUP BY model ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def plan(conn: sqlite3.Connection, ident: str) -> tuple[list[Passage], list[str]]:
    """(passages to embed, keys to drop) for the index as it is now and the model `ident`."""
    stored = {
        key: (digest, model)
        for key, digest, model in conn.execute(f"SELECT key, digest, model FROM {TABLE}")
    }
    todo: list[Passage] = []
    current: set[str] = set()
    for passage in read_passages(conn):
        current.add(passage.key)
        if stored.get(passage.key) != (passage.digest, ident):
            todo.append(passage)
    return todo, [key for key in stored if key not in current]


def _encode(vectors) -> list[bytes]:
    import numpy as np

    return [row.tobytes() for row in np.asarray(vectors, dtype="<f2")]


def embed_index(
    conn: sqlite3.Connection,
    model: str = DEFAULT_MODEL,
    *,
    progress: Callable[[int, int], None] | None = None,
    embedder: Embedder | None = None,
    batch: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> EmbedResult:
    """Bring the meaning index up to date with `model`; commits every `batch` passages.

    `conn` is a writable sqlite3 connection outside a transaction. `progress(done, total)`
    is called after each batch (it may raise to stop: what was committed stays).
    """
    size = batch or BATCH
    started = time.perf_counter()
    embedder = embedder or load_model(model)
    result = EmbedResult(embedder.ident)
    todo, gone = plan(conn, embedder.ident)
    if gone:
        with conn:
            for start in range(0, len(gone), 500):
                part = gone[start : start + 500]
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE key IN ({','.join('?' * len(part))})", part
                )
        result.removed = len(gone)
    if progress:
        progress(0, len(todo))
    for start in range(0, len(todo), size):
        part = todo[start : start + size]
        vectors = embedder.passages([p.text for p in part])
        stamp = now().strftime("%Y-%m-%dT%H:%M:%SZ")
        with conn:  # one transaction per batch: an interrupted run keeps the batches before
            conn.executemany(
                f"INSERT INTO {TABLE} (key, video_id, kind, track_id, start_seconds, "
                "end_seconds, digest, model, vector, embedded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "video_id = excluded.video_id, kind = excluded.kind, "
                "track_id = excluded.track_id, start_seconds = excluded.start_seconds, "
                "end_seconds = excluded.end_seconds, digest = excluded.digest, "
                "model = excluded.model, vector = excluded.vector, "
                "embedded_at = excluded.embedded_at",
                [
                    (p.key, p.video_id, p.kind, p.track_id, p.start_seconds, p.end_seconds,
                     p.digest, embedder.ident, blob, stamp)
                    for p, blob in zip(part, _encode(vectors), strict=True)
                ],
            )  # fmt: skip
        result.embedded += len(part)
        if progress:
            progress(result.embedded, len(todo))
    result.passages = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    result.seconds = time.perf_counter() - started
    return result
