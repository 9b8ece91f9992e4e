#!/usr/bin/env python3
"""Soak: many mixed requests through the running gateway binary, with its memory watched.

Starts `bedrock-emulator` and `chatrix` from --bin-dir, then keeps --concurrency clients busy until
--requests have been sent: plain JSON requests, streams read to the end, and streams the client
abandons at the first delta (the socket closed, as a cancelled Claude Code turn does). RSS is
sampled throughout. Then it checks, and exits non-zero unless all hold:
- every request got its answer (200 and a whole body or stream, or the planned cancel);
- RSS at the end is < 10 % above RSS at the end of warm-up (the first tenth of the requests);
- no Bedrock stream and no client connection is left open once the load stops;
- during the load, Bedrock streams open never exceed the streams clients hold plus those they
  abandoned in the last second (so no cancel's Bedrock stream outlives it by 1 s), and each of
  --cancel-probes cancels, made one at a time afterwards, ends its Bedrock stream within 1 s.

Run by `bench/soak` (the long form: 100,000 requests on the release build) and by tests/run (a
short form on the debug build). Only the standard library is used.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402
from probes import post_bytes  # noqa: E402
from procs import Proc, RssSampler, free_port, wait_http  # noqa: E402


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response (content-length or chunked); returns status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, bytes(out)
        out += chunk[:-2]


class Soak:
    def __init__(self, a: argparse.Namespace, workdir: str):
        self.a = a
        self.key = "sk-soak-" + secrets.token_hex(16)
        self.emu_port, self.port = free_port(), free_port()
        self.emu = Proc("emulator", [os.path.join(a.bin_dir, "bedrock-emulator"), "--port",
                                     str(self.emu_port)], dict(os.environ),
                        os.path.join(workdir, "emulator.log"))
        wait_http(self.emu_port, "/_emulator/stats", self.emu, 30)
        env = dict(os.environ, PORT=str(self.port), HOST="127.0.0.1", CHATRIX_BEDROCK="aws",
                   AWS_ENDPOINT_URL_BEDROCK_RUNTIME=f"http://127.0.0.1:{self.emu_port}",
                   AWS_ENDPOINT_URL_BEDROCK=f"http://127.0.0.1:{self.emu_port}",
                   AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="AKIDSOAK",
                   AWS_SECRET_ACCESS_KEY="soak", AWS_EC2_METADATA_DISABLED="true",
                   CHATRIX_API_KEYS=f"soak:{self.key}", RUST_LOG="warn")
        self.gw = Proc("chatrix", [os.path.join(a.bin_dir, "chatrix")], env,
                       os.path.join(workdir, "chatrix.log"))
        wait_http(self.port, "/health", self.gw, 30)
        self.sent = 0
        self.counts = {"json": 0, "stream": 0, "cancel": 0}
        self.failures: list[str] = []
        self.warm_rss = 0
        # For the in-load cancellation check: streams the clients still hold, and when each
        # abandoned stream was closed.
        self.streams_in_flight = 0
        self.cancelled_at: list[float] = []
        self.worst_excess = 0

    def open_streams(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.emu_port}/_emulator/stats") as r:
            return json.load(r)["open_streams"]

    def connections(self) -> int:
        """Client connections the gateway still holds: established TCP sockets on its port
        (pooled connections to Bedrock are on other ports and may idle on)."""
        port = f":{self.port:04X}"
        n = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    local, state = line.split()[1], line.split()[3]
                    n += local.endswith(port) and state == "01"
        return n

    async def one(self, kind: str, rng: random.Random) -> None:
        words = rng.randint(5, 60)
        body = {"json": lambda: workload.small(words),
                "stream": lambda: workload.streaming(words, 0, 0, stamp=False),
                # 200 deltas 20 ms apart: a Bedrock stream that would run for 4 s if not cancelled.
                "cancel": lambda: workload.streaming(400, 0, 20, stamp=False)}[kind]()
        headers = {"x-api-key": self.key, "anthropic-version": "2023-06-01"}
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.streams_in_flight += kind != "json"
        try:
            writer.write(post_bytes("127.0.0.1", self.port, "/v1/messages", headers,
                                    workload.encode(body)))
            if kind == "cancel":
                buf = b""
                while b"content_block_delta" not in buf:
                    chunk = await reader.read(65536)
                    if not chunk:
                        raise RuntimeError(f"stream ended early: {buf[:200]!r}")
                    buf += chunk
                return  # closing the socket is the cancel
            status, payload = await read_response(reader)
            if status != 200:
                raise RuntimeError(f"status {status}: {payload[:200]!r}")
            if kind == "json" and b'"stop_reason"' not in payload:
                raise RuntimeError(f"incomplete answer: {payload[:200]!r}")
            if kind == "stream" and not payload.rstrip().endswith(b'{"type":"message_stop"}'):
                raise RuntimeError(f"stream did not end with message_stop: {payload[-200:]!r}")
        finally:
            writer.close()
            self.streams_in_flight -= kind != "json"
            if kind == "cancel":
                self.cancelled_at.append(time.perf_counter())

    async def worker(self, seed: int) -> None:
        rng = random.Random(seed)
        while self.sent < self.a.requests:
            self.sent += 1
            roll = rng.random()
            kind = "cancel" if roll < self.a.cancel_share else "stream" if roll < 0.5 else "json"
            try:
                await asyncio.wait_for(self.one(kind, rng), timeout=60)
                self.counts[kind] += 1
            except Exception as e:  # noqa: BLE001 — every failure is reported, none stops the run
                self.failures.append(f"{kind}: {type(e).__name__}: {e}")
            if self.sent == self.a.requests // 10 and not self.warm_rss:
                self.warm_rss = Proc.rss_bytes([self.gw.pid])

    async def watch_cancels(self, done: asyncio.Event) -> None:
        """Every 100 ms during the load: Bedrock streams open may not exceed the streams clients
        still hold plus those abandoned in the last second. An excess is a cancel whose Bedrock
        stream outlived it by a second or more. (The stats call blocks the loop for a moment,
        which makes the client-side counts a consistent snapshot.)"""
        while not done.is_set():
            now = time.perf_counter()
            recent = sum(1 for t in self.cancelled_at[-2000:] if now - t < 1.0)
            allowed = self.streams_in_flight + recent
            self.worst_excess = max(self.worst_excess, self.open_streams() - allowed)
            await asyncio.sleep(0.1)

    async def cancel_probe(self) -> float:
        """One cancel on a quiet gateway; seconds until the Bedrock stream closed."""
        await self.one("cancel", random.Random(0))
        closed = time.perf_counter()
        while self.open_streams() > 0 and time.perf_counter() - closed < 5:
            await asyncio.sleep(0.005)
        return time.perf_counter() - closed

    async def run(self) -> dict:
        started = time.perf_counter()
        done = asyncio.Event()
        watcher = asyncio.create_task(self.watch_cancels(done))
        with RssSampler([self.gw.pid], interval=0.5) as rss:
            await asyncio.gather(*(self.worker(i) for i in range(self.a.concurrency)))
        done.set()
        await watcher
        took = time.perf_counter() - started
        await asyncio.sleep(2)  # cancelled streams wind down; keep-alive sockets are closed
        end_rss = Proc.rss_bytes([self.gw.pid])
        left = {"bedrock_streams": self.open_streams(),
                "client_connections": self.connections()}
        probes = [await self.cancel_probe() for _ in range(self.a.cancel_probes)]
        return {"requests": self.sent, "counts": self.counts, "seconds": round(took, 1),
                "requests_per_second": round(self.sent / took), "failures": len(self.failures),
                "first_failures": self.failures[:5],
                "rss_mb": {"after_warm_up": round(self.warm_rss / 2**20, 1),
                           "peak": round(rss.peak / 2**20, 1), "end": round(end_rss / 2**20, 1)},
                "rss_growth_pct": round((end_rss / self.warm_rss - 1) * 100, 1),
                "left_open": left,
                "bedrock_streams_beyond_1s_of_cancel": max(self.worst_excess, 0),
                "cancel_to_upstream_close_ms": {
                    "max": round(max(probes) * 1000, 1),
                    "median": round(sorted(probes)[len(probes) // 2] * 1000, 1)}}

    def stop(self) -> None:
        self.gw.stop()
        self.emu.stop()


def problems(r: dict) -> list[str]:
    out = []
    if r["failures"]:
        out.append(f"{r['failures']} requests failed, e.g. {r['first_failures']}")
    if r["rss_growth_pct"] >= 10:
        out.append(f"RSS grew {r['rss_growth_pct']} % after warm-up")
    if r["left_open"]["bedrock_streams"] or r["left_open"]["client_connections"]:
        out.append(f"left open after the load: {r['left_open']}")
    if r["bedrock_streams_beyond_1s_of_cancel"]:
        out.append(f"during the load, {r['bedrock_streams_beyond_1s_of_cancel']} Bedrock streams "
                   "outlived their client's cancel by 1 s or more")
    if r["cancel_to_upstream_close_ms"]["max"] >= 1000:
        out.append(f"a cancel took {r['cancel_to_upstream_close_ms']['max']} ms to end its Bedrock stream")
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--requests", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--cancel-share", type=float, default=0.1)
    p.add_argument("--cancel-probes", type=int, default=20)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatrix-soak-") as workdir:
        soak = Soak(a, workdir)
        try:
            result = asyncio.run(soak.run())
        finally:
            soak.stop()
    print("SOAK " + json.dumps(result))
    bad = problems(result)
    for b in bad:
        print(f"PROBLEM: {b}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
