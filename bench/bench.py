#!/usr/bin/env python3
"""Side-by-side benchmark: the Bedrock emulator as upstream, and against it, interleaved over
rounds, (1) `direct` — the client calling the emulator itself, (2) `floor` — a bare relay,
(3) `chatrix` — the release build, (4) `litellm` — LiteLLM's proxy. Run through `bench/run`.

Every figure is measured from the client (wrk, the stream probe) or read from /proc; ratios
between contenders from the same run are what the report judges, never absolute numbers.
"""

import argparse
import contextlib
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import probes
import report
import workload

from procs import Proc, RssSampler, first_http_answer, free_port, pin, wait_http

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

    def chatrix_env(self, port: int) -> dict:
        return {
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

    def start_upstream_and_relays(self) -> None:
        port = free_port()
        emu = self.start("emulator", [self.bins["emulator"], "--port", str(port)], dict(os.environ))
        self.emulator_url = f"http://127.0.0.1:{port}"
        wait_http(port, "/_emulator/stats", emu, 30)
        self.ports = {"direct": port, "floor": free_port(), "chatrix": free_port()}
        self.start("floor", [self.bins["floor"], str(self.ports["floor"]), self.emulator_url],
                   dict(os.environ))
        chatrix = self.start("chatrix", [self.bins["chatrix"]], self.chatrix_env(self.ports["chatrix"]))
        wait_http(self.ports["chatrix"], "/health", chatrix, 30)
        first_http_answer(self.ports["floor"], None, time.perf_counter(), self.procs["floor"].popen)

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
        stream = workload.streaming(a.stream_words, a.silence_ms, a.drip_ms)
        hold = workload.streaming(200, 0, 500, stamp=False)
        for body in (small, large, stream, hold):
            body["model"] = model
        return {k: workload.encode(v) for k, v in
                {"body": small, "large_body": large, "stream_body": stream, "hold_body": hold}.items()}

    def calibrate(self) -> str:
        """Sends each request through Chatrix once; the emulator's record of what arrived is the
        Converse body `direct` and `floor` send, so all contenders cost the upstream the same."""
        bodies = self.anthropic_bodies(workload.MODEL)
        headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01"}
        chatrix = probes.Target("chatrix", "127.0.0.1", self.ports["chatrix"], "/v1/messages",
                                "/v1/messages", headers, **bodies)
        urllib.request.urlopen(urllib.request.Request(
            f"{self.emulator_url}/_emulator/requests", method="DELETE")).close()
        for key in ("body", "large_body"):
            check_json(chatrix, chatrix.path, getattr(chatrix, key))
        for key in ("stream_body", "hold_body"):
            first_delta(chatrix, getattr(chatrix, key))
        with urllib.request.urlopen(f"{self.emulator_url}/_emulator/requests") as r:
            recorded = json.load(r)
        if len(recorded) != 4:
            raise RuntimeError(f"expected 4 recorded calls, got {len(recorded)}")
        model_id = recorded[0]["model_id"]
        converse = {k: workload.encode(rec["body"]) for k, rec in
                    zip(("body", "large_body", "stream_body", "hold_body"), recorded)}
        quoted = urllib.parse.quote(model_id, safe="")
        bedrock_headers = {"Authorization": FAKE_SIGV4}
        for name in ("direct", "floor"):
            self.targets[name] = probes.Target(
                name, "127.0.0.1", self.ports[name], f"/model/{quoted}/converse",
                f"/model/{quoted}/converse-stream", bedrock_headers, **converse)
        self.targets["chatrix"] = chatrix
        self.data["meta"]["model_id"] = model_id
        self.data["meta"]["body_bytes"] = {k: len(v) for k, v in bodies.items()}
        self.data["meta"]["converse_bytes"] = {k: len(v) for k, v in converse.items()}
        return model_id

    def add_litellm_target(self) -> None:
        bodies = self.anthropic_bodies("claude-bench")
        headers = {"x-api-key": self.litellm_key, "anthropic-version": "2023-06-01"}
        self.targets["litellm"] = probes.Target(
            "litellm", "127.0.0.1", self.ports["litellm"], "/v1/messages", "/v1/messages",
            headers, **bodies)

    def pids(self, name: str) -> list[int]:
        return self.procs["emulator" if name == "direct" else name].pids()

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

    def latency(self, name: str, large: bool) -> dict:
        t = self.targets[name]
        return probes.wrk(t, t.large_body if large else t.body, 1, self.args.latency_seconds,
                          self.workdir)

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
        samples = probes.stream_probe(self.targets[name], self.args.stream_samples)
        return {
            "statuses": sorted({s.status for s in samples}),
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

    def sdk_cost(self) -> dict:
        """CPU per Converse call of Chatrix's SDK client alone and of a bare hyper client, both in
        bench/sdk_cost.rs (16 calls at a time): what the SDK costs by itself, in a process that
        does nothing else."""
        body = os.path.join(self.workdir, "converse.json")
        with open(body, "wb") as f:
            f.write(self.targets["floor"].body)
        seconds = max(1, round(self.args.load_seconds))
        out = subprocess.run(
            [self.bins["sdk_cost"], self.emulator_url, self.data["meta"]["model_id"], body, "16",
             str(seconds)],
            capture_output=True, text=True, timeout=60 + 4 * seconds, check=True).stdout
        lines = [json.loads(l.split(" ", 1)[1]) for l in out.splitlines() if l.startswith("SDK_COST ")]
        return {d["client"]: d["cpu_us_per_call"] for d in lines}

    def run(self) -> None:
        a = self.args
        self.start_upstream_and_relays()
        model_id = self.calibrate()
        if a.litellm:
            self.start_litellm(model_id)
            self.add_litellm_target()
        names = list(self.targets)
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
            for kind in ("latency_small", "latency_large", "load", "stream"):
                rnd[kind] = {}
                for name in order:
                    self.log(f"round {r + 1}/{a.rounds} {kind} {name}")
                    if kind == "load":
                        rnd[kind][name] = self.load(name)
                        continue
                    with self.pinned(name):
                        if kind == "stream":
                            rnd[kind][name] = self.stream(name)
                        else:
                            rnd[kind][name] = self.latency(name, large=kind == "latency_large")
            self.data["rounds"].append(rnd)
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
            self.data["sdk_cost"].append(self.sdk_cost())
        self.data["meta"].update(environment(a))


def check_json(t: probes.Target, path: str, body: bytes) -> None:
    req = urllib.request.Request(f"http://{t.host}:{t.port}{path}", data=body,
                                 headers={"content-type": "application/json", **t.headers})
    with urllib.request.urlopen(req, timeout=30) as r:
        reply = json.load(r)
    text = json.dumps(reply)
    if "lorem ipsum" not in text:  # the emulator's long answer
        raise RuntimeError(f"{t.name}: unexpected answer {text[:300]}")


def first_delta(t: probes.Target, body: bytes) -> None:
    """Starts a stream, reads until its first delta, and hangs up."""
    with socket.create_connection((t.host, t.port), timeout=30) as s:
        s.sendall(probes.request_bytes(t, t.stream_path, body))
        buf = b""
        while not probes.DELTA_MARKERS.search(buf):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError(f"{t.name}: stream ended before a delta: {buf[:300]!r}")
            buf += chunk
        if not buf.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(f"{t.name}: {buf[:300]!r}")


def environment(a: argparse.Namespace) -> dict:
    def cmd(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
        except OSError:
            return "n/a"

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "git": cmd("git", "rev-parse", "--short", "HEAD"),
        "rustc": cmd("rustc", "--version"),
        "wrk": cmd("wrk", "--version").split(" [")[0] or "n/a",
        "python": platform.python_version(),
        "litellm": cmd(os.path.join(os.path.dirname(a.litellm), "python"), "-c",
                       "import importlib.metadata as m; print(m.version('litellm'))") if a.litellm else None,
        "build": os.path.basename(os.path.normpath(a.bin_dir)),
        "settings": {k: v for k, v in vars(a).items() if k not in ("bin_dir", "litellm", "out")},
    }


LITELLM_CONFIG = """\
model_list:
  - model_name: claude-bench
    litellm_params:
      model: bedrock/converse/{model_id}
      aws_bedrock_runtime_endpoint: {endpoint}
      aws_access_key_id: AKIDBENCH
      aws_secret_access_key: bench-secret
      aws_region_name: us-east-1
litellm_settings:
  callbacks: []
  num_retries: 0
  request_timeout: 60
  telemetry: false
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
"""


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
