#!/usr/bin/env python3
"""Side-by-side benchmark: the Bedrock emulator as upstream, and against it, interleaved over
rounds, for each of Chatrix's two Claude paths (`native`: InvokeModel, the default; `converse`)
(1) `direct-<path>` — the client calling the emulator itself with the bytes Chatrix sends,
(2) `floor-<path>` — a bare relay carrying those bytes, (3) `chatrix-<path>` — the release build
(`CHATRIX_CLAUDE_API=invoke|converse`); and (4) `litellm` — LiteLLM's proxy (Converse).
Run through `bench/run`.

Every figure is measured from the client (wrk, the stream probe) or read from /proc; ratios
between contenders from the same run are what the report judges, never absolute numbers.
"""

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse

import bigbody
import probes
import report
import workload

from peers import LITELLM_CONFIG
from checks import check_json, emulator_requests, environment, first_delta, passed_through
from procs import Proc, RssSampler, first_http_answer, free_port, pin, wait_http

PATHS = ("native", "converse")
# What each path's calls are recorded as by the emulator, for the four calibration requests
# (small, large, 1 MB, stream, held stream).
OPERATIONS = {
    "native": ["InvokeModel"] * 3 + ["InvokeModelWithResponseStream"] * 2,
    "converse": ["Converse"] * 3 + ["ConverseStream"] * 2,
}
# The 1 MB request is about 260K tokens: past the 200K window without this beta.
HUGE_HEADERS = {"anthropic-beta": "context-1m-2025-08-07"}

