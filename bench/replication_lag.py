"""Replication lag while a full sync of a big channel runs, with the real Litestream.

    .venv/bin/python -m bench.replication_lag                 # 10,000 videos (~1-2 min)
    .venv/bin/python -m bench.replication_lag --videos 1000

Run by hand, not by `make bench`. In one run, against one emulator process (synthetic channel,
0 ms latency, so the sync writes as fast as it can):

a warm-up sync (not counted), then alternating pairs of
1. a full sync without replication: the baseline wall time;
2. a full sync of a fresh database while a `Replicator` (what `daemon --replicate-to` starts)
   streams it to a fresh `file://` replica, with the daemon's checkpoint setting.

Lag of a commit = the time its transaction first appears in the replica's level-0 directory
minus the time the sync committed it (the sync's progress callback runs after every committed
page). A thread lists Litestream's local and replica level-0 directories every 20 ms: the
commit is in the first local LTX file seen after it, and that file's transaction id is looked
up in the replica. The final catch-up is how long `litestream sync -wait` takes once the sync
has ended. Results: bench/out/replication_lag.json and bench/REPLICATION_LAG.md.
"""

from __future__ import annotations

import argparse
import bisect
import os
import threading
import time
from pathlib import Path

from archivesync.db import schema
from archivesync.emulator import DEMO_API_KEY
from archivesync.replication import follow, litestream
from archivesync.replication.replicator import Replicator
from archivesync.replication.restore import integrity_check, row_counts
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target

from .common import (
    CHANNEL_ID,
    REPO,
    Session,
    bench_settings,
    log,
    machine,
    median,
    percentile,
    write_json,
)

POLL_SECONDS = 0.02


