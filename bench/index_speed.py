"""Search index write speed: `index_videos` / `rebuild_index` against the old approach.

One database of N synthetic videos (`synthetic_dataset(N)`, resources from `get_video`) is
saved once through `store.save_videos`, newest first, 50 a page, as a full sync saves. Then,
for each implementation, on a fresh copy with the index emptied:

- ``index``: the pages again, newest first, each in its own transaction, only
  ``index_videos`` timed (what it costs inside `save_videos` during a full sync);
- ``unchanged``: the same pages once more (nothing changed: what a re-sync costs);
- ``rebuild``: ``rebuild_index`` (the migration path);
- ``search_p95``: `search(limit=20)` over the queries, on the index as synced.

The baseline (``baseline_*`` below) is the code as it was before this change, kept verbatim
but for names. Both indexes must answer every query identically (same search_docs rows, same
rowids from every FTS table); the script checks that before printing figures.

    .venv/bin/python -m bench.index_speed [--videos 5000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from archivesync.bigrams import FIELDS, PUNCT, document
from archivesync.db import store
from archivesync.db.schema import open_db
from archivesync.db.search_index import _KEEP_WITHIN, FTS_TABLES, index_videos, rebuild_index
from archivesync.emulator import synthetic_dataset
from archivesync.search.query import search
from archivesync.search.text import SearchQuery

NOW = "2026-01-01T00:00:00Z"
PAGE = 50
QUERY_REPS = 20
QUERIES = ["人材", "防災", "窓口", "dx", "ai", "市", "x", "自治体dx推進", "人材 育成", "質疑応答"]

# --------------------------------------------------------------------------------------------
# Baseline: search.py's index maintenance before this change
# --------------------------------------------------------------------------------------------

_EPOCH = datetime(2005, 1, 1, tzinfo=UTC)


def baseline_bigram_text(normalized: str) -> str:
    return " ".join(
        token
        for chunk in normalized.translate(PUNCT).split()
        for token in [chunk[i : i + 2] for i in range(len(chunk))]
    )


def baseline_doc_id_base(published_at: str | None) -> int:
    if not published_at:
        return 0
    try:
        published = datetime.fromisoformat(published_at)
    except ValueError:
        return 0
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return max(int((published - _EPOCH).total_seconds() // 60), 0)


def _baseline_fts_write(conn, doc_id: int, doc: dict, *, delete: bool) -> None:
    tokens = {field: baseline_bigram_text(doc[field] or "") for field in FIELDS}
    for table, columns in FTS_TABLES.items():
        names = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        values = [doc_id, *(tokens[c] for c in columns)]
        if delete:
            conn.execute(
                f"INSERT INTO {table} ({table}, rowid, {names}) VALUES ('delete', ?, {marks})",
                values,
            )
        else:
            conn.execute(f"INSERT INTO {table} (rowid, {names}) VALUES (?, {marks})", values)


def _baseline_free_id(conn, base: int) -> int:
    if conn.execute("SELECT 1 FROM search_docs WHERE id = ?", [base]).fetchone() is None:
        return base
    return conn.execute(
        "SELECT d.id + 1 FROM search_docs d WHERE d.id >= ? AND NOT EXISTS "
        "(SELECT 1 FROM search_docs e WHERE e.id = d.id + 1) ORDER BY d.id LIMIT 1",
        [base],
    ).fetchone()[0]


def _baseline_index_chunk(db, ids: Sequence[str]) -> None:
    conn = db.conn
    marks = ",".join("?" * len(ids))
    old = {
        r[1]: r
        for r in conn.execute(
            f"SELECT id, video_id, title, description, tags, chapters FROM search_docs "
            f"WHERE video_id IN ({marks})",
            list(ids),
        )
    }
    videos = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, title, description, tags, published_at FROM videos WHERE id IN ({marks})",
            list(ids),
        )
    }
    chapters: dict[str, list[str]] = defaultdict(list)
    for video_id, title in conn.execute(
        f"SELECT video_id, title FROM chapters WHERE video_id IN ({marks}) "
        "ORDER BY video_id, position",
        list(ids),
    ):
        chapters[video_id].append(title)

    for video_id in ids:
        prev = old.get(video_id)
        row = videos.get(video_id)
        new = document(row[1], row[2], row[3], chapters[video_id]) if row else None
        base = baseline_doc_id_base(row[4]) if row else 0
        same_slot = prev is not None and base <= prev[0] < base + _KEEP_WITHIN
        if prev is not None:
            prev_doc = dict(zip(FIELDS, prev[2:], strict=True))
            if new == prev_doc and same_slot:
                continue
            _baseline_fts_write(conn, prev[0], prev_doc, delete=True)
            conn.execute("DELETE FROM search_docs WHERE id = ?", [prev[0]])
        if new is None:
            continue
        doc_id = prev[0] if same_slot else _baseline_free_id(conn, base)
        conn.execute(
            "INSERT INTO search_docs (id, video_id, title, description, tags, chapters) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [doc_id, video_id, *(new[f] for f in FIELDS)],
        )
        _baseline_fts_write(conn, doc_id, new, delete=False)


def baseline_index_videos(db, video_ids) -> None:
    ids = list(dict.fromkeys(video_ids))
    if not ids:
        return
    with db.atomic():
        for start in range(0, len(ids), 500):
            _baseline_index_chunk(db, ids[start : start + 500])


def baseline_rebuild_index(db) -> None:
    with db.atomic():
        for table in FTS_TABLES:
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
        db.execute("DELETE FROM search_docs")
        ids = [r[0] for r in db.execute("SELECT id FROM videos ORDER BY published_at, rowid")]
        for start in range(0, len(ids), 500):
            _baseline_index_chunk(db, ids[start : start + 500])


IMPLEMENTATIONS: dict[str, tuple[Callable, Callable]] = {
    "baseline": (baseline_index_videos, baseline_rebuild_index),
    "current": (index_videos, rebuild_index),
}

# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def build(path: Path, n: int) -> list[list[str]]:
    """The database of n videos, saved newest first a page at a time; the pages' ids."""
    ds = synthetic_dataset(n)
    ids = ds.uploads()
    pages = [ids[i : i + PAGE] for i in range(0, len(ids), PAGE)]
    db = open_db(path)
    for page in pages:
        with db.atomic():
            store.save_videos(db, [ds.get_video(v) for v in page], NOW)
    db.close()
    return pages


