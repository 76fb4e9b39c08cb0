"""Which FTS5 index finds Japanese words? unicode61, trigram, bigram (ours) and SudachiPy.

    .venv/bin/python -m bench.search_compare                  # compare at 5,000 videos
    .venv/bin/python -m bench.search_compare --scale 100000   # and time the real search()

Every index is measured on the same synthetic corpus, against the truth computed by brute force
(a video matches a query when every normalised word is a substring of its normalised title,
description, one tag or one chapter title). Each variant is an index only, without any final
exact check, so precision and recall show what the index itself finds; the bigram variant is
also timed through the real `archivesync.search.search` (index + exact check + ranking) at the
--scale size, with the whole pipeline (`store.save_videos` + `index_videos`).

Results go to bench/out/search_compare.json, and are printed as Markdown for the "Search"
section of docs/development.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archivesync.bigrams import bigram_text
from archivesync.db import schema, store
from archivesync.db.search_index import rebuild_index
from archivesync.parsing import normalize_text, parse_chapters, parse_duration
from archivesync.search.query import search
from archivesync.search.text import SearchQuery

OUT = Path(__file__).resolve().parent / "out"

# --------------------------------------------------------------------------------------------
# A synthetic channel: seminars and lectures of a local-government research institute
# --------------------------------------------------------------------------------------------

# (word, weight): a skewed vocabulary, so that some words are in most videos and some in few.
TOPICS = [
    ("自治体DX", 12), ("防災", 6), ("人材育成", 6), ("窓口改革", 4), ("書かない窓口", 2),
    ("生成AI", 4), ("AI・RPA", 3), ("オープンデータ", 3), ("行政手続のオンライン化", 3),
    ("地域包括ケア", 2), ("子育て支援", 2), ("公共交通", 2), ("空き家対策", 2),
    ("財政健全化", 2), ("観光振興", 2), ("脱炭素", 2), ("人口減少", 3), ("移住定住", 1),
    ("介護予防", 1), ("地域医療", 1), ("GIGAスクール", 1), ("マイナンバーカード", 2),
    ("情報セキュリティ", 2), ("ガバメントクラウド", 2), ("EBPM", 2), ("公民連携(PPP/PFI)", 1),
    ("多文化共生", 1), ("避難所運営", 1), ("ハザードマップ", 1), ("ICT活用", 2),
    ("スマートシティ", 1), ("ドローン活用", 1), ("キャッシュレス決済", 1), ("SDGs", 2),
]  # fmt: skip
FORMATS = ["セミナー", "講演会", "研修", "シンポジウム", "勉強会", "フォーラム",
           "ワークショップ", "講座", "成果報告会", "パネルディスカッション"]  # fmt: skip
SUBTITLES = ["現場職員が語る", "はじめの一歩", "よくある課題と解決策", "住民目線で考える",
             "小規模自治体の挑戦", "庁内の合意形成", "失敗から学ぶ", "データで見る現状",
             "明日から使えるノウハウ", "先進事例に学ぶ", "これからの10年"]  # fmt: skip
PLACES = ["札幌市", "盛岡市", "仙台市", "茨城県", "川口市", "千葉県", "横須賀市", "藤沢市",
          "長岡市", "金沢市", "岐阜県", "浜松市", "滋賀県", "伊丹市", "広島県", "北九州市",
          "熊本市", "奄美市", "宜野湾市", "長野県", "高知県", "大田区", "鎌倉市",
          "三鷹市"]  # fmt: skip
NAMES = ["佐藤 健一", "鈴木 裕子", "高橋 誠", "田中 美咲", "伊藤 大輔", "渡辺 直樹",
         "山本 陽子", "中村 翔太", "小林 恵", "加藤 浩二", "吉田 由美", "山田 拓也"]  # fmt: skip
ROLES = ["DX推進課長", "情報政策課 主査", "危機管理課長", "市民課長", "総務部参事",
         "CIO補佐官", "大学教授", "研究所 主任研究員", "デジタル推進監"]  # fmt: skip
SENTENCES = [
    "{topic}をテーマに、{place}の取組を紹介します。",
    "本{format}では、{topic}を進めるうえでの課題と、その乗り越え方を解説します。",
    "{place}の{role}が、{topic}の実践例を具体的にお話しします。",
    "住民サービスの向上と職員の負担軽減を両立するためのポイントをまとめました。",
    "人材育成やリソース不足への対応など、現場の悩みに応える内容です。",
    "{topic}と{topic2}を組み合わせた取組について、導入の経緯から効果検証まで紹介します。",
    "自治体職員の皆様の業務改善の参考としてご活用ください。",
    "資料は当研究所のウェブサイト(https://example.org/seminar/{n})からダウンロードできます。",
    "講師：{place}{role} {name} 氏",
    "※ 音声の一部に聞き取りにくい箇所があります。ご了承ください。",
    "当日の質疑応答もあわせて収録しています。",
    "関連動画：{topic2}入門(全3回)もご覧ください。",
]  # fmt: skip
CHAPTER_NAMES = ["開会挨拶", "趣旨説明", "{topic}の現状と課題", "事例紹介：{place}の取組",
                 "{topic2}との関係", "データで見る{topic}", "パネルディスカッション",
                 "質疑応答", "まとめ", "閉会", "基調講演", "グループワーク", "今後の展望",
                 "DXと人材", "AI活用の注意点", "窓口での実践", "防災訓練の工夫"]  # fmt: skip
TAGS = ["自治体", "地方自治", "行政", "研修", "セミナー", "講演", "公務員", "DX", "AI",
        "防災", "まちづくり", "政策研究"]  # fmt: skip

_WEIGHTS = [w for _, w in TOPICS]
_TOPICS = [t for t, _ in TOPICS]
_START = datetime(2016, 4, 1, tzinfo=UTC)


def _variant(text: str, rng: random.Random) -> str:
    """Sometimes full-width Latin letters, as typed by many Japanese writers (ＤＸ, ＡＩ)."""
    if rng.random() < 0.2:
        return text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    return text


def make_video(i: int, rng: random.Random) -> dict:
    topic, topic2 = rng.choices(_TOPICS, weights=_WEIGHTS, k=2)
    place, role, name = rng.choice(PLACES), rng.choice(ROLES), rng.choice(NAMES)
    fmt = rng.choice(FORMATS)
    values = {"topic": topic, "topic2": topic2, "place": place, "role": role, "name": name}
    values["format"], values["n"] = fmt, i
    title = rng.choice(
        [
            "【第{n}回】{topic}{format}「{sub}」",
            "{topic}{format}：{sub}",
            "{place}に学ぶ{topic}｜{format}",
            "{topic}×{topic2} {format}",
        ]
    ).format(sub=rng.choice(SUBTITLES), n=i % 40 + 1, **{k: values[k] for k in values if k != "n"})
    title = _variant(title, rng)
    lines = [s.format(**values) for s in rng.sample(SENTENCES, rng.randint(3, 6))]
    duration = rng.choice([rng.randint(600, 3600), rng.randint(3600, 3 * 3600)])
    chapters = rng.randint(3, 18)
    starts = sorted(rng.sample(range(30, duration - 30, 15), chapters - 1))
    names = [rng.choice(CHAPTER_NAMES).format(**values) for _ in range(chapters)]
    lines.append("")
    for start, chapter in zip([0, *starts], names, strict=True):
        h, rest = divmod(start, 3600)
        stamp = f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"
        lines.append(f"{stamp} {_variant(chapter, rng)}")
    tags = [*rng.sample(TAGS, rng.randint(2, 5)), topic]
    published = _START + timedelta(minutes=rng.randint(0, 9 * 365 * 24 * 60))
    return {
        "id": f"v{i:07d}",
        "etag": f"e{i}",
        "snippet": {
            "publishedAt": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "channelId": "UCbench",
            "title": title,
            "description": "\n".join(lines),
            "tags": tags,
            "categoryId": "27",
            "liveBroadcastContent": "none",
            "thumbnails": {},
        },
        "contentDetails": {
            "duration": f"PT{duration // 3600}H{duration % 3600 // 60}M{duration % 60}S",
            "caption": "false",
            "definition": "hd",
        },
        "statistics": {"viewCount": str(rng.randint(10, 5000)), "likeCount": "3"},
        "status": {"privacyStatus": "public"},
    }


def make_corpus(n: int, seed: int = 20240401) -> list[dict]:
    rng = random.Random(seed)
    return [make_video(i, rng) for i in range(n)]


# One-character, two-character, acronyms, full-width, mixed, multi-word, katakana, chapter-only,
# tag-only, punctuation and FTS syntax taken literally.
QUERIES = [
    "市", "県", "x", "人材", "防災", "窓口", "観光", "交通", "DX", "AI", "ICT", "ＤＸ", "ａｉ",
    "自治体ＤＸ", "生成AI", "オープンデータ", "ケア", "セキュリティ", "質疑応答", "育成",
    "地域 医療", "防災 ハザードマップ", "DX 人材", "生成AI 窓口", "観光 まちづくり 事例",
    "グループワーク", "政策研究", "NEAR(防災", '"DX"', "AI*", "-防災", "title:防災",
    "(PPP/PFI)", "防災 OR 人材", "AI・RPA", "https://example.org", "DX推進課長",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Truth and variants
# --------------------------------------------------------------------------------------------


def normalized_docs(resources: list[dict]) -> list[dict]:
    docs = []
    for r in resources:
        s = r["snippet"]
        chapters = parse_chapters(s["description"], parse_duration(r["contentDetails"]["duration"]))
        docs.append(
            {
                "video_id": r["id"],
                "title": normalize_text(s["title"]),
                "description": normalize_text(s["description"]),
                "tags": [normalize_text(t) for t in s["tags"]],
                "chapters": [normalize_text(c.title) for c in chapters],
            }
        )
    return docs


def truth(query: str, docs: list[dict]) -> set[str]:
    terms = normalize_text(query).split()
    found = set()
    for d in docs:
        fields = [d["title"], d["description"], *d["tags"], *d["chapters"]]
        if all(any(t in f for f in fields) for t in terms):
            found.add(d["video_id"])
    return found


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


class Variant:
    name = ""
    tokenize = ""
    options = ""  # more FTS5 options, after the tokenizer

    def text(self, field: str) -> str:
        return field

    def expression(self, query: str) -> str | None:
        terms = normalize_text(query).split()
        return " AND ".join(_quote(t) for t in terms) if terms else None

    def build(self, conn: sqlite3.Connection, docs: list[dict]) -> None:
        conn.execute(
            "CREATE VIRTUAL TABLE fts USING fts5(title, description, tags, chapters, "
            f"content='', tokenize=\"{self.tokenize}\"{self.options})"
        )
        conn.executemany(
            "INSERT INTO fts (rowid, title, description, tags, chapters) VALUES (?, ?, ?, ?, ?)",
            (
                (
                    i,
                    self.text(d["title"]),
                    self.text(d["description"]),
                    self.text("\n".join(d["tags"])),
                    self.text("\n".join(d["chapters"])),
                )
                for i, d in enumerate(docs)
            ),
        )
        conn.commit()

    def rowids(self, conn, query: str, limit: int | None = None, order: str = "rank") -> list[int]:
        expression = self.expression(query)
        if expression is None:
            return []
        sql = f"SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY {order}"
        if limit:
            sql += f" LIMIT {limit}"
        try:
            return [r[0] for r in conn.execute(sql, [expression])]
        except sqlite3.OperationalError:
            return []  # e.g. a trigram phrase the tokenizer rejects: nothing found


class Unicode61(Variant):
    name = "unicode61"
    tokenize = "unicode61 remove_diacritics 0"


class Trigram(Variant):
    name = "trigram"
    tokenize = "trigram"


class Bigram(Variant):
    name = "bigram (ours)"
    tokenize = "ascii"

    def text(self, field: str) -> str:
        return bigram_text(field)

    def expression(self, query: str) -> str | None:
        return SearchQuery(query).match_expression()


class BigramPrefix(Bigram):
    name = "bigram + 1-char prefix index"
    options = ", prefix='1'"


class Sudachi(Variant):
    """Morphemes (mode A, the shortest units, so the most words can be found)."""

    name = "SudachiPy (mode A)"
    tokenize = "unicode61 remove_diacritics 0"

    def __init__(self):
        from sudachipy import Dictionary, SplitMode

        self._tokenizer = Dictionary().tokenizer(SplitMode.A)

    def _morphemes(self, text: str) -> list[str]:
        return [m.surface() for m in self._tokenizer.tokenize(text) if m.surface().strip()]

    def text(self, field: str) -> str:
        # One line at a time: Sudachi refuses inputs over 49,149 bytes.
        return "\n".join(" ".join(self._morphemes(line)) for line in field.split("\n"))

    def expression(self, query: str) -> str | None:
        phrases = []
        for term in normalize_text(query).split():
            words = [w for w in self._morphemes(term) if any(c.isalnum() for c in w)]
            if words:
                phrases.append(_quote(" ".join(words)))
        return " AND ".join(phrases) if phrases else None


def variants() -> list[Variant]:
    found: list[Variant] = [Unicode61(), Trigram(), Bigram(), BigramPrefix()]
    try:
        found.append(Sudachi())
    except ImportError:
        print("SudachiPy not importable: left out", file=sys.stderr)
    return found


def fts_bytes(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'fts%'").fetchone()[0]


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def compare(n_videos: int, workdir: Path, repeat: int) -> dict:
    resources = make_corpus(n_videos)
    docs = normalized_docs(resources)
    truths = {q: truth(q, docs) for q in QUERIES}
    results = []
    for variant in variants():
        conn = sqlite3.connect(workdir / f"{variant.name.split()[0]}-{len(results)}.db")
        start = time.perf_counter()
        variant.build(conn, docs)
        build_s = time.perf_counter() - start
        per_query = {}
        precisions, recalls, times, newest_times = [], [], [], []
        for q in QUERIES:
            found = {docs[i]["video_id"] for i in variant.rowids(conn, q)}
            expected = truths[q]
            tp = len(found & expected)
            precision = tp / len(found) if found else 1.0
            recall = tp / len(expected) if expected else 1.0
            precisions.append(precision)
            recalls.append(recall)
            ms = timed(lambda q=q, v=variant, c=conn: v.rowids(c, q, 20), repeat)
            times.extend(ms)
            newest_times.extend(
                timed(lambda q=q, v=variant, c=conn: v.rowids(c, q, 20, "rowid DESC"), repeat)
            )
            per_query[q] = {
                "expected": len(expected),
                "found": len(found),
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "median_ms": round(statistics.median(ms), 2),
            }
        results.append(
            {
                "variant": variant.name,
                "precision": round(statistics.mean(precisions), 4),
                "recall": round(statistics.mean(recalls), 4),
                "queries_missing_hits": sum(r < 1 for r in recalls),
                "queries_with_false_hits": sum(p < 1 for p in precisions),
                "index_mb": round(fts_bytes(conn) / 1e6, 2),
                "build_s": round(build_s, 2),
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(p95(times), 2),
                "newest_p50_ms": round(statistics.median(newest_times), 2),
                "newest_p95_ms": round(p95(newest_times), 2),
                "per_query": per_query,
            }
        )
        conn.close()
        print(f"  {variant.name}: done", file=sys.stderr)
    text_mb = sum(
        len(("\n".join([d["title"], d["description"], *d["tags"], *d["chapters"]])).encode())
        for d in docs
    )
    return {
        "videos": n_videos,
        "chapters": sum(len(d["chapters"]) for d in docs),
        "text_mb": round(text_mb / 1e6, 2),
        "variants": results,
    }


def scale(n_videos: int, workdir: Path, repeat: int) -> dict:
    """The real pipeline: store.save_videos (which indexes as it saves), then search()."""
    path = workdir / "scale.db"
    db = schema.open_db(path)
    rng = random.Random(20240401)
    start = time.perf_counter()
    for page in range(0, n_videos, 50):
        resources = [make_video(i, rng) for i in range(page, min(page + 50, n_videos))]
        store.save_videos(db, resources, "2025-01-01T00:00:00Z")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    rebuild_index(db)
    rebuild_s = time.perf_counter() - start
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    chapters = db.execute("SELECT count(*) FROM chapters").fetchone()[0]
    sizes = dict(
        db.execute(
            "SELECT CASE WHEN name LIKE 'search_fts_head%' THEN 'search_fts_head' "
            "WHEN name LIKE 'search_fts_title%' THEN 'search_fts_title' "
            "WHEN name LIKE 'search_fts%' THEN 'search_fts' ELSE name END, "
            "sum(pgsize) FROM dbstat GROUP BY 1"
        ).fetchall()
    )
    db.close()
    ro = schema.open_readonly(path)
    per_query, times, bm25_times = {}, [], []
    bm25_sql = (
        "SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
        "ORDER BY bm25(search_fts, 10.0, 1.0, 4.0, 8.0) LIMIT 20"
    )
    for q in QUERIES:
        search(ro, q)  # warm the page cache as a long-running reader would be
        ms = timed(lambda q=q: search(ro, q, limit=20), repeat)
        times.extend(ms)
        expression = SearchQuery(q).match_expression()
        bm25_ms = timed(lambda e=expression: ro.conn.execute(bm25_sql, [e]).fetchall(), repeat)
        bm25_times.extend(bm25_ms)
        per_query[q] = {
            "median_ms": round(statistics.median(ms), 2),
            "max_ms": round(max(ms), 2),
            "bm25_top20_median_ms": round(statistics.median(bm25_ms), 2),
            "hits_returned": len(search(ro, q, limit=20)),
        }
    ro.close()
    mb = {name: round(size / 1e6, 1) for name, size in sizes.items()}
    return {
        "videos": n_videos,
        "chapters": chapters,
        "load_s": round(load_s, 1),
        "rebuild_index_s": round(rebuild_s, 1),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "search_fts_mb": mb.get("search_fts", 0),
        "search_fts_head_mb": mb.get("search_fts_head", 0),
        "search_fts_title_mb": mb.get("search_fts_title", 0),
        "search_docs_mb": mb.get("search_docs", 0),
        "videos_mb": mb.get("videos", 0),
        "chapters_mb": mb.get("chapters", 0),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95(times), 2),
        "max_ms": round(max(times), 2),
        "bm25_p50_ms": round(statistics.median(bm25_times), 2),
        "bm25_p95_ms": round(p95(bm25_times), 2),
        "per_query": per_query,
    }


def markdown(report: dict) -> str:
    c = report["compare"]
    lines = [
        f"Corpus: {c['videos']:,} videos, {c['chapters']:,} chapters, "
        f"{c['text_mb']} MB of normalised text; {len(QUERIES)} queries.",
        "",
        "| index | precision | recall | queries missing hits | queries with false hits "
        "| index MB | build s | top 20 by bm25: p50 / p95 ms | top 20 newest: p50 / p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in c["variants"]:
        lines.append(
            f"| {v['variant']} | {v['precision']:.3f} | {v['recall']:.3f} "
            f"| {v['queries_missing_hits']} | {v['queries_with_false_hits']} "
            f"| {v['index_mb']} | {v['build_s']} | {v['p50_ms']} / {v['p95_ms']} "
            f"| {v['newest_p50_ms']} / {v['newest_p95_ms']} |"
        )
    s = report.get("scale")
    if s:
        lines += [
            "",
            f"Real pipeline at {s['videos']:,} videos / {s['chapters']:,} chapters: "
            f"save_videos (indexing as it saves) {s['load_s']} s; rebuild_index "
            f"{s['rebuild_index_s']} s; file {s['file_mb']} MB (search_fts {s['search_fts_mb']}, "
            f"search_fts_head {s['search_fts_head_mb']}, search_fts_title "
            f"{s['search_fts_title_mb']}, search_docs {s['search_docs_mb']}, videos "
            f"{s['videos_mb']}, chapters {s['chapters_mb']} MB); "
            f"search() p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms; "
            f"the same index ranked by bm25 instead (top 20, SQL only) p50 {s['bm25_p50_ms']} "
            f"ms, p95 {s['bm25_p95_ms']} ms.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="search_compare")
    parser.add_argument("--videos", type=int, default=5000, help="corpus size for the comparison")
    parser.add_argument("--scale", type=int, default=0, help="also time search() at this size")
    parser.add_argument("--repeat", type=int, default=5, help="timings per query")
    parser.add_argument("--out", type=Path, default=OUT / "search_compare.json")
    args = parser.parse_args(argv)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        report["compare"] = compare(args.videos, Path(tmp), args.repeat)
        if args.scale:
            report["scale"] = scale(args.scale, Path(tmp), args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{report['date']}, {report['machine']}\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