class LtxWatcher:
    """First-seen times of the level-0 LTX files in one directory, by their max txid."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.first_seen: dict[int, float] = {}

    def poll(self, now: float) -> None:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in names:
            if name.endswith(".ltx"):
                txid = int(name.split("-")[1].split(".")[0], 16)
                self.first_seen.setdefault(txid, now)


def watch(watchers: list[LtxWatcher], stop: threading.Event) -> None:
    while not stop.is_set():
        now = time.perf_counter()
        for w in watchers:
            w.poll(now)
        stop.wait(POLL_SECONDS)


def sync(db: Path, url: str, commits: list[float] | None = None) -> float:
    def progress(figures: dict) -> None:
        if commits is not None:
            commits.append(time.perf_counter())

    start = time.perf_counter()
    outcome = run_sync(
        db,
        Target("channel", [CHANNEL_ID], full=True),
        api_key=DEMO_API_KEY,
        endpoint=url,
        settings=bench_settings(),
        progress=progress,
    )
    if outcome.status != "ok":
        raise SystemExit(f"sync ended {outcome.status}: {outcome.message}")
    return time.perf_counter() - start


def commit_lags(commits: list[float], local: LtxWatcher, replica: LtxWatcher) -> list[float]:
    """For each commit: replica first-seen time of the first local LTX seen after it, minus it."""
    local_items = sorted((t, txid) for txid, t in local.first_seen.items())
    times = [t for t, _ in local_items]
    lags = []
    for committed in commits:
        i = bisect.bisect_left(times, committed)
        if i == len(times):
            continue
        txid = local_items[i][1]
        # The replica may hold it in a later file (Litestream can merge transactions).
        later = [t for r_txid, t in replica.first_seen.items() if r_txid >= txid]
        if later:
            lags.append(min(later) - committed)
    return lags


def replicated_run(session: Session, emu, rep: int) -> dict:
    """One full sync while a Replicator streams the database to a fresh file:// replica."""
    schema.leave_checkpoints_to_litestream()  # as the daemon does
    db = session.new_db("replicated")
    schema.open_db(db).close()
    replica_dir = session.workdir / f"replica-{rep}"
    url = f"file://{replica_dir}"
    replicator = Replicator(db, url)
    replicator.start()
    local = LtxWatcher(litestream.meta_dir(db.resolve()) / "ltx" / "0")
    replica = LtxWatcher(replica_dir / "ltx" / "0")
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=([local, replica], stop), daemon=True)
    watcher.start()
    commits: list[float] = []
    try:
        seconds = sync(db, emu.url, commits)
        started = time.perf_counter()
        replicator.sync()
        catch_up = time.perf_counter() - started
        time.sleep(0.2)
    finally:
        stop.set()
        watcher.join()
        replicator.stop(final_sync=False)
    return {
        "db": db,
        "url": url,
        "seconds": seconds,
        "commits": len(commits),
        "lags": commit_lags(commits, local, replica),
        "catch_up": catch_up,
        "ltx_files": len(local.first_seen),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replication_lag")
    p.add_argument("--videos", type=int, default=10_000)
    p.add_argument("--reps", type=int, default=2, help="alternating pairs of runs (median)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    n = args.videos
    baselines: list[float] = []
    replicated: list[float] = []
    lags: list[float] = []
    catch_ups: list[float] = []
    commits_total = ltx_total = 0
    with Session(keep=args.keep) as session:
        emu = session.emulator(n)
        log(f"warm-up: full sync of {n:,} videos (not counted)")
        sync(session.new_db("warmup"), emu.url)
        for rep in range(args.reps):
            # Alternating, so load from elsewhere on the machine hits both alike.
            log(f"[{rep + 1}/{args.reps}] full sync of {n:,} videos without replication")
            baselines.append(sync(session.new_db("baseline"), emu.url))
            log(f"[{rep + 1}/{args.reps}] the same with Litestream replicating to file://")
            run = replicated_run(session, emu, rep)
            replicated.append(run["seconds"])
            lags += run["lags"]
            catch_ups.append(run["catch_up"])
            commits_total += run["commits"]
            ltx_total += run["ltx_files"]
            db, url = run["db"], run["url"]
        restored = session.workdir / "restored.db"
        log("restoring the last replica to check it")
        txid = follow.restore_to(url, restored)
        result = {
            "machine": machine(),
            "load_average": os.getloadavg()[0],
            "videos": n,
            "reps": args.reps,
            "baseline_seconds": round(median(baselines), 2),
            "replicated_seconds": round(median(replicated), 2),
            "ratio": round(median(replicated) / median(baselines), 3),
            "baseline_samples": [round(x, 2) for x in baselines],
            "replicated_samples": [round(x, 2) for x in replicated],
            "commits": commits_total,
            "commits_measured": len(lags),
            "lag_median_s": round(median(lags), 3) if lags else None,
            "lag_p95_s": round(percentile(lags, 95), 3) if lags else None,
            "lag_max_s": round(max(lags), 3) if lags else None,
            "final_catch_up_s": round(max(catch_ups), 3),
            "ltx_files_local": ltx_total,
            "restored_txid": txid,
            "restored_integrity": integrity_check(restored),
            "restored_videos": row_counts(restored).get("videos"),
            "source_videos": row_counts(db).get("videos"),
        }
    write_json("replication_lag", result)
    report = REPO / "bench" / "REPLICATION_LAG.md"
    report.write_text(render(result), encoding="utf-8")
    print(render(result))
    return 0


def render(r: dict) -> str:
    m = r["machine"]
    base, repl = r["baseline_samples"], r["replicated_samples"]
    restored = (
        f"txid {r['restored_txid']}, integrity_check {r['restored_integrity']}, "
        f"{r['restored_videos']:,} of {r['source_videos']:,} videos"
    )
    return f"""# Replication lag under a full sync

Written by `python -m bench.replication_lag` (run by hand; see its docstring for the method).
Run {m["date"]} on {m["cpu_model"]} ({m["nproc"]} CPUs), Python {m["python"]}, SQLite {m["sqlite"]}.

| figure | value |
| --- | --- |
| channel | {r["videos"]:,} synthetic videos, emulator at 0 ms latency |
| runs | a warm-up, then {r["reps"]} alternating pairs; load average {r["load_average"]:.1f} |
| full sync without replication (baseline), median | {r["baseline_seconds"]} s {base} |
| full sync with Litestream replicating (`file://`), median | {r["replicated_seconds"]} s {repl} |
| ratio to the baseline | {r["ratio"]} × |
| page commits during the replicated syncs | {r["commits"]} ({r["commits_measured"]} measured) |
| replication lag of a commit: median | {r["lag_median_s"]} s |
| replication lag of a commit: 95th percentile | {r["lag_p95_s"]} s |
| replication lag of a commit: max | {r["lag_max_s"]} s |
| catch-up after the sync ended (`litestream sync -wait`), worst | {r["final_catch_up_s"]} s |
| Litestream transactions (local LTX files) | {r["ltx_files_local"]} |
| restored replica | {restored} |
"""


if __name__ == "__main__":
    raise SystemExit(main())
