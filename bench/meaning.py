"""`make bench-search`: quality and cost of search by meaning and hybrid search.

    .venv/bin/python -m bench.meaning            # ~3-5 min on a shared 2-core machine
    .venv/bin/python -m bench.meaning --sizes 10000 --queries 10

Parts, all in one run so that ratios compare figures measured under the same load:

1. Quality: recall@5 and MRR of words, meaning and hybrid on the labelled set
   (tests/meaning_set.py: the sample channel's transcripts), and how many of words mode's top 5
   stay in hybrid's top 5. With `--models`, the two packaged models side by side.
2. Embedding throughput: passages a second and hours of speech a CPU-minute, on ~30 s
   windows of sample speech (~240 characters, what a lecturer says in 30 s).
3. Query latency p95 at 10k and 100k passages (query embedding + nearest neighbours + fusion),
   in-process: cold (the first query of a process: the CLI), with the vector file `embed`
   writes beside the database (memory-mapped) and without it (every vector read from SQLite:
   the baseline), and warm (the console keeps the matrix). The passages beyond the sample's
   are SYNTHETIC vectors (random, normalised, stored as the real ones are): nearest-neighbour
   cost does not depend on what the vectors mean.
4. Index size per hour of transcript, peak RSS of `embed` and of a hybrid query at 100k
   (`archivesync search` processes), and the start-up of `search --mode words` against a bare
   `python -c 'import sqlite3'`.

Writes bench/out/meaning.json and re-renders bench/RESULTS.md (section "Search by meaning").
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from . import meaning_report
from .common import REPO, log, percentile, run_module, write_json

sys.path.insert(0, str(REPO))

from tests.meaning_set import QUERIES, build_sample_index, quality

WINDOW_CHARS = 240
WINDOW_SECONDS = 30
PASSAGES_PER_HOUR = 3600 / WINDOW_SECONDS + 7  # windows, plus ~6 chapters and the video


def _quality(db: Path, models: bool) -> dict:
    from archivesync.search.hybrid import KEEP_WORDS_TOP, search_modes

    conn = sqlite3.connect(db)
    out = {mode: quality(lambda q, m=mode: search_modes(conn, q, mode=m)) for mode in
           ("words", "meaning", "hybrid")}  # fmt: skip
    kept = total = 0
    for _, query, _ in QUERIES:
        words = search_modes(conn, query, mode="words")[:KEEP_WORDS_TOP]
        top = search_modes(conn, query, mode="hybrid")[:KEEP_WORDS_TOP]
        spots = {(h["video_id"], h["start_seconds"], h["chapter_position"]) for h in top}
        total += len(words)
        kept += sum((h["video_id"], h["start_seconds"], h["chapter_position"]) in spots
                    for h in words)  # fmt: skip
    out["words_top5_in_hybrid_top5"] = f"{kept}/{total}"
    if models:
        out["models"] = _models(conn)
    return out


def _models(conn: sqlite3.Connection) -> dict:
    """Each packaged model alone (meaning mode) on the labelled set, with its speed."""
    import numpy as np

    from archivesync.search.models import MODELS, load_model
    from archivesync.search.passages import read_passages

    passages = list(read_passages(conn))
    found = {}
    for name in MODELS:
        try:
            model = load_model(name)
        except Exception as e:  # not installed: say so
            found[name] = {"error": str(e)}
            continue
        start = time.perf_counter()
        matrix = model.passages([p.text for p in passages])
        embed_s = time.perf_counter() - start
        times = []

        def ranked(query, model=model, matrix=matrix, times=times):
            t = time.perf_counter()
            scores = matrix @ model.query(query)
            times.append(time.perf_counter() - t)
            return [
                {"video_id": passages[i].video_id, "start_seconds": passages[i].start_seconds,
                 "end_seconds": passages[i].end_seconds, "match_kind": passages[i].kind}
                for i in np.argsort(-scores)[:20]
            ]  # fmt: skip

        found[name] = {
            **quality(ranked),
            "passages_per_s": round(len(passages) / embed_s, 1),
            "query_ms": round(statistics.median(times) * 1000, 1),
        }
    return found


def _throughput(n: int) -> dict:
    import json

    from archivesync.search.models import load_model

    tracks = json.loads((REPO / "data" / "sample_transcripts.json").read_text("utf-8"))
    speech = "".join(c[2] for t in tracks["tracks"] for c in t["cues"])
    windows = [
        (speech * 3)[i * 97 % len(speech) :][:WINDOW_CHARS] for i in range(n)
    ]  # distinct slices of real sample speech
    model = load_model()
    model.passages(windows[:1])  # warm
    cpu, wall = time.process_time(), time.perf_counter()
    model.passages(windows)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    hours = n * WINDOW_SECONDS / 3600
    return {
        "passages": n,
        "chars_per_passage": WINDOW_CHARS,
        "passages_per_s": round(n / wall, 2),
        "cpu_s": round(cpu, 2),
        "hours_of_speech_per_cpu_minute": round(hours / (cpu / 60), 2),
        "load_before": os.getloadavg()[0],
    }


def _grow(db: Path, total: int) -> int:
    """Synthetic passages (random normalised vectors) until the index holds `total`."""
    import numpy as np

    from archivesync.search.meaning_index import encode_vectors

    conn = sqlite3.connect(db)
    have, ident = conn.execute("SELECT count(*), max(model) FROM meaning_passages").fetchone()
    rng = np.random.default_rng(7)
    dims = len(conn.execute("SELECT vector FROM meaning_passages LIMIT 1").fetchone()[0]) - 4
    for start in range(have, total, 10_000):
        n = min(10_000, total - start)
        vectors = rng.standard_normal((n, dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with conn:
            conn.executemany(
                "INSERT INTO meaning_passages (key, video_id, kind, track_id, start_seconds, "
                "end_seconds, digest, model, vector, embedded_at) "
                "VALUES (?, 'synthetic', 'transcript', 'synthetic', 0, 30, '', ?, ?, '')",
                [(f"synthetic:{start + i}", ident, blob)
                 for i, blob in enumerate(encode_vectors(vectors))],
            )  # fmt: skip
    conn.close()
    return total


def _latency(db: Path, queries: list[str]) -> dict:
    from archivesync.search import meaning
    from archivesync.search.hybrid import search_modes

    conn = sqlite3.connect(db)
    out = {}
    out["load_before"] = os.getloadavg()[0]
    for mode in ("words", "hybrid"):
        kinds = ("cold_sqlite", "cold", "warm")
        times: dict[str, list[float]] = {
            k: [] for kind in kinds for k in (kind, f"{kind}_cpu")
        }  # fmt: skip
        for q in queries:
            for kind in kinds:
                if kind != "warm":  # a new process: nothing in memory
                    meaning._cache.clear()
                _aside(db, kind == "cold_sqlite")  # the baseline: every vector from SQLite
                t, cpu = time.perf_counter(), time.process_time()
                search_modes(conn, q, mode=mode)
                times[kind].append(time.perf_counter() - t)
                times[f"{kind}_cpu"].append(time.process_time() - cpu)
        _aside(db, False)
        # CPU time too: on a shared machine, wall time is mostly waiting for a core.
        out[mode] = {f"{k}_p95_ms": round(percentile(v, 95) * 1000, 1) for k, v in times.items()}
        out[mode]["warm_p50_ms"] = round(percentile(times["warm"], 50) * 1000, 1)
    from archivesync.search.models import load_model

    model, times = load_model(), []
    for q in queries:
        t = time.perf_counter()
        model.query(q)
        times.append(time.perf_counter() - t)
    out["query_embedding_p95_ms"] = round(percentile(times, 95) * 1000, 1)
    conn.close()
    return out


def _vector_file(db: Path) -> dict:
    """Write the vector file as `embed` does at the end of a run (the synthetic passages were
    inserted behind its back), timed."""
    from archivesync.search import vector_file
    from archivesync.search.meaning_index import save_vector_file

    conn = sqlite3.connect(db)
    t, cpu = time.perf_counter(), time.process_time()
    assert save_vector_file(conn)
    out = {
        "write_s": round(time.perf_counter() - t, 3),
        "write_cpu_s": round(time.process_time() - cpu, 3),
    }
    conn.close()
    out["mb"] = round(vector_file.file_for(str(db)).stat().st_size / 1e6, 1)
    return out


def _aside(db: Path, aside: bool) -> None:
    """Move the vector file aside (the search reads SQLite, as before it existed) or back."""
    from archivesync.search import vector_file

    file = vector_file.file_for(str(db))
    moved = file.with_name(file.name + ".aside")
    if aside and file.exists():
        file.rename(moved)
    elif not aside and moved.exists():
        moved.rename(file)


def _process(workdir: Path, label: str, *args: str) -> dict:
    run = run_module("archivesync", list(args), workdir=workdir, label=label)
    return {"seconds": round(run["seconds"], 3), "peak_rss_mb": run["peak_rss_mb"],
            "exit_code": run["exit_code"]}  # fmt: skip


def _bare_python(n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sqlite3"], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _startup(db: Path, workdir: Path, n: int = 5) -> dict:
    words = [_process(workdir, "words", "search", "--db", str(db), "--mode", "words", "窓口")
             for _ in range(n)]  # fmt: skip
    bare = _bare_python(n)
    median_words = statistics.median(w["seconds"] for w in words)
    return {
        "bare_python_s": round(bare, 3),
        "search_words_s": round(median_words, 3),
        "ratio": round(median_words / bare, 2),
    }


def _size(db: Path) -> dict:
    conn = sqlite3.connect(db)
    rows, vector_bytes = conn.execute(
        "SELECT count(*), sum(length(vector)) FROM meaning_passages"
    ).fetchone()
    pages = conn.execute(
        "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'meaning_passages%' "
        "OR name = 'sqlite_autoindex_meaning_passages_1'"
    ).fetchone()[0]
    conn.close()
    per_passage = pages / rows
    return {
        "passages": rows,
        "bytes_per_passage": round(per_passage),
        "vector_bytes": vector_bytes // rows,
        "passages_per_hour": PASSAGES_PER_HOUR,
        "mb_per_hour_of_transcript": round(per_passage * PASSAGES_PER_HOUR / 1e6, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every part and write bench/out/meaning.json and bench/RESULTS.md."""
    p = argparse.ArgumentParser(prog="python -m bench.meaning", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--queries", type=int, default=20, help="queries timed at each size")
    p.add_argument("--passages", type=int, default=48, help="passages timed for throughput")
    p.add_argument("--models", action="store_true", help="compare the packaged models too")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "sample.db"
        build_sample_index(db)
        log("embedding the sample (archivesync embed)")
        result["embed_sample"] = _process(work, "embed", "embed", "--db", str(db), "--json")
        result["embed_again"] = _process(work, "embed2", "embed", "--db", str(db), "--json")
        log("quality on the labelled set")
        result["quality"] = _quality(db, args.models)
        log("embedding throughput")
        result["throughput"] = _throughput(args.passages)
        result["startup"] = _startup(db, work)
        queries = [q for kind, q, _ in QUERIES if kind != "offtopic"][: args.queries]
        result["latency"] = {}
        for size in sizes:
            log(f"latency at {size} passages")
            _grow(db, size)
            made = _vector_file(db)
            result["latency"][str(size)] = _latency(db, queries)
            result["latency"][str(size)]["vector_file"] = made
            for label in ("hybrid_process", "hybrid_process_sqlite"):
                _aside(db, label == "hybrid_process_sqlite")
                result["latency"][str(size)][label] = _process(
                    work, f"{label}{size}", "search", "--db", str(db), "--mode", "hybrid",
                    "--json", "移行の費用は国が負担する",
                )  # fmt: skip
            _aside(db, False)
        result["size"] = _size(db)
    write_json("meaning", result)
    update_results(REPO / "bench" / "RESULTS.md", meaning_report.render(result))
    log("wrote bench/out/meaning.json and its section of bench/RESULTS.md")
    return 0


def update_results(path: Path, section: str) -> None:
    """Put `section` in RESULTS.md in place of its last version (the other parts' raw figures
    may not be on this machine: re-rendering the whole file would drop their sections)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    heading = section.split("\n", 1)[0]
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + text[end + 1 :] if end != -1 else text[:start]
    found = [text.find(f"\n## {h}") for h in ("Missed targets", "Notes", "Before this round")]
    anchor = min((f for f in found if f != -1), default=-1)
    if anchor == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = text[: anchor + 1] + section + "\n" + text[anchor + 1 :]
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
