#!/usr/bin/env python3
"""Failover under load (issue 18): Claude Code-shaped sessions against a gateway whose primary
upstream throttles a share of its requests.

Starts two `bedrock-emulator`s from --bin-dir (the primary with `--throttle 0.5`, the secondary
unthrottled) and `chatrix` with `CHATRIX_UPSTREAMS=us-east-1=<primary>,us-west-2=<secondary>`.
--sessions workers each run one session after another for --seconds: a session has its own
`X-Claude-Code-Session-Id` and 4 to 12 turns over a growing Claude Code-shaped history (system
prompt, 20 tools, tool calls and results, cache points), each turn streamed or plain JSON at random
(seeded). Then it prints one `FAILOVER {json}` line of figures and exits non-zero unless:
- no client saw a 429, and every request got a whole answer;
- no session switched upstream more than once within any --cooldown window (the gateway's first,
  shortest cooldown, `CHATRIX_COOLDOWN_SECS`);
- the primary did throttle, and some requests did fail over (else nothing was shown).

Figures: requests, 429s, per-session switches, the share each upstream served, the latency to the
response head (JSON: the whole answer; streams: the status line) of requests that failed over
(more than one `upstream attempt` log line under their `request-id`) against those that did not,
and the input tokens read from and written to the emulators' prompt caches (written again after a
switch: the price of moving). Only the standard library is used.

Run by tests/run (a few seconds on the debug build) and, for docs/performance.md, on the release
build: `python3 bench/failover_load.py --bin-dir target/release --seconds 60`.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402
from figures import pct  # noqa: E402
from probes import post_bytes  # noqa: E402
from procs import Proc, free_port, wait_http  # noqa: E402

REGIONS = ("us-east-1", "us-west-2")
USAGE = re.compile(rb'"(cache_read_input_tokens|cache_creation_input_tokens)":(\d+)')


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict, float, bytes]:
    """One HTTP/1.1 response: status, headers, when its head arrived, body."""
    head = await reader.readuntil(b"\r\n\r\n")
    at = time.perf_counter()
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    if "content-length" in headers:
        return int(lines[0].split()[1]), headers, at, await reader.readexactly(int(headers["content-length"]))
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return int(lines[0].split()[1]), headers, at, bytes(out)
        out += chunk[:-2]


def first_turn(session: str, rng: random.Random) -> dict:
    """A Claude Code-shaped opening request of 60-120 KB, its first user text naming the session
    (so sessions do not share a cached prefix beyond the system prompt and tools)."""
    body = workload.claude_code(rng.randint(60, 120) * 1024, 30)
    body["messages"][0]["content"][0]["text"] = f"Session {session}. " + body["messages"][0]["content"][0]["text"]
    return body


def next_turn(body: dict, turn: int, words: int) -> None:
    """Appends the answer and the next user turn; the cache point moves to the new last block
    (Claude Code marks the end of the history)."""
    last = body["messages"][-1]["content"][-1]
    last.pop("cache_control", None)
    body["messages"].append({"role": "assistant", "content": [{"type": "text", "text": f"Step {turn} done."}]})
    body["messages"].append({"role": "user", "content": [
        {"type": "text", "text": f"Next step {turn}. [[emu:silence 20]] [[emu:drip 1]] [[emu:long {words}]]",
         "cache_control": {"type": "ephemeral"}}]})


class Load:
    def __init__(self, a: argparse.Namespace, workdir: str):
        self.a = a
        self.key = "sk-failover-" + secrets.token_hex(16)
        self.emu_ports = [free_port(), free_port()]
        self.emus = []
        for i, port in enumerate(self.emu_ports):
            throttle = ["--throttle", str(a.throttle)] if i == 0 else []
            emu = Proc(f"emulator-{REGIONS[i]}", [os.path.join(a.bin_dir, "bedrock-emulator"), "--port",
                                                   str(port), *throttle], dict(os.environ),
                       os.path.join(workdir, f"emulator-{i}.log"))
            self.emus.append(emu)
            wait_http(port, "/_emulator/stats", emu, 30)
        self.port = free_port()
        upstreams = ",".join(f"{r}=http://127.0.0.1:{p}" for r, p in zip(REGIONS, self.emu_ports))
        self.log_path = os.path.join(workdir, "chatrix.log")
        # A clean environment: a runner's own AWS session token must not travel to the emulators.
        env = dict(PATH=os.environ.get("PATH", ""), PORT=str(self.port), HOST="127.0.0.1", CHATRIX_BEDROCK="aws",
                   CHATRIX_UPSTREAMS=upstreams, CHATRIX_COOLDOWN_SECS=str(a.cooldown),
                   AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="AKIDFAILOVER",
                   AWS_SECRET_ACCESS_KEY="failover", AWS_EC2_METADATA_DISABLED="true",
                   CHATRIX_API_KEYS=f"load:{self.key}", CHATRIX_LOG_FORMAT="json",
                   RUST_LOG="info", CHATRIX_DISCOVERY_INTERVAL_SECS="0")
        self.gw = Proc("chatrix", [os.path.join(a.bin_dir, "chatrix")], env, self.log_path)
        wait_http(self.port, "/health", self.gw, 30)
        # Per request: session, kind, sent, head-arrival time, upstream, request id, cache usage.
        self.samples: list[dict] = []
        self.failures: list[str] = []

    async def one(self, session: str, body: dict) -> dict:
        headers = {"x-api-key": self.key, "anthropic-version": "2023-06-01",
                   "x-claude-code-session-id": session}
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            sent = time.perf_counter()
            writer.write(post_bytes("127.0.0.1", self.port, "/v1/messages", headers, workload.encode(body)))
            status, head, at, payload = await read_response(reader)
        finally:
            writer.close()
        usage = {k.decode(): int(v) for k, v in USAGE.findall(payload[:4096])}
        complete = (payload.rstrip().endswith(b'{"type":"message_stop"}') if body.get("stream")
                    else b'"stop_reason"' in payload)
        return {"status": status, "complete": complete, "head_ms": (at - sent) * 1000, "t": sent,
                "upstream": head.get("x-chatrix-upstream", "").split("/")[0],
                "request_id": head.get("request-id", ""), "usage": usage,
                "error": payload[:200] if status != 200 else b""}

    async def session(self, rng: random.Random, deadline: float) -> None:
        session = f"load-{rng.getrandbits(48):012x}"
        body = first_turn(session, rng)
        for turn in range(rng.randint(4, 12)):
            if time.perf_counter() >= deadline:
                return
            body["stream"] = rng.random() < 0.5
            try:
                sample = await asyncio.wait_for(self.one(session, body), timeout=60)
            except Exception as e:  # noqa: BLE001 — every failure is reported, none stops the run
                self.failures.append(f"{type(e).__name__}: {e}")
                continue
            sample.update(session=session, stream=body["stream"])
            self.samples.append(sample)
            if sample["status"] != 200 or not sample["complete"]:
                self.failures.append(f"status {sample['status']}: {sample['error']!r}")
            next_turn(body, turn, rng.randint(10, 60))

    async def worker(self, seed: int, deadline: float) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            await self.session(rng, deadline)

    async def run(self) -> float:
        started = time.perf_counter()
        deadline = started + self.a.seconds
        await asyncio.gather(*(self.worker(i, deadline) for i in range(self.a.sessions)))
        return time.perf_counter() - started

    def throttled(self) -> list[dict]:
        out = []
        for port in self.emu_ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/throttle") as r:
                out.append(json.load(r))
        return out

    def attempts(self) -> dict[str, list[dict]]:
        """The gateway's `upstream attempt` log lines, by request id."""
        out: dict[str, list[dict]] = {}
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if '"upstream attempt"' not in line:
                    continue
                event = json.loads(line)
                out.setdefault(event.get("request_id", ""), []).append(event)
        return out

    def stop(self) -> None:
        self.gw.stop()
        for emu in self.emus:
            emu.stop()


