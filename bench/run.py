"""`make bench`: run the benchmarks against the emulator and write bench/RESULTS.md.

    .venv/bin/python -m bench.run                      # 1k, 10k and 100k videos (~15 min)
    .venv/bin/python -m bench.run --quick              # 1k only (~1 min)
    .venv/bin/python -m bench.run --only quota,size --sizes 1000,10000

Raw figures go to bench/out/<part>.json; RESULTS.md is rendered from all of them, so a part
run alone (--only) updates its section and keeps the others from their last run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import cli_search, ingest, memory, quota, report, search_latency, size, walltime
from .common import REPO, Session, fmt_size, log, machine, read_json, write_json

PARTS = ("quota", "wall", "ingest", "memory", "search", "size", "cli")


def _sizes(text: str) -> list[int]:
    sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    if not sizes or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def _parts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part(s) {unknown}; choose from {PARTS}")
    return parts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=_sizes, default=[1000, 10_000, 100_000], help="channel sizes")
    p.add_argument("--quick", action="store_true", help="1,000 videos only")
    p.add_argument("--only", type=_parts, default=list(PARTS), help=",".join(PARTS))
    p.add_argument("--output", type=Path, default=REPO / "bench" / "RESULTS.md")
    p.add_argument(
        "--wall-latencies", default="0,20", help="emulated latencies (ms) for the wall part"
    )
    p.add_argument(
        "--wall-max-latent-size",
        type=int,
        default=10_000,
        help="largest channel timed at a non-zero latency (the baseline takes ~5 min at 100k)",
    )
    p.add_argument(
        "--reps", type=int, default=3, help="repetitions (median) for channels of <= 1,000"
    )
    p.add_argument(
        "--ingest-max-size",
        type=int,
        default=10_000,
        help="largest channel for the ingest part (the search part ingests the largest size)",
    )
    p.add_argument("--search-db", type=Path, help="reuse (or keep) the search database here")
    p.add_argument("--keep", action="store_true", help="keep the work directory of databases")
    p.add_argument("--render-only", action="store_true", help="re-render RESULTS.md only")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = [1000]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        report.write(args.output)
        return 0
    started = time.perf_counter()
    sizes = args.sizes
    info = machine()
    info["argv"] = sys.argv[1:]
    log(f"bench: sizes {', '.join(fmt_size(n) for n in sizes)}; parts {', '.join(args.only)}")
    timings = {}
    with Session(keep=args.keep) as session:
        if args.keep:
            log(f"bench: databases are kept in {session.workdir}")
        for part in args.only:
            t0 = time.perf_counter()
            data = _run_part(part, session, args)
            data["date"] = info["date"]
            data["sizes"] = sizes
            write_json(part, data)
            timings[part] = time.perf_counter() - t0
            log(f"bench: {part} done in {timings[part]:.0f} s")
    info["part_seconds"] = timings
    info["total_seconds"] = time.perf_counter() - started
    previous = read_json("machine") or {}
    if set(args.only) != set(PARTS) and previous.get("part_seconds"):
        info["part_seconds"] = {**previous["part_seconds"], **timings}
    write_json("machine", info)
    report.write(args.output)
    log(f"bench: wrote {args.output} in {info['total_seconds'] / 60:.1f} min")
    return 0


def _run_part(part: str, session: Session, args: argparse.Namespace) -> dict:
    sizes = args.sizes
    if part == "quota":
        return quota.run(session, sizes)
    if part == "wall":
        latencies = [float(x) for x in args.wall_latencies.split(",") if x.strip()]
        return walltime.run(
            session,
            sizes,
            latencies,
            reps_for=lambda n: args.reps if n <= 1000 else 1,
            skip=lambda n, latency: latency > 0 and n > args.wall_max_latent_size,
        )
    if part == "ingest":
        return ingest.run(session, [n for n in sizes if n <= args.ingest_max_size] or sizes[:1])
    if part == "memory":
        return memory.run(session, sizes)
    if part == "search":
        return search_latency.run(session, max(sizes), reuse=args.search_db)
    if part == "size":
        return size.run(session, sizes)
    if part == "cli":
        return cli_search.run(session)
    raise ValueError(part)


if __name__ == "__main__":
    sys.exit(main())
