#!/usr/bin/env python3
"""The small-request CPU target counted in instructions instead of seconds: the same workload as
bench/bench.py's load (the small request, wrk at 32 connections), with the floor relay and Chatrix
run under `valgrind --tool=callgrind`, and the SDK alone (bench/sdk_cost.rs, SDK_COST_CALLS)
likewise. An instruction count is the same for the same binary and input whatever else the machine
is doing, so two builds can be compared on a busy machine where CPU seconds swing by a third.

It counts user-space instructions only: the kernel's share (socket reads and writes, which the
floor is mostly made of) is not in it, so the ratio is not the CPU-seconds ratio of the report;
it is the figure to compare builds by. Each gateway's count is read between a zeroing after
warm-up and a dump after the load (`callgrind_control`), divided by the requests wrk completed.

    bench/instructions.py --bin-dir $CARGO_TARGET_DIR/release [--path native]
                          [--chatrix BIN [--chatrix BIN2 ...]] [--seconds 15] [--connections 32]
                          [--sdk-calls 200 1000] [--keep DIR]

With `--keep DIR` the callgrind profiles stay in DIR (`callgrind_annotate DIR/<name>.out`).
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
TOTALS = re.compile(r"^(?:totals|summary):\s+(\d+)", re.M)


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
    p.add_argument("--keep", help="keep the callgrind profiles in this folder")
    own = p.parse_args()
    for tool in ("valgrind", "callgrind_control", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"instructions.py: {tool} is needed")
    sys.argv = [sys.argv[0], "--bin-dir", own.bin_dir, "--connections", str(own.connections)]
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
        start_emulator(bench)
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


def start_emulator(bench: "b.Bench") -> None:
    port = b.free_port()
    emu = bench.start("emulator", [bench.bins["emulator"], "--port", str(port)], dict(os.environ))
    bench.emulator_url = f"http://127.0.0.1:{port}"
    b.wait_http(port, "/_emulator/stats", emu, 30)
    floor, chatrix = b.free_port(), b.free_port()
    bench.ports = {}
    for path in b.PATHS:
        bench.ports.update({f"direct-{path}": port, f"floor-{path}": floor,
                            f"chatrix-{path}": chatrix})


def out_file(keep: str, name: str) -> list[str]:
    # callgrind writes `<file>.<n>` for each dump it is asked for (n from 1 in each process), and
    # the file itself at exit: an earlier run's files would pass for this one's.
    path = os.path.join(keep, f"{name}.out")
    for old in glob.glob(f"{path}*"):
        os.remove(old)
    return [f"--callgrind-out-file={path}"]


def count(bench: "b.Bench", name: str, seconds: float) -> dict:
    """Instructions per request of one gateway under wrk's load, warm-up excluded."""
    t = bench.targets[name]
    pid = bench.procs["floor" if name.startswith("floor") else name].pid
    probes.wrk(t, t.body, 8, 3, bench.workdir)
    control(pid, "--zero")
    result = probes.wrk(t, t.body, bench.args.connections, seconds, bench.workdir)
    prefix = dump_prefix(pid)
    dumps = set(glob.glob(f"{prefix}*"))
    control(pid, "--dump")
    new = set()
    for _ in range(600):  # the dump is written when the process next runs, not at once
        new = set(glob.glob(f"{prefix}*")) - dumps
        if new and complete(next(iter(new))):
            break
        time.sleep(0.1)
    if len(new) != 1 or result["error_count"]:
        raise RuntimeError(f"{name}: dumps {new}, errors {result['errors']}")
    instructions = totals(new.pop())
    n = result["requests"]
    if n == 0:
        raise RuntimeError(f"{name}: no request completed in {seconds} s under callgrind")
    bench.log(f"{name}: {n} requests, {instructions / n:,.0f} instructions each")
    return {"requests": n, "instructions": instructions, "per_request": round(instructions / n)}


def dump_prefix(pid: int) -> str:
    for arg in open(f"/proc/{pid}/cmdline").read().split("\0"):
        if arg.startswith("--callgrind-out-file="):
            return arg.split("=", 1)[1]
    raise RuntimeError(f"pid {pid} is not under callgrind")


def control(pid: int, action: str) -> None:
    # valgrind names its command pipes after the LOGNAME/USER and HOST of the process's own
    # environment (Chatrix's HOST is its listen address), and vgdb looks them up by its own.
    with open(f"/proc/{pid}/environ", "rb") as f:
        theirs = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    env = {k: v for k, v in os.environ.items() if k not in ("LOGNAME", "USER", "HOST")}
    env.update({k: theirs[k.encode()].decode() for k in ("LOGNAME", "USER", "HOST")
                if k.encode() in theirs})
    out = subprocess.run(["callgrind_control", action, str(pid)], capture_output=True, text=True,
                         timeout=120, env=env)
    if out.returncode or "OK." not in out.stdout:
        raise RuntimeError(f"callgrind_control {action} {pid}: {out.stdout}{out.stderr}")


def complete(path: str) -> bool:
    with open(path) as f:
        return TOTALS.search(f.read()) is not None


def totals(path: str) -> int:
    with open(path) as f:
        found = TOTALS.search(f.read())
    if not found:
        raise RuntimeError(f"no totals in {path}")
    return int(found.group(1))


def sdk_per_call(bench: "b.Bench", own: argparse.Namespace, keep: str) -> dict:
    """The SDK alone: two runs of N calls, so start-up and the first connections cancel."""
    body = os.path.join(bench.workdir, "upstream.json")
    with open(body, "wb") as f:
        f.write(bench.targets[f"floor-{own.path}"].body)
    counts = []
    for calls in own.sdk_calls:
        dump = os.path.join(keep, f"sdk-{calls}.out")
        subprocess.run(
            VALGRIND + [f"--callgrind-out-file={dump}", bench.bins["sdk_cost"], bench.emulator_url,
                        bench.data["meta"]["model_ids"][own.path], body, "16", "1",
                        "invoke" if own.path == "native" else "converse"],
            env=dict(os.environ, SDK_COST_CALLS=str(calls)), check=True, capture_output=True,
            timeout=600)
        counts.append(totals(dump))
    (n1, n2), (i1, i2) = own.sdk_calls, counts
    per_call = (i2 - i1) / (n2 - n1)
    bench.log(f"sdk alone: {per_call:,.0f} instructions a call")
    return {"calls": own.sdk_calls, "instructions": counts, "per_call": round(per_call)}


if __name__ == "__main__":
    sys.exit(main())