def percentile(values: list[float], q: float) -> float | None:
    """`figures.pct` (nearest rank) to 0.1 ms; `None` for no samples (a JSON null in the report)."""
    return round(pct(values, q), 1) if values else None


def switches(samples: list[dict], window: float) -> dict:
    """Per session: upstream switches (consecutive answers from different upstreams), the most
    within any `window` seconds, and the input tokens written to a cache right after a switch."""
    by_session: dict[str, list[dict]] = {}
    for s in samples:
        if s["status"] == 200:
            by_session.setdefault(s["session"], []).append(s)
    counts, worst, rewritten = [], 0, 0
    for answers in by_session.values():
        answers.sort(key=lambda s: s["t"])
        times = []
        for prev, cur in zip(answers, answers[1:]):
            if cur["upstream"] != prev["upstream"]:
                times.append(cur["t"])
                rewritten += cur["usage"].get("cache_creation_input_tokens", 0)
        counts.append(len(times))
        for i, t in enumerate(times):
            worst = max(worst, sum(1 for u in times[i:] if u - t < window))
    return {"sessions": len(by_session), "total": sum(counts), "max_per_session": max(counts, default=0),
            "sessions_that_switched": sum(1 for c in counts if c), "max_within_one_cooldown": worst,
            "cache_write_tokens_after_switch": rewritten}


