"""Web console page times: every console page against Datasette's own table page, same server.

    .venv/bin/python -m bench.web_pages                  # sample channel + 1,000 videos (~1 min)
    .venv/bin/python -m bench.web_pages --videos 0       # the sample channel only

Run by hand, not by `make bench`. For each index (the sample channel synced from the emulator,
and a synthetic channel of --videos videos), `archivesync serve --users` runs in its own
process and each page is fetched REPS times over loopback after one warm-up fetch; the figure
is the wall time of the whole request (median and 95th percentile). The baseline, fetched in
the same run from the same server, is Datasette's own page of the `video_overview` view: what
an analyst opened before the console. Target: every page under 200 ms on the sample index.
Results: bench/out/web_pages.json and bench/WEB_PAGES.md.
"""

from __future__ import annotations

import argparse
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target
from archivesync.web.users import add_user

from .common import REPO, Session, log, machine, median, percentile, write_json

SAMPLE = REPO / "data" / "sample_channel.json"
REPS = 30
TARGET_MS = 200
BASELINE = "Datasette /archive/video_overview"


def _serve(db: Path, users: Path, workdir: Path):
    import subprocess
    import sys

    log_file = open(workdir / f"serve-{db.stem}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archivesync",
            "serve",
            "--db",
            str(db),
            "--port",
            "0",
            "--users",
            str(users),
        ],
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
    )
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise RuntimeError(f"serve did not start: {line!r}")
    return proc, log_file, "http://" + line.split("http://", 1)[1].split("/", 1)[0]


def _time(url: str, reps: int) -> dict:
    def once() -> float:
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url}: {response.status}")
        return (time.perf_counter() - started) * 1000

    once()  # warm-up: templates compiled, pages of the file in the OS cache
    times = [once() for _ in range(reps)]
    return {"median_ms": round(median(times), 1), "p95_ms": round(percentile(times, 95), 1)}


def _pages(db: Path) -> dict[str, str]:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        channel = conn.execute("SELECT id FROM channels LIMIT 1").fetchone()[0]
        # The video with the most chapters: the heaviest video page.
        video = conn.execute(
            "SELECT video_id FROM chapters GROUP BY video_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    finally:
        conn.close()
    q = urllib.parse.quote
    return {
        BASELINE: f"/{db.stem}/video_overview",
        "概要 /": "/",
        "検索 /-/search?q=人材": f"/-/search?q={q('人材')}",
        "検索 /-/search?q=自治体 DX": f"/-/search?q={q('自治体 DX')}",
        "動画 /-/video/ID": f"/-/video/{video}",
        "チャンネル /-/channel/ID": f"/-/channel/{channel}",
        "依頼履歴 /-/requests": "/-/requests",
        "ログイン /-/login": "/-/login",
        "Datasette search query": f"/{db.stem}/search?q={q('人材')}",
    }


def measure(db: Path, users: Path, workdir: Path, reps: int) -> dict:
    proc, log_file, base = _serve(db, users, workdir)
    try:
        results = {name: _time(base + path, reps) for name, path in _pages(db).items()}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        log_file.close()
    floor = results[BASELINE]["median_ms"]
    for figures in results.values():
        figures["ratio"] = round(figures["median_ms"] / floor, 2) if floor else None
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_pages")
    parser.add_argument("--videos", type=int, default=1000, help="synthetic channel (0: none)")
    parser.add_argument("--reps", type=int, default=REPS)
    args = parser.parse_args(argv)
    out: dict = {"machine": machine(), "reps": args.reps, "target_ms": TARGET_MS, "indexes": {}}
    with Session() as session:
        users = session.workdir / "users.json"
        add_user(users, "bench", "bench-password")
        db = session.new_db("sample")
        with Emulator(load_dataset(SAMPLE)) as emu:
            dataset = load_dataset(SAMPLE)
            run_sync(
                db,
                Target("channel", [dataset.channel_id], full=True),
                api_key=DEMO_API_KEY,
                endpoint=emu.url,
            )
        log("web: sample channel")
        out["indexes"]["sample channel"] = measure(db, users, session.workdir, args.reps)
        if args.videos:
            synced = session.full_sync(args.videos)
            log(f"web: synthetic channel of {args.videos} videos")
            out["indexes"][f"{args.videos:,} videos"] = measure(
                Path(synced["db_path"]), users, session.workdir, args.reps
            )
    write_json("web_pages", out)
    _report(out)
    return 0


def _report(out: dict) -> None:
    lines = [
        "# Web console page times",
        "",
        f"`python -m bench.web_pages` on {out['machine'].get('date', '?')}, "
        f"{os.cpu_count()} CPUs. Each page fetched {out['reps']} times "
        "over loopback after a warm-up, whole request timed (median, p95). Ratio: median over "
        f"the median of the baseline ({BASELINE}, the same server, the same run). "
        f"Target: under {out['target_ms']} ms on the sample index.",
        "",
    ]
    for index, results in out["indexes"].items():
        lines += [f"## {index}", "", "| page | median ms | p95 ms | ratio to baseline |",
                  "| --- | ---: | ---: | ---: |"]  # fmt: skip
        for name, r in results.items():
            lines.append(f"| {name} | {r['median_ms']} | {r['p95_ms']} | {r['ratio']} |")
        slowest = max(r["median_ms"] for r in results.values())
        verdict = "met" if slowest < out["target_ms"] else "NOT met"
        lines += ["", f"Slowest median {slowest} ms: {out['target_ms']} ms target {verdict}.", ""]
    (REPO / "bench" / "WEB_PAGES.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