BODY_KEYS = ("body", "large_body", "huge_body", "stream_body", "hold_body")
FAKE_SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--bin-dir", required=True, help="cargo's profile folder with the binaries")
    p.add_argument("--litellm", help="LiteLLM's `litellm` executable; omit to leave it out")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--latency-seconds", type=float, default=5)
    p.add_argument("--load-seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--warmup-seconds", type=float, default=3)
    p.add_argument("--stream-samples", type=int, default=40)
    p.add_argument("--open-streams", type=int, default=1000)
    p.add_argument("--startup-runs", type=int, default=10)
    p.add_argument("--words", type=int, default=100, help="words in a non-streamed answer")
    p.add_argument("--stream-words", type=int, default=40, help="words in a streamed answer")
    p.add_argument("--silence-ms", type=int, default=0, help="upstream wait before a stream")
    p.add_argument("--drip-ms", type=int, default=10, help="upstream pacing between events")
    p.add_argument("--huge-kb", type=int, default=1024,
                   help="size of the Claude Code-shaped request timed at c=1")
    p.add_argument("--big-mb", type=float, default=30,
                   help="size of the request relayed while peak RSS is read")
    p.add_argument("--big-requests", type=int, default=3)
    p.add_argument("--note", action="append", default=[],
                   help="a remark printed in the report (e.g. other load on the machine)")
    p.add_argument("--out", default="docs/performance.md")
    p.add_argument("--smoke", action="store_true",
                   help="seconds-long run that only checks the harness works (CI)")
    return p.parse_args()


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: str):
        self.args = args
        self.workdir = workdir
        self.bins = {
            "chatrix": os.path.join(args.bin_dir, "chatrix"),
            "emulator": os.path.join(args.bin_dir, "bedrock-emulator"),
            "floor": os.path.join(args.bin_dir, "examples", "floor-relay"),
            "sdk_cost": os.path.join(args.bin_dir, "examples", "sdk-cost"),
        }
        self.procs: dict[str, Proc] = {}
        self.targets: dict[str, probes.Target] = {}
        self.api_key = "sk-bench-" + secrets.token_hex(16)
        self.litellm_key = "sk-" + secrets.token_hex(32)
        self.data: dict = {"contenders": [], "rounds": [], "meta": {}}

    # ---- processes -------------------------------------------------------------------------

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def start(self, name: str, argv: list[str], env: dict) -> Proc:
        proc = Proc(name, argv, env, os.path.join(self.workdir, f"{name}.log"))
        self.procs[name] = proc
        return proc

    def chatrix_env(self, port: int, path: str = "native") -> dict:
        # Only the settings a trial may vary pass through (checks.passed_through), so runs stay
        # alike; the report names them.
        return passed_through() | {
            "CHATRIX_CLAUDE_API": "invoke" if path == "native" else "converse",
            "PATH": os.environ.get("PATH", ""),
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "CHATRIX_BEDROCK": "aws",
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.emulator_url,
            "AWS_ENDPOINT_URL_BEDROCK": self.emulator_url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDBENCH",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_EC2_METADATA_DISABLED": "true",
            "CHATRIX_API_KEYS": f"bench:{self.api_key}",
        }

    def start_upstream(self) -> None:
        """The emulator, and a port for each contender (one floor relay serves both paths)."""
        port = free_port()
        emu = self.start("emulator", [self.bins["emulator"], "--port", str(port)], dict(os.environ))
        self.emulator_url = f"http://127.0.0.1:{port}"
        wait_http(port, "/_emulator/stats", emu, 30)
        floor = free_port()
        self.ports = {}
        for path in PATHS:
            self.ports.update({f"direct-{path}": port, f"floor-{path}": floor,
                               f"chatrix-{path}": free_port()})

    def start_upstream_and_relays(self) -> None:
        self.start_upstream()
        floor = self.ports["floor-native"]
        self.start("floor", [self.bins["floor"], str(floor), self.emulator_url], dict(os.environ))
        for path in PATHS:
            name = f"chatrix-{path}"
            chatrix = self.start(name, [self.bins["chatrix"]], self.chatrix_env(self.ports[name], path))
            wait_http(self.ports[name], "/health", chatrix, 30)
        first_http_answer(floor, None, time.perf_counter(), self.procs["floor"].popen)

    def start_litellm(self, model_id: str) -> None:
        port = free_port()
        config = os.path.join(self.workdir, "litellm.yaml")
        with open(config, "w") as f:
            f.write(LITELLM_CONFIG.format(model_id=model_id, endpoint=self.emulator_url))
        env = dict(os.environ, LITELLM_MASTER_KEY=self.litellm_key, LITELLM_LOG="ERROR",
                   LITELLM_TELEMETRY="False", NO_DOCS="True")
        proc = self.start("litellm", [self.args.litellm, "--config", config, "--port", str(port),
                                      "--host", "127.0.0.1", "--num_workers", "2"], env)
        self.log("starting LiteLLM (it takes a while)")
        ready = wait_http(port, "/health/liveliness", proc, 180)
        self.data["meta"]["litellm_ready_s"] = ready
        self.ports["litellm"] = port

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.stop()

    # ---- targets ---------------------------------------------------------------------------

    def anthropic_bodies(self, model: str) -> dict:
        a = self.args
        small, large = workload.small(a.words), workload.large(a.words)
        huge = workload.claude_code(a.huge_kb * 1024, a.words)
        stream = workload.streaming(a.stream_words, a.silence_ms, a.drip_ms)
        hold = workload.streaming(200, 0, 500, stamp=False)
        for body in (small, large, huge, stream, hold):
            body["model"] = model
        return {k: workload.encode(v) for k, v in zip(BODY_KEYS, (small, large, huge, stream, hold))}

    def calibrate(self, path: str, bodies: dict) -> str:
        """Sends each request through `chatrix-<path>` once; the emulator's record of what arrived
        (the exact bytes, for InvokeModel) is what `direct-<path>` and `floor-<path>` send, so all
        contenders of a path cost the upstream the same."""
        headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01"}
        name = f"chatrix-{path}"
        chatrix = probes.Target(name, "127.0.0.1", self.ports[name], "/v1/messages", "/v1/messages",
                                headers, **bodies, huge_headers=HUGE_HEADERS)
        emulator_requests(self.emulator_url, clear=True)
        for key in ("body", "large_body", "huge_body"):
            check_json(chatrix, chatrix.path, getattr(chatrix, key),
                       HUGE_HEADERS if key == "huge_body" else None)
        for key in ("stream_body", "hold_body"):
            first_delta(chatrix, getattr(chatrix, key))
        recorded = emulator_requests(self.emulator_url)
        operations = [r["operation"] for r in recorded]
        if operations != OPERATIONS[path]:
            raise RuntimeError(f"{name}: expected calls {OPERATIONS[path]}, got {operations}")
        model_id = recorded[0]["model_id"]
        if path == "native":
            upstream = {k: rec["raw_body"].encode() for k, rec in zip(BODY_KEYS, recorded)}
            call, stream_call = "invoke", "invoke-with-response-stream"
        else:
            upstream = {k: workload.encode(rec["body"]) for k, rec in zip(BODY_KEYS, recorded)}
            call, stream_call = "converse", "converse-stream"
        emulator_requests(self.emulator_url, clear=True)
        quoted = urllib.parse.quote(model_id, safe="")
        bedrock_headers = {"Authorization": FAKE_SIGV4, "Content-Type": "application/json"}
        for relay in ("direct", "floor"):
            relay_name = f"{relay}-{path}"
            self.targets[relay_name] = probes.Target(
                relay_name, "127.0.0.1", self.ports[relay_name], f"/model/{quoted}/{call}",
                f"/model/{quoted}/{stream_call}", bedrock_headers, **upstream,
                framing="invoke" if path == "native" else "clear")
        self.targets[name] = chatrix
        self.data["meta"].setdefault("model_ids", {})[path] = model_id
        self.data["meta"]["body_bytes"] = {k: len(v) for k, v in bodies.items()}
        self.data["meta"].setdefault("upstream_bytes", {})[path] = {
            k: len(v) for k, v in upstream.items()}
        return model_id

    def add_litellm_target(self) -> None:
        bodies = self.anthropic_bodies("claude-bench")
        headers = {"x-api-key": self.litellm_key, "anthropic-version": "2023-06-01"}
        self.targets["litellm"] = probes.Target(
            "litellm", "127.0.0.1", self.ports["litellm"], "/v1/messages", "/v1/messages",
            headers, **bodies)

    def proc(self, name: str) -> Proc:
        """The process serving a contender: the emulator is `direct`; one floor relay serves both
        paths."""
        return self.procs[{"direct": "emulator", "floor": "floor"}.get(name.split("-")[0], name)]

    def pids(self, name: str) -> list[int]:
        """The processes doing a contender's work (a process and its children)."""
        return self.proc(name).pids()

    # ---- measurements ----------------------------------------------------------------------

    @contextlib.contextmanager
    def pinned(self, name: str):
        """For one-at-a-time measurements: the contender alone on CPU 1; the emulator, this
        probe and wrk (its child) on CPU 0, so they do not take turns on one core at random."""
        everything = set(range(os.cpu_count() or 1))
        if len(everything) < 2:
            yield
            return
        sut, emu, me = self.pids(name), self.procs["emulator"].pids(), [os.getpid()]
        pin(emu + me, {0})
        pin(sut, {1})
        try:
            yield
        finally:
            pin(sut + emu + me, everything)

    def latency(self, name: str, kind: str) -> dict:
        t = self.targets[name]
        body = {"latency_small": t.body, "latency_large": t.large_body,
                "latency_huge": t.huge_body}[kind]
        extra = t.huge_headers if kind == "latency_huge" else None
        result = probes.wrk(t, body, 1, self.args.latency_seconds, self.workdir, extra)
        if kind == "latency_huge":
            emulator_requests(self.emulator_url, clear=True)
        return result

    def load(self, name: str) -> dict:
        t = self.targets[name]
        pids, emu = self.pids(name), self.procs["emulator"].pids()
        cpu0, emu0 = Proc.cpu_seconds(pids), Proc.cpu_seconds(emu)
        with RssSampler(pids) as rss:
            result = probes.wrk(t, t.body, self.args.connections, self.args.load_seconds,
                                self.workdir)
        cpu1, emu1 = Proc.cpu_seconds(pids), Proc.cpu_seconds(emu)
        n = max(result["requests"], 1)
        result["cpu_us_per_request"] = (cpu1 - cpu0) / n * 1e6
        result["upstream_cpu_us_per_request"] = (emu1 - emu0) / n * 1e6
        result["rss_peak_bytes"] = rss.peak
        return result

    def stream(self, name: str) -> dict:
        # The contender sat idle while the others were measured, and `pinned` has just moved it
        # onto a CPU of its own: its first stream runs on cold caches (docs/performance.md, "The
        # first request after idle"). It is timed apart, as `ttfb_first_ms`; the samples are the
        # rest.
        first = probes.stream_once(self.targets[name])
        samples = probes.stream_probe(self.targets[name], self.args.stream_samples)
        return {
            "statuses": sorted({s.status for s in [first, *samples]}),
            "ttfb_first_ms": first.ttfb_ms,
            "first_deltas": first.deltas,
            "ttfb_ms": [s.ttfb_ms for s in samples],
            "delays_ms": [d for s in samples for d in s.delays_ms],
            "gaps_ms": [g for s in samples for g in s.gaps_ms],
            "deltas": [s.deltas for s in samples],
            "coalesced_reads": sum(s.coalesced_reads for s in samples),
        }

    def warm_up(self, name: str) -> None:
        t = self.targets[name]
        probes.wrk(t, t.body, 8, self.args.warmup_seconds, self.workdir)
        probes.stream_probe(t, 2)

    def hold(self, name: str) -> dict:
        pids = self.pids(name)
        timeout = 20 if self.args.smoke else 60
        return probes.hold_streams(self.targets[name], self.args.open_streams, timeout,
                                   lambda: Proc.rss_bytes(pids))

    def startup(self, name: str) -> list[float]:
        """exec → first 200 from `/health` (Chatrix) or first HTTP answer (the floor)."""
        times = []
        for _ in range(self.args.startup_runs):
            port = free_port()
            if name == "chatrix":
                argv, env, path = [self.bins["chatrix"]], self.chatrix_env(port), "/health"
            else:
                argv, env, path = [self.bins["floor"], str(port), self.emulator_url], dict(os.environ), None
            started = time.perf_counter()
            popen = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                times.append(first_http_answer(port, path, started, popen) * 1000)
            finally:
                popen.terminate()
                popen.wait(timeout=10)
        return times

    # ---- the run ---------------------------------------------------------------------------

    def sdk_cost(self, path: str) -> dict:
        """CPU per call (InvokeModel on the native path, Converse on the other) of Chatrix's SDK
        client alone and of a bare hyper client, both in bench/sdk_cost.rs (16 calls at a time):
        what the SDK costs by itself, in a process that does nothing else."""
        seconds = max(1, round(self.args.load_seconds))
        out = subprocess.run(self.sdk_cost_argv(path, 16, seconds), capture_output=True, text=True,
                             timeout=60 + 4 * seconds, check=True).stdout
        return {d["client"]: d["cpu_us_per_call"] for d in probes.tagged(out, "SDK_COST")}

    def sdk_cost_argv(self, path: str, concurrency: int, seconds: int) -> list[str]:
        """`sdk-cost`'s command line for the small request's body as the floor sends it upstream on
        `path` (written to a file): InvokeModel on the native path, Converse on the other."""
        body = os.path.join(self.workdir, f"upstream-{path}.json")
        with open(body, "wb") as f:
            f.write(self.targets[f"floor-{path}"].body)
        return [self.bins["sdk_cost"], self.emulator_url, self.data["meta"]["model_ids"][path], body,
                str(concurrency), str(seconds), "invoke" if path == "native" else "converse"]

    def sdk_idle(self, path: str, calls: int, idle_s: float) -> dict:
        """The SDK alone (bench/sdk_cost.rs, `SDK_COST_IDLE_MS`): `calls` calls, each after
        `idle_s` seconds of idleness and each followed at once by another; wall milliseconds."""
        env = dict(os.environ, SDK_COST_CALLS=str(calls), SDK_COST_IDLE_MS=str(round(idle_s * 1000)))
        out = subprocess.run(self.sdk_cost_argv(path, 1, 1), capture_output=True, text=True,
                             timeout=60 + calls * (idle_s + 5), check=True, env=env).stdout
        found = probes.tagged(out, "SDK_IDLE")
        if not found:
            raise RuntimeError(f"sdk-cost printed no SDK_IDLE line: {out!r}")
        return {"after_idle_ms": found[0]["cold_ms"], "right_after_ms": found[0]["warm_ms"]}

    def big_request(self, path: str) -> dict:
        size = int(self.args.big_mb * 1024 * 1024)
        env = bigbody.env_for(self.chatrix_env(0, path), size)
        return bigbody.measure(
            lambda e: self.start(f"big-{path}", [self.bins["chatrix"]], e), env, self.api_key,
            size, self.args.words, self.args.big_requests)

    def run(self) -> None:
        a = self.args
        # Read before the rounds: the commit and the time the figures belong to.
        env = environment(a)
        self.start_upstream_and_relays()
        bodies = self.anthropic_bodies(workload.MODEL)
        for path in PATHS:
            model_id = self.calibrate(path, bodies)
        if a.litellm:
            self.start_litellm(model_id)
            self.add_litellm_target()
        names = [f"{kind}-{path}" for path in PATHS for kind in ("direct", "floor", "chatrix")]
        names += ["litellm"] if a.litellm else []
        self.data["contenders"] = names
        for name in names:
            t = self.targets[name]
            check_json(t, t.path, t.body)
        time.sleep(1)
        self.data["rss_idle_bytes"] = {n: Proc.rss_bytes(self.pids(n)) for n in names}
        for name in names:
            self.log(f"warm-up {name}")
            self.warm_up(name)
        for r in range(a.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            rnd = {"loadavg_before": os.getloadavg()[0], "order": order}
            for kind in ("latency_small", "latency_large", "latency_huge", "load", "stream"):
                rnd[kind] = {}
                for name in order:
                    if kind == "latency_huge" and name == "litellm":
                        continue  # LiteLLM's Converse route does not pass the 1M-context beta on
                    self.log(f"round {r + 1}/{a.rounds} {kind} {name}")
                    if kind == "load":
                        rnd[kind][name] = self.load(name)
                        continue
                    with self.pinned(name):
                        if kind == "stream":
                            rnd[kind][name] = self.stream(name)
                        else:
                            rnd[kind][name] = self.latency(name, kind)
            self.data["rounds"].append(rnd)
        self.data["big_request"] = {}
        for path in PATHS:
            self.log(f"peak RSS relaying a {a.big_mb:g} MB request, {path} path")
            self.data["big_request"][path] = self.big_request(path)
        time.sleep(2)
        self.data["rss_after_load_bytes"] = {n: Proc.rss_bytes(self.pids(n)) for n in names}
        self.data["open_streams"] = {}
        for name in names:
            self.log(f"{a.open_streams} open streams through {name}")
            self.data["open_streams"][name] = self.hold(name)
            time.sleep(1)
        self.data["startup_ms"] = {}
        for name in ("floor", "chatrix"):
            self.log(f"start-up {name} × {a.startup_runs}")
            self.data["startup_ms"][name] = self.startup(name)
        self.data["sizes"] = {n: os.path.getsize(self.bins[n]) for n in ("chatrix", "floor")}
        self.data["sdk_cost"] = []
        for r in range(a.rounds):
            self.log(f"SDK alone vs bare hyper client, round {r + 1}/{a.rounds}")
            self.data["sdk_cost"].append({path: self.sdk_cost(path) for path in PATHS})
        self.data["meta"].update(env, notes=a.note)




def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="chatrix-bench-") as workdir:
        bench = Bench(args, workdir)
        try:
            bench.run()
        finally:
            bench.stop_all()
    problems = report.write(bench.data, args.out, smoke=args.smoke)
    for p in problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
