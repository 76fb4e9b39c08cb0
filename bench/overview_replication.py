"""The console's overview once the database is replicated: Litestream asked per view vs cached.

    .venv/bin/python -m bench.overview_replication        # ~30 s

Run by hand. The sample channel is synced from the emulator, `archivesync serve` runs in its
own process, and `/` (the overview) is fetched REPS times over loopback after a warm-up:

* baseline: no replication state (what the overview cost before any backup was set up);
* live: a real Litestream replicates the database and no daemon keeps a cached check, so each
  view runs Litestream (`ltx` listing of the replica, `status`) as subprocesses;
* cached: the same, with the check the daemon writes every 30 s (`<db>.replication-status.json`)
  in place: the overview reads that file.

Figures are medians (and p95) in ms and ratios to the baseline measured in the same run.
Results: bench/out/overview_replication.json and bench/OVERVIEW_REPLICATION.md.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from archivesync.emulator import DEMO_API_KEY, Emulator, load_dataset
from archivesync.replication import litestream
from archivesync.replication import status as replication_status
from archivesync.sync.channel import run_sync
from archivesync.sync.run import Target
from archivesync.web.users import add_user

from .common import REPO, Session, log, machine, write_json
from .web_pages import SAMPLE, _serve, _time

REPS = 30


def _overview(db, users, workdir, reps: int) -> dict:
    proc, log_file, base = _serve(db, users, workdir)
    try:
        return _time(base + "/", reps)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        log_file.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overview_replication")
    parser.add_argument("--reps", type=int, default=REPS)
    args = parser.parse_args(argv)
    out: dict = {"machine": machine(), "reps": args.reps, "cases": {}}
    with Session() as session:
        users = session.workdir / "users.json"
        add_user(users, "bench", "bench-password")
        db = session.new_db("sample")
        dataset = load_dataset(SAMPLE)
        with Emulator(dataset) as emu:
            run_sync(
                db,
                Target("channel", [dataset.channel_id], full=True),
                api_key=DEMO_API_KEY,
                endpoint=emu.url,
            )
        log("overview: no replication (baseline)")
        out["cases"]["baseline: not replicated"] = _overview(db, users, session.workdir, args.reps)
        replicator = litestream.Replicator(db, f"file://{session.workdir / 'replica'}")
        replicator.start()
        try:
            replicator.sync()
            log("overview: replicated, Litestream asked on each view")
            out["cases"]["replicated, live check"] = _overview(
                db, users, session.workdir, args.reps
            )
            data = replication_status.collect(db)
            replication_status.write_cache(db, data, datetime.now(UTC))
            log("overview: replicated, the daemon's cached check")
            out["cases"]["replicated, cached check"] = _overview(
                db, users, session.workdir, args.reps
            )
        finally:
            replicator.stop(final_sync=False)
    floor = out["cases"]["baseline: not replicated"]["median_ms"]
    for figures in out["cases"].values():
        figures["ratio"] = round(figures["median_ms"] / floor, 2) if floor else None
    write_json("overview_replication", out)
    lines = [
        "# The overview with replication: live check vs the daemon's cached check",
        "",
        f"`python -m bench.overview_replication` on {out['machine'].get('date', '?')}, "
        f"{os.cpu_count()} CPUs; `/` fetched {out['reps']} times after a warm-up (median, p95; "
        "ratio to the baseline of the same run).",
        "",
        "| case | median ms | p95 ms | ratio to baseline |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {name} | {r['median_ms']} | {r['p95_ms']} | {r['ratio']} |"
            for name, r in out["cases"].items()
        ),
        "",
    ]
    (REPO / "bench" / "OVERVIEW_REPLICATION.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
