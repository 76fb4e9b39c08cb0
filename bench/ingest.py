"""Ingest rate: `store.save_videos` against raw sqlite3 `executemany` of the same rows.

No network: the videos.list pages are built beforehand from the synthetic channel (exactly
what the emulator would send, through a JSON round trip), 50 videos a page, and each page is
saved in its own transaction as the sync does. Only the saving is timed. The baseline inserts
the very rows `save_videos` writes into `videos` (built by `store.video_row` outside the
timer) with one `executemany` and a commit per page, into a database with the same schema.
A second pass saves the same pages again: what a full re-sync of an unchanged channel costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from archivesync.bigrams import FIELDS, bigram_text, document
from archivesync.db import store
from archivesync.db.schema import open_db
from archivesync.emulator import synthetic_dataset
from archivesync.emulator.api import list_response
from archivesync.youtube import VIDEO_PARTS

from .common import PAGE, Session, fmt_size, log

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-02T00:00:00Z"
BREAKDOWN_VIDEOS = 10_000  # the per-step breakdown is measured on the first videos only


def pages(n: int) -> Iterator[list[dict]]:
    """videos.list answers for the channel's uploads, 50 ids a page, as fresh JSON objects."""
    ds = synthetic_dataset(n)
    ids = ds.uploads()
    for start in range(0, len(ids), PAGE):
        params = {"part": VIDEO_PARTS, "id": ",".join(ids[start : start + PAGE])}
        body = list_response(ds, "videos", params)
        yield json.loads(json.dumps(body, ensure_ascii=False))["items"]


def _raw_rows(resources: list[dict]) -> list[dict]:
    rows = []
    for r in resources:
        row = store.video_row(r)
        row.update(first_seen_at=NOW, last_synced_at=NOW, removed_at=None, removed_reason=None)
        rows.append(row)
    return rows


def _breakdown(resources: list[dict], acc: dict) -> None:
    """Seconds of the pure-Python steps of save_videos, step by step."""
    t0 = time.perf_counter()
    rows = [store.video_row(r) for r in resources]
    t1 = time.perf_counter()
    chapters = [store.chapter_rows(r["id"], r["description"], r["duration_seconds"]) for r in rows]
    t2 = time.perf_counter()
    for row, chs in zip(rows, chapters, strict=True):
        doc = document(row["title"], row["description"], row["tags"], [c["title"] for c in chs])
        for field in FIELDS:
            bigram_text(doc[field])
    t3 = time.perf_counter()
    acc["video_row"] += t1 - t0
    acc["chapters"] += t2 - t1
    acc["search_tokens"] += t3 - t2
    acc["videos"] += len(rows)


def measure(session: Session, n: int) -> dict:
    db = open_db(session.new_db(f"ingest-save-{n}"))
    raw = open_db(session.new_db(f"ingest-raw-{n}"))
    conn = raw.conn
    save_s = raw_s = 0.0
    chapters = 0
    breakdown = {"video_row": 0.0, "chapters": 0.0, "search_tokens": 0.0, "videos": 0}
    sql = None
    kept: list[list[dict]] = []  # for the second pass, only when small
    tenths: list[float] = []  # save_videos seconds in each tenth of the channel
    done = 0
    for resources in pages(n):
        start = time.perf_counter()
        with db.atomic():
            store.save_videos(db, resources, NOW)
        spent = time.perf_counter() - start
        save_s += spent
        tenth = min(9, done * 10 // n)
        tenths.extend([0.0] * (tenth + 1 - len(tenths)))
        tenths[tenth] += spent
        done += len(resources)

        rows = _raw_rows(resources)
        if sql is None:
            cols = list(rows[0])
            sql = (
                f"INSERT OR REPLACE INTO videos ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})"
            )
        values = [tuple(row[c] for c in cols) for row in rows]
        start = time.perf_counter()
        conn.executemany(sql, values)
        conn.commit()
        raw_s += time.perf_counter() - start

        if breakdown["videos"] < BREAKDOWN_VIDEOS:
            _breakdown(resources, breakdown)
        if n <= 10_000:
            kept.append(resources)
    chapters = db.execute("SELECT count(*) FROM chapters").fetchone()[0]
    # The second pass: the same resources again, nothing changed (skipped for large channels:
    # its rate does not depend on the size, and regenerating the pages takes minutes).
    resave_s = 0.0
    resave_n = 0
    for resources in kept:
        start = time.perf_counter()
        with db.atomic():
            store.save_videos(db, resources, LATER)
        resave_s += time.perf_counter() - start
        resave_n += len(resources)
    db.close()
    raw.close()
    per_video = {
        k: breakdown[k] / breakdown["videos"] * 1e6
        for k in ("video_row", "chapters", "search_tokens")
    }
    save_us = save_s / n * 1e6
    per_video["sqlite_and_rest"] = save_us - sum(per_video.values())
    return {
        "videos": n,
        "chapters": chapters,
        "save_s": save_s,
        "raw_s": raw_s,
        "save_rate": n / save_s,
        "raw_rate": n / raw_s,
        "ratio": save_s / raw_s,
        "resave_s": resave_s,
        "resave_rate": resave_n / resave_s if resave_n else None,
        # videos per second in the first and the last tenth of the channel
        "first_tenth_rate": (n / 10) / tenths[0] if tenths and tenths[0] else None,
        "last_tenth_rate": (n / 10) / tenths[-1] if len(tenths) == 10 and tenths[-1] else None,
        "breakdown_us_per_video": per_video,
        "breakdown_videos": breakdown["videos"],
    }


def run(session: Session, sizes: list[int]) -> dict:
    rows = []
    for n in sizes:
        log(f"ingest: {fmt_size(n)} videos")
        rows.append(measure(session, n))
        r = rows[-1]
        log(f"ingest: save_videos {r['save_rate']:.0f}/s, executemany {r['raw_rate']:.0f}/s")
    return {"rows": rows}
