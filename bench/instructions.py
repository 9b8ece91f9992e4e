#!/usr/bin/env python3
"""The small-request CPU target counted in instructions instead of seconds: the same workload as
bench/bench.py's load (the small request, wrk at 32 connections), with the floor relay and Chatrix
run under `valgrind --tool=callgrind`, and the SDK alone (bench/sdk_cost.rs, SDK_COST_CALLS)
likewise. Counts of the same binary and input agree within half a percent whatever else the
machine is doing, where its CPU seconds swing by a third, so two builds can be compared on a busy
machine.

It is a tool for comparing builds, not the report's target. It counts user-space instructions only
(the kernel's socket work and the cost of threads waking each other are not in it); valgrind hides
the CPU's SHA extensions, so SigV4's SHA-256 runs sha2's software fallback on both sides of the
ratio; and copies count one instruction a byte. Each gateway's count is the difference between two
loads of different lengths (each between a zeroing and a dump, through vgdb), divided by the
difference in requests wrk completed; the SDK's, likewise between two runs of N calls.

    bench/instructions.py --bin-dir $CARGO_TARGET_DIR/release [--path native]
                          [--chatrix BIN [--chatrix BIN2 ...]] [--seconds 15] [--connections 32]
                          [--sdk-calls 200 1000] [--huge-kb 1024] [--keep DIR]

With `--keep DIR` the callgrind profiles stay in DIR (`callgrind_annotate DIR/<name>.out.<n>`).
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import bench as b
import probes

VALGRIND = ["valgrind", "--tool=callgrind", "--dump-instr=no", "--dump-line=no"]
# A dump's last line; `dumped` waits for it, since the file is written while it is read.
TOTALS = re.compile(r"^totals:\s+(\d+)", re.M)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--chatrix", action="append", default=[],
                   help="chatrix binaries to count (default: the one in --bin-dir)")
    p.add_argument("--path", choices=b.PATHS, default="native")
    p.add_argument("--seconds", type=float, default=15, help="wrk's load under callgrind")
    p.add_argument("--connections", type=int, default=32, help="wrk's connections")
    p.add_argument("--sdk-calls", type=int, nargs=2, default=[200, 1000])
    p.add_argument("--huge-kb", type=int, default=1024,
                   help="the calibration's Claude Code-shaped body (small for a smoke run)")
    p.add_argument("--keep", help="keep the callgrind profiles in this folder")
    own = p.parse_args()
    if not 0 < own.sdk_calls[0] < own.sdk_calls[1]:
        p.error("--sdk-calls needs two counts, the second larger")
    for tool in ("valgrind", "vgdb", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"instructions.py: {tool} is needed")
    sys.argv = [sys.argv[0], "--bin-dir", own.bin_dir, "--connections", str(own.connections),
                "--huge-kb", str(own.huge_kb)]
    args = b.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatrix-instr-") as workdir:
        keep = own.keep or workdir
        os.makedirs(keep, exist_ok=True)
        out = run(b.Bench(args, workdir), own, keep)
    print(json.dumps(out, indent=1))
    return 0


def run(bench: "b.Bench", own: argparse.Namespace, keep: str) -> dict:
    binaries = own.chatrix or [bench.bins["chatrix"]]
    out: dict = {"path": own.path, "seconds": own.seconds}
    try:
        bench.start_upstream()
        floor = bench.start("floor", VALGRIND + out_file(keep, "floor") +
                            [bench.bins["floor"], str(bench.ports[f"floor-{own.path}"]),
                             bench.emulator_url], dict(os.environ))
        b.first_http_answer(bench.ports[f"floor-{own.path}"], None, 0, floor.popen, 60, 0.1)
        for i, binary in enumerate(binaries):
            name = f"chatrix-{own.path}"
            proc = bench.start(name, VALGRIND + out_file(keep, f"chatrix-{i}") + [binary],
                               bench.chatrix_env(bench.ports[name], own.path))
            b.wait_http(bench.ports[name], "/health", proc, 120)
            if i == 0:
                bench.calibrate(own.path, bench.anthropic_bodies(b.workload.MODEL))
                out["floor"] = count(bench, f"floor-{own.path}", own.seconds)
            out[f"chatrix {binary}"] = count(bench, name, own.seconds)
            proc.stop()
        out["sdk"] = sdk_per_call(bench, own, keep)
    finally:
        bench.stop_all()
    for key, value in list(out.items()):
        if key.startswith("chatrix "):
            value["ratio"] = round(value["per_request"] /
                                   (out["floor"]["per_request"] + out["sdk"]["per_call"]), 3)
    return out


def out_file(keep: str, name: str) -> list[str]:
    # callgrind writes `<file>.<n>` for each dump it is asked for (n from 1 in each process), and
    # the file itself at exit: an earlier run's files would pass for this one's.
    path = os.path.join(keep, f"{name}.out")
    for old in glob.glob(f"{path}*"):
        os.remove(old)
    return [f"--callgrind-out-file={path}"]


def count(bench: "b.Bench", name: str, seconds: float) -> dict:
    """Instructions per request of one gateway under wrk's load: two loads, a third of `seconds`
    and all of it, each between a zeroing and a dump, and the difference of the two divided by the
    difference of their requests. What both windows share (the requests still in flight when wrk
    stops, whose work is counted but which wrk does not count) cancels."""
    t = bench.targets[name]
    pid = bench.proc(name).pid
    probes.wrk(t, t.body, 8, 3, bench.workdir)
    windows = []
    for length in (seconds / 3, seconds):
        time.sleep(0.5)  # the warm-up's or the last window's requests finish before the zeroing
        control(pid, "zero")
        result = probes.wrk(t, t.body, bench.args.connections, length, bench.workdir)
        if result["error_count"] or not result["requests"]:
            raise RuntimeError(f"{name}: {result['requests']} requests, errors {result['errors']}")
        windows.append((result["requests"], dumped(pid)))
    (n1, i1), (n2, i2) = windows
    if n2 <= n1:
        raise RuntimeError(f"{name}: {n2} requests in the long window, {n1} in the short one")
    per_request = (i2 - i1) / (n2 - n1)
    bench.log(f"{name}: {n1} and {n2} requests, {per_request:,.0f} instructions each")
    return {"requests": [n1, n2], "instructions": [i1, i2], "per_request": round(per_request)}


def dumped(pid: int) -> int:
    """Asks callgrind for a dump and returns its total, once the file is written (it is written
    when the process next runs, not at once)."""
    prefix = dump_prefix(pid)
    before = set(glob.glob(f"{prefix}.*"))
    control(pid, "dump")
    for _ in range(600):
        new = set(glob.glob(f"{prefix}.*")) - before
        if len(new) == 1 and (total := totals(new.pop())) is not None:
            return total
        time.sleep(0.1)
    raise RuntimeError(f"pid {pid}: no complete dump beside {prefix} within a minute")


def dump_prefix(pid: int) -> str:
    for arg in open(f"/proc/{pid}/cmdline").read().split("\0"):
        if arg.startswith("--callgrind-out-file="):
            return arg.split("=", 1)[1]
    raise RuntimeError(f"pid {pid} is not under callgrind")


def control(pid: int, command: str) -> None:
    """Sends a callgrind monitor command (`zero`, `dump`) through vgdb, which exits non-zero when
    it cannot reach the process (callgrind_control prints `OK.` even then)."""
    # valgrind names its command pipes after the LOGNAME/USER and HOST (else HOSTNAME) of the
    # process's own environment (Chatrix's HOST is its listen address); vgdb looks them up by its
    # own.
    names = ("LOGNAME", "USER", "HOST", "HOSTNAME")
    with open(f"/proc/{pid}/environ", "rb") as f:
        theirs = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update({k: theirs[k.encode()].decode() for k in names if k.encode() in theirs})
    out = subprocess.run(["vgdb", f"--pid={pid}", command], capture_output=True, text=True,
                         timeout=120, env=env)
    if out.returncode:
        raise RuntimeError(f"vgdb {command} to {pid} failed: {out.stdout}{out.stderr}")


def totals(path: str) -> int | None:
    """A dump's total, from its last line; `None` while callgrind is still writing the file."""
    with open(path) as f:
        found = TOTALS.search(f.read())
    return int(found.group(1)) if found else None