def figures(load: Load, took: float, window: float) -> dict:
    attempts = load.attempts()
    ok = [s for s in load.samples if s["status"] == 200]
    for s in ok:
        s["attempts"] = attempts.get(s["request_id"], [])
    moved = [s for s in ok if len(s["attempts"]) > 1]
    direct = [s for s in ok if len(s["attempts"]) == 1]
    failed_ms = [a["ms"] for s in moved for a in s["attempts"][:-1]]
    served = {r: sum(1 for s in ok if s["upstream"] == r) for r in REGIONS}
    cache = {k: sum(s["usage"].get(k, 0) for s in ok)
             for k in ("cache_read_input_tokens", "cache_creation_input_tokens")}

    def latency(group: list[dict]) -> dict:
        return {"n": len(group), "p50": percentile([s["head_ms"] for s in group], 50),
                "p99": percentile([s["head_ms"] for s in group], 99)}

    return {
        "seconds": round(took, 1), "sessions_concurrent": load.a.sessions,
        "requests": len(load.samples), "requests_per_second": round(len(load.samples) / took),
        "streamed": sum(1 for s in load.samples if s["stream"]),
        "client_429s": sum(1 for s in load.samples if s["status"] == 429),
        "failures": len(load.failures), "first_failures": load.failures[:5],
        "primary_throttle": load.throttled()[0],
        "served_share_pct": {r: round(100 * n / max(len(ok), 1), 1) for r, n in served.items()},
        "failed_over": len(moved),
        "head_ms": {"failed_over": latency(moved), "direct": latency(direct),
                    "failed_over_stream": latency([s for s in moved if s["stream"]]),
                    "direct_stream": latency([s for s in direct if s["stream"]])},
        "throttled_attempt_ms": {"p50": percentile(failed_ms, 50), "p99": percentile(failed_ms, 99)},
        "switches": switches(load.samples, window), "cooldown_secs": window,
        "cooldown_periods": round(took / window, 1),
        "cache_tokens": cache,
    }


def problems(r: dict) -> list[str]:
    out = []
    if r["client_429s"]:
        out.append(f"{r['client_429s']} requests reached the client as 429")
    if r["failures"]:
        out.append(f"{r['failures']} requests failed, e.g. {r['first_failures']}")
    if r["switches"]["max_within_one_cooldown"] > 1:
        out.append(f"a session switched upstream {r['switches']['max_within_one_cooldown']} times "
                   f"within one {r['cooldown_secs']} s cooldown")
    if not r["primary_throttle"]["throttled"] or not r["failed_over"]:
        out.append("the primary never throttled or nothing failed over: the run showed nothing")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--sessions", type=int, default=32)
    p.add_argument("--throttle", type=float, default=0.5, help="share of the primary's calls throttled")
    p.add_argument("--cooldown", type=int, default=5, help="CHATRIX_COOLDOWN_SECS (the switch window)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatrix-failover-") as workdir:
        load = Load(a, workdir)
        try:
            took = asyncio.run(load.run())
            result = figures(load, took, a.cooldown)
        finally:
            load.stop()
    print("FAILOVER " + json.dumps(result))
    bad = problems(result)
    for b in bad:
        print(f"PROBLEM: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
