"""The meaning index: passage vectors in SQLite, brought up to date incrementally.

Table ``meaning_passages`` (migration 0009_meaning_index): one row per passage (see
search/passages.py), its L2-normalised vector (``encode_vectors``: int8 and a scale), the model
(``name@version``) that made it. Vectors in the database are replicated by Litestream with the
rest, and need no SQLite extension (the Python here cannot load one, and Datasette reads the
index through that same sqlite3): nearest neighbours are computed with numpy (search/meaning.py).

``embed_index`` embeds only passages that are new, whose text changed or whose model differs,
drops passages that no longer exist, and commits every batch: an interrupted run keeps what it
embedded, and the next run starts from there. Each run that changes the table writes a new
`TOKEN` in `app_state` (in the same transactions), and ends by writing the vectors to the file
beside the database that spares a new search process reading them all (search/vector_file.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from archivesync.search.models import DEFAULT_MODEL

if TYPE_CHECKING:
    from archivesync.search.models import Embedder
    from archivesync.search.passages import Passage

BATCH = 16
TABLE = "meaning_passages"
TOKEN = "meaning.token"  # app_state key: changes with every `embed` run that writes the table


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
    """The model (name@version) of the passage embedded last, or None.

    The last, not the most common: one lookup where counting would read the whole table at
    every query. Midway through a change of model, search uses the new one's passages.
    """
    try:
        row = conn.execute(f"SELECT model FROM {TABLE} ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # an index older than migration 0009
        return None
    return row[0] if row else None


def stamp(conn: sqlite3.Connection, ident: str) -> tuple:
    """What identifies the vectors of `ident` as they are now: the model, the passage count,
    the last id (ids never come back, AUTOINCREMENT, and a changed passage gets a new one) and
    the token of the last `embed` run (another database of the same size has another)."""
    count, last = conn.execute(f"SELECT count(*), max(id) FROM {TABLE}").fetchone()
    try:
        row = conn.execute("SELECT value FROM app_state WHERE key = ?", [TOKEN]).fetchone()
    except sqlite3.OperationalError:  # an index older than migration 0011
        row = None
    return (ident, count, last, row[0] if row else None)


def read_vectors(conn: sqlite3.Connection, ident: str):
    """(stamp, (ids, kind codes, scales, int8 matrix)) of `ident`'s vectors, from SQLite, in
    one read transaction (the stamp is that of the vectors read)."""
    import numpy as np

    from archivesync.search.passages import KIND_CODES

    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        state = stamp(conn, ident)
        rows = conn.execute(
            f"SELECT id, kind, vector FROM {TABLE} WHERE model = ? ORDER BY id", [ident]
        ).fetchall()
    finally:
        if own:
            conn.execute("ROLLBACK")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    codes = np.fromiter((KIND_CODES.get(r[1], 0) for r in rows), dtype=np.uint8, count=len(rows))
    scales, matrix = decode_vectors(b"".join(r[2] for r in rows), len(rows))
    return state, (ids, codes, scales, matrix)


def database_path(conn: sqlite3.Connection) -> str:
    """The file of `conn`'s main database ('' when in memory)."""
    return conn.execute("PRAGMA database_list").fetchone()[2]


def save_vector_file(conn: sqlite3.Connection) -> bool:
    """Write the vector file of the index as it is now unless it is already up to date; False
    when there is nothing to write or it cannot be written (searches then read SQLite)."""
    from archivesync.search import vector_file

    ident = indexed_model(conn)
    path = vector_file.file_for(database_path(conn))
    if ident is None or path is None:
        return False
    if vector_file.load(path, stamp(conn, ident)) is not None:
        return True
    state, vectors = read_vectors(conn, ident)
    return vector_file.save(path, state, *vectors)


def _mark(conn: sqlite3.Connection, token: str, at: str) -> None:
    # An index older than migration 0011 has no app_state: (count, last id) alone stamp it.
    with contextlib.suppress(sqlite3.OperationalError):
        conn.execute(
            "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [TOKEN, token, at],
        )


def plan(conn: sqlite3.Connection, ident: str) -> tuple[list[Passage], list[str]]:
    """(passages to embed, keys to drop) for the index as it is now and the model `ident`."""
    from archivesync.search.passages import read_passages

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


def encode_vectors(vectors) -> list[bytes]:
    """Each vector as 4 bytes of float32 scale then one signed byte a dimension.

    int8 with a scale per vector keeps the cosine within ~0.005 of float32's and reads (and
    converts) several times faster than float16 at query time.
    """
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    peak = np.abs(vectors).max(axis=1, keepdims=True)
    scales = np.where(peak > 0, peak / 127, 1).astype("<f4")
    quantized = np.round(vectors / scales).astype(np.int8)
    return [s.tobytes() + q.tobytes() for s, q in zip(scales, quantized, strict=True)]


def decode_vectors(blob: bytes, count: int):
    """(float32 scales, int8 matrix) of `count` vectors written by `encode_vectors`."""
    import numpy as np

    raw = np.frombuffer(blob, dtype=np.uint8).reshape(count, -1) if count else None
    if raw is None:
        return np.empty(0, dtype=np.float32), np.empty((0, 0), dtype=np.int8)
    scales = np.ascontiguousarray(raw[:, :4]).view("<f4").ravel().astype(np.float32)
    return scales, raw[:, 4:].view(np.int8)


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
    from archivesync.search.models import load_model

    started = time.perf_counter()
    embedder = embedder or load_model(model)
    result = EmbedResult(embedder.ident)
    todo, gone = plan(conn, embedder.ident)
    token = os.urandom(16).hex()
    if gone:
        with conn:
            _mark(conn, token, now().strftime("%Y-%m-%dT%H:%M:%SZ"))
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
        at = now().strftime("%Y-%m-%dT%H:%M:%SZ")
        with conn:  # one transaction per batch: an interrupted run keeps the batches before
            _mark(conn, token, at)
            conn.executemany(
                # REPLACE gives a re-embedded passage a new id (see `stamp`).
                f"INSERT OR REPLACE INTO {TABLE} (key, video_id, kind, track_id, "
                "start_seconds, end_seconds, digest, model, vector, embedded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (p.key, p.video_id, p.kind, p.track_id, p.start_seconds, p.end_seconds,
                     p.digest, embedder.ident, blob, at)
                    for p, blob in zip(part, encode_vectors(vectors), strict=True)
                ],
            )  # fmt: skip
        result.embedded += len(part)
        if progress:
            progress(result.embedded, len(todo))
    result.passages = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    # Also after a run with nothing to embed: the one before may have stopped before this.
    save_vector_file(conn)
    result.seconds = time.perf_counter() - started
    return result
