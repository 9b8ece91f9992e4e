#!/usr/bin/env python3
"""Parts of bench/bench.py on their own, for before/after checks of one change: the 1 MB
Claude Code-shaped request at concurrency 1 (added p50/p99 over direct, as the report computes
them: per round, then the median), peak RSS relaying one large request ÷ its body, and with
`--cpu` the small request's CPU per request under load against floor + the SDK alone; with
`--idle N` the small request after N seconds of idleness and right after it, for each contender
and the SDK alone, and the memory one request touches. Same classes, same workloads and same
measurements as the full run; it writes no report.

    bench/focus.py --bin-dir $CARGO_TARGET_DIR/release [--path native] [--rounds 5]
                   [--latency-seconds 5] [--big-mb 30] [--big-requests 3] [--chatrix BIN]
                   [--skip-latency] [--skip-big] [--cpu] [--load-seconds 10] [--idle 2]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import bench as b
import probes
from procs import Proc


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--chatrix", help="another chatrix binary (the rest from --bin-dir)")
    p.add_argument("--path", choices=b.PATHS, default="native")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--latency-seconds", type=float, default=5)
    p.add_argument("--big-mb", type=float, default=30)
    p.add_argument("--big-requests", type=int, default=3)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-big", action="store_true")
    p.add_argument("--cpu", action="store_true",
                   help="CPU per small request under load ÷ (floor + SDK alone), per round")
    p.add_argument("--load-seconds", type=float, default=10)
    p.add_argument("--idle", type=float, metavar="SECONDS",
                   help="the small request after SECONDS of idleness and right after, per round, "
                        "for direct, the floor, Chatrix and the SDK alone")
    own = p.parse_args()
    sys.argv = [sys.argv[0], "--bin-dir", own.bin_dir, "--latency-seconds",
                str(own.latency_seconds), "--big-mb", str(own.big_mb),
                "--big-requests", str(own.big_requests), "--load-seconds", str(own.load_seconds)]
    args = b.parse_args()
    out: dict = {"path": own.path}
    with tempfile.TemporaryDirectory(prefix="chatrix-focus-") as workdir:
        bench = b.Bench(args, workdir)
        if own.chatrix:
            bench.bins["chatrix"] = own.chatrix
        try:
            bench.start_upstream_and_relays()
            bench.calibrate(own.path, bench.anthropic_bodies(b.workload.MODEL))
            if not own.skip_latency:
                out["latency_1mb"] = latency(bench, own)
            if own.cpu:
                out["cpu"] = cpu(bench, own)
            if own.idle is not None:
                out["idle"] = idle(bench, own)
            if not own.skip_big:
                out["big_request"] = bench.big_request(own.path)
        finally:
            bench.stop_all()
    if "big_request" in out:
        big = out["big_request"]
        big["peak_over_body"] = big["peak_bytes"] / big["body_bytes"]
    print(json.dumps(out, indent=1))
    return 0


def latency(bench: "b.Bench", own: argparse.Namespace) -> dict:
    names = [f"{kind}-{own.path}" for kind in ("direct", "floor", "chatrix")]
    for name in names:
        bench.warm_up(name)
    rounds = []
    for r in range(own.rounds):
        order = names[r % 3:] + names[:r % 3]
        got = {}
        for name in order:
            with bench.pinned(name):
                got[name] = bench.latency(name, "latency_huge")
            bench.log(f"round {r + 1} {name}: p50 {got[name]['p50_us'] / 1000:.3f} ms")
        rounds.append(got)
    result = {}
    for name in names[1:]:
        for q in ("p50", "p99"):
            added = [(r[name][f"{q}_us"] - r[names[0]][f"{q}_us"]) / 1000 for r in rounds]
            result[f"{name} added {q} ms"] = {"median": round(statistics.median(added), 3),
                                            "rounds": [round(a, 3) for a in added]}
    result["loadavg_after"] = os.getloadavg()[0]
    return result


def cpu(bench: "b.Bench", own: argparse.Namespace) -> dict:
    """The report's CPU target, per round: Chatrix's CPU per request under load ÷ (the floor's +
    the SDK's alone, bench/sdk_cost.rs), each measured as bench.py measures it."""
    names = [f"floor-{own.path}", f"chatrix-{own.path}"]
    for name in names:
        bench.warm_up(name)
    rounds = []
    for r in range(own.rounds):
        got = {name: bench.load(name)["cpu_us_per_request"] for name in names[r % 2:] + names[:r % 2]}
        sdk = bench.sdk_cost(own.path)
        got.update(sdk=sdk["sdk"], hyper=sdk["hyper"])
        got["ratio"] = got[names[1]] / (got[names[0]] + got["sdk"])
        bench.log(f"round {r + 1} cpu µs: " + ", ".join(f"{k} {v:.2f}" for k, v in got.items()))
        rounds.append(got)
    return {key: {"median": round(statistics.median(r[key] for r in rounds), 3),
                  "rounds": [round(r[key], 3) for r in rounds]} for key in rounds[0]}


def idle(bench: "b.Bench", own: argparse.Namespace) -> dict:
    """The first request after idleness (docs/performance.md, "The first request after idle"):
    per round and contender, `--idle` seconds in which nothing runs, then the small request on a
    fresh connection, then the same at once; the SDK alone likewise. And the memory one request
    makes each gateway touch, which is what the idle machine lets go cold."""
    names = [f"{kind}-{own.path}" for kind in ("direct", "floor", "chatrix")]
    for name in names:
        bench.warm_up(name)
    got = {name: {"after_idle_ms": [], "right_after_ms": []} for name in names}
    for _ in range(own.rounds):
        for name in names:
            time.sleep(own.idle)
            got[name]["after_idle_ms"].append(probes.request_once(bench.targets[name]))
            got[name]["right_after_ms"].append(probes.request_once(bench.targets[name]))
    got["sdk alone"] = bench.sdk_idle(own.path, own.rounds, own.idle)
    for name in names[1:]:
        target = bench.targets[name]
        got[name]["touched_kb"] = Proc.touched_kb(bench.pids(name)[0],
                                                  lambda: probes.request_once(target))
    for name, times in got.items():
        for key in ("after_idle_ms", "right_after_ms"):
            times[key] = {"median": round(statistics.median(times[key]), 2),
                          "rounds": [round(t, 2) for t in times[key]]}
        bench.log(f"{name}: after {own.idle:g} s idle {times['after_idle_ms']['median']} ms, "
                  f"right after {times['right_after_ms']['median']} ms")
    return got


if __name__ == "__main__":
    sys.exit(main())