def _empty_index(db) -> None:
    with db.atomic():
        for table in FTS_TABLES:
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('delete-all')")
        db.execute("DELETE FROM search_docs")
    db.execute("VACUUM")


def _pass(db, index: Callable, pages: list[list[str]]) -> float:
    spent = 0.0
    for page in pages:
        start = time.perf_counter()
        with db.atomic():
            index(db, page)
        spent += time.perf_counter() - start
    return spent


def fingerprint(db) -> dict:
    """What searching reads: search_docs, and the rowids each FTS table gives per query."""
    docs = db.execute("SELECT * FROM search_docs ORDER BY id").fetchall()
    hits = {}
    for q in QUERIES:
        expression = SearchQuery(q).match_expression()
        for table in FTS_TABLES:
            sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC"
            hits[(q, table)] = [r[0] for r in db.execute(sql, [expression])]
    results = {q: search(db, q, limit=10**6) for q in QUERIES}
    integrity = [
        db.execute(f"INSERT INTO {t} ({t}, rank) VALUES ('integrity-check', 0)").fetchall()
        for t in FTS_TABLES
    ]
    return {"docs": docs, "hits": hits, "results": results, "integrity": integrity}


def measure(base: Path, work: Path, name: str, pages: list[list[str]]) -> tuple[dict, dict]:
    index, rebuild = IMPLEMENTATIONS[name]
    shutil.copyfile(base, work)
    db = open_db(work)
    _empty_index(db)
    n = sum(map(len, pages))
    index_s = _pass(db, index, pages)
    unchanged_s = _pass(db, index, pages)
    print_ = fingerprint(db)
    query_ms = []
    for _ in range(QUERY_REPS):
        for q in QUERIES:
            start = time.perf_counter()
            search(db, q, limit=20)
            query_ms.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    rebuild(db)
    rebuild_s = time.perf_counter() - start
    rebuilt = fingerprint(db)
    db.close()
    return {
        "index_us": index_s / n * 1e6,
        "unchanged_us": unchanged_s / n * 1e6,
        "rebuild_us": rebuild_s / n * 1e6,
        "search_p95_ms": sorted(query_ms)[int(len(query_ms) * 0.95)],
    }, {"synced": print_, "rebuilt": rebuilt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"SQLite {sqlite3.sqlite_version}; {args.videos} synthetic videos, pages of {PAGE}")
    with tempfile.TemporaryDirectory() as tmp:
        base, work = Path(tmp) / "base.db", Path(tmp) / "work.db"
        start = time.perf_counter()
        pages = build(base, args.videos)
        print(f"built in {time.perf_counter() - start:.1f} s (save_videos, index included)")
        runs: dict[str, list[dict]] = defaultdict(list)
        prints: dict[str, dict] = {}
        for _ in range(args.repeat):
            for name in IMPLEMENTATIONS:  # alternate, so drift hits both alike
                figures, prints[name] = measure(base, work, name, pages)
                runs[name].append(figures)
    same = prints["baseline"] == prints["current"]
    rebuilt_same = prints["current"]["synced"] == prints["current"]["rebuilt"]
    print(f"identical index and results, baseline vs current: {same}")
    print(f"rebuild_index gives the same index as syncing (current): {rebuilt_same}")
    summary = {}
    for name, figures in runs.items():
        summary[name] = {k: min(f[k] for f in figures) for k in figures[0]}
    print(f"{'best of ' + str(args.repeat):<28}{'baseline':>10}{'current':>10}")
    for key, label in [
        ("index_us", "index_videos, full sync"),
        ("unchanged_us", "index_videos, unchanged"),
        ("rebuild_us", "rebuild_index"),
        ("search_p95_ms", "search() p95 ms, as synced"),
    ]:
        b, c = summary["baseline"][key], summary["current"][key]
        print(f"{label:<28}{b:>10.3g}{c:>10.3g}   x{b / c:.2f}")
    out = Path(__file__).resolve().parent / "out" / "index_speed.json"
    out.write_text(
        json.dumps(
            {
                "videos": args.videos,
                "sqlite": sqlite3.sqlite_version,
                "identical": same,
                "rebuild_identical": rebuilt_same,
                "best_us": summary,
                "runs": runs,
            },
            indent=2,
        )
    )
    if not same:
        raise SystemExit("the current index differs from the baseline's")


if __name__ == "__main__":
    main()