def sdk_per_call(bench: "b.Bench", own: argparse.Namespace, keep: str) -> dict:
    """The SDK alone: two runs of N calls, so start-up and the first connections cancel."""
    (n1, n2) = own.sdk_calls
    # No more tasks than the smaller run has calls: each opens its connection once.
    argv = bench.sdk_cost_argv(own.path, min(16, n1), 1)
    counts = []
    for calls in own.sdk_calls:
        dump = os.path.join(keep, f"sdk-{calls}.out")
        out = subprocess.run(
            VALGRIND + [f"--callgrind-out-file={dump}", *argv],
            env=dict(os.environ, SDK_COST_CALLS=str(calls)), capture_output=True, text=True,
            timeout=600)
        if out.returncode:
            raise RuntimeError(f"sdk-cost ({calls} calls) exited {out.returncode}: "
                               f"{out.stderr[-2000:]}")
        total = totals(dump)
        if total is None:
            raise RuntimeError(f"no totals in {dump}")
        counts.append(total)
    i1, i2 = counts
    per_call = (i2 - i1) / (n2 - n1)
    bench.log(f"sdk alone: {per_call:,.0f} instructions a call")
    return {"calls": own.sdk_calls, "instructions": counts, "per_call": round(per_call)}


if __name__ == "__main__":
    sys.exit(main())
