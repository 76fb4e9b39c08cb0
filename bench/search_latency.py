"""Search latency at 100,000 videos and about 1,000,000 chapters, against a naive LIKE scan.

The database is built directly with `store.save_videos` (the sync's own save path, so the
search index is kept in step exactly as in a sync) from the synthetic channel's videos.list
resources, with each description's chapter list replaced by one of ten chapters (so ~10 per
video; short videos are lengthened to 10 minutes so that ten chapters are valid). Queries run
through `archivesync.search.search(db, q, limit=20)` on a read-only connection; the baseline
is one SQL statement that scans videos and chapters with `LIKE '%term%'` for every word and
returns the newest 20 matches (it must read every row, as a ranked search must).
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from archivesync.db import store
from archivesync.db.schema import open_db, open_readonly
from archivesync.parsing import parse_duration
from archivesync.search.query import search

from .common import Session, db_size, fmt_size, log, percentile
from .ingest import NOW, pages

QUERIES = ["人材", "防災", "窓口", "DX", "自治体DX推進", "人材 育成", "防災 AI"]
SEARCH_REPS = 30
BASELINE_REPS = 5
CHAPTERS_PER_VIDEO = 10

_TIMESTAMP = re.compile(r"[0-9０-９]+[:：][0-9０-９]{2}")
_TOPICS = ["自治体DX", "防災", "人材育成", "窓口改革", "書かない窓口", "生成AI", "AI・RPA",
           "オープンデータ", "データ利活用", "業務改革(BPR)", "ガバメントクラウド", "EBPM",
           "避難所運営", "地域防災計画", "情報セキュリティ", "マイナンバーカード", "子育て支援",
           "DX推進体制", "デジタル人材", "防災DX"]  # fmt: skip
_PATTERNS = ["{t}の現状と課題", "{t}の取組紹介", "{t}の進め方", "事例発表:{t}", "{t}Q&A",
             "{t}の効果検証", "{t}と庁内の合意形成", "これからの{t}"]  # fmt: skip
_GENERIC = ["開会・趣旨説明", "講師紹介", "基調講演", "質疑応答", "休憩", "パネルディスカッション",
            "意見交換", "グループワーク", "振り返り", "まとめ", "閉会", "オープニング",
            "本日のテーマ", "導入の経緯", "今後の展望", "エンディング"]  # fmt: skip


def _stamp(seconds: int, form: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    if form == 1:
        return f"【{text}】"
    if form == 2:
        return text.translate(str.maketrans("0123456789:", "０１２３４５６７８９：")) + "\u3000"
    return text + " "


def with_ten_chapters(resource: dict) -> dict:
    """The resource with its chapter list (if any) replaced by ten valid chapters."""
    rng = random.Random(resource["id"])
    snippet = resource["snippet"]
    details = resource["contentDetails"]
    duration = parse_duration(details.get("duration")) or 0
    if duration < 600:
        duration = 600
        details["duration"] = "PT10M"
    step = duration // CHAPTERS_PER_VIDEO
    names = []
    for i in range(CHAPTERS_PER_VIDEO):
        if rng.random() < 0.4:
            names.append(rng.choice(_PATTERNS).format(t=rng.choice(_TOPICS)))
        else:
            names.append(rng.choice(_GENERIC) + ("" if i < 8 else f"({i})"))
    form = rng.randrange(3)
    block = [_stamp(i * step + (rng.randrange(5) if i else 0), form) + name
             for i, name in enumerate(names)]  # fmt: skip
    paragraphs = [
        p for p in snippet["description"].split("\n\n") if "。" in p or not _TIMESTAMP.search(p)
    ]
    paragraphs.insert(max(1, len(paragraphs) - 1), "\n".join(["目次", *block]))
    snippet["description"] = "\n\n".join(paragraphs)
    snippet.get("localized", {})["description"] = snippet["description"]
    return resource


def build(path: Path, n: int) -> dict:
    """The database, through store.save_videos; seconds spent saving (only), overall and in
    the first and last tenth of the channel."""
    db = open_db(path)
    tenths = [0.0] * 10
    done = 0
    for resources in pages(n):
        resources = [with_ten_chapters(r) for r in resources]
        start = time.perf_counter()
        with db.atomic():
            store.save_videos(db, resources, NOW)
        tenths[min(9, done * 10 // n)] += time.perf_counter() - start
        done += len(resources)
    db.close()
    return {
        "build_s": sum(tenths),
        "first_tenth_rate": (n / 10) / tenths[0] if tenths[0] else None,
        "last_tenth_rate": (n / 10) / tenths[-1] if tenths[-1] else None,
    }


def _like_sql(terms: list[str]) -> str:
    conds = []
    for i in range(len(terms)):
        t = f":t{i}"
        conds.append(
            f"(v.title LIKE {t} OR v.description LIKE {t} OR v.tags LIKE {t} OR EXISTS "
            f"(SELECT 1 FROM chapters c WHERE c.video_id = v.id AND c.title LIKE {t}))"
        )
    return (
        "SELECT v.id FROM videos v WHERE v.removed_at IS NULL AND "
        + " AND ".join(conds)
        + " ORDER BY v.published_at DESC LIMIT :limit"
    )


def like_search(db, query: str, limit: int = 20) -> list[str]:
    terms = query.split()
    params = {f"t{i}": f"%{t}%" for i, t in enumerate(terms)}
    params["limit"] = limit
    return [r[0] for r in db.conn.execute(_like_sql(terms), params)]


def _times(fn, reps: int) -> list[float]:
    fn()  # warm the page cache and the statement cache
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def run(session: Session, n: int, reuse: Path | None = None) -> dict:
    if reuse is not None and reuse.is_file():
        path, built = reuse, {"build_s": None, "reused": str(reuse)}
        log(f"search: reusing {reuse}")
    else:
        path = reuse or session.new_db(f"search-{n}")
        log(f"search: building {fmt_size(n)} videos with ~{CHAPTERS_PER_VIDEO} chapters each")
        built = build(path, n)
    size = db_size(path)
    log(f"search: {size['videos']} videos, {size['chapters']} chapters; timing queries")
    db = open_readonly(path)
    rows = []
    for query in QUERIES:
        search_ms = _times(lambda q=query: search(db, q, limit=20), SEARCH_REPS)
        like_ms = _times(lambda q=query: like_search(db, q), BASELINE_REPS)
        # How many videos match, by each method (untimed): they must agree.
        found = len(search(db, query, limit=10**9))
        liked = len(like_search(db, query, limit=10**9))
        rows.append(
            {
                "query": query,
                "kind": _kind(query),
                "matches_search": found,
                "matches_like": liked,
                "search_p50_ms": percentile(search_ms, 50),
                "search_p95_ms": percentile(search_ms, 95),
                "like_p50_ms": percentile(like_ms, 50),
                "like_p95_ms": percentile(like_ms, 95),
                "search_ms": search_ms,
                "like_ms": like_ms,
            }
        )
        r = rows[-1]
        log(
            f"search: {query!r}: p50 {r['search_p50_ms']:.1f} ms, p95 {r['search_p95_ms']:.1f} ms;"
            f" LIKE p50 {r['like_p50_ms']:.0f} ms ({found} / {liked} matches)"
        )
    db.close()
    return {
        "videos": size["videos"],
        "chapters": size["chapters"],
        "db_bytes": size["bytes"],
        "db_by_group": size["by_group"],
        **built,
        "search_reps": SEARCH_REPS,
        "baseline_reps": BASELINE_REPS,
        "rows": rows,
    }


def _kind(query: str) -> str:
    if " " in query:
        return "multi-term"
    return "2-character" if len(query) == 2 else "longer"
