"""Load and timing probes, all measured from the client side.

- `wrk`: closed-loop load with exact percentiles (bench/wrk_report.lua);
- `request_once`: one non-streamed request over a fresh connection, timed whole;
- `stream_probe`: one streaming request at a time over a fresh connection, timing every read, to
  get time to the first text delta and the gaps between deltas, and to spot coalesced deltas;
- `hold_streams`: many concurrent streams held open, to measure memory per open stream.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field

import wire

HERE = os.path.dirname(os.path.abspath(__file__))

# One marker per text delta, whatever the framing: the event-stream `:event-type` header value
# (Converse), or the Anthropic event's type (SSE from Chatrix and LiteLLM; InvokeModel's `chunk`
# frames once decoded, see wire.py).
DELTA_MARKERS = re.compile(rb'contentBlockDelta|"type":\s*"content_block_delta"')
# The first event of a stream, in either framing.
FIRST_EVENT = re.compile(rb'messageStart|"type":\s*"message_start"')
# `[[emu:stamp]]`: each text delta is the emulator's wall-clock send time in µs.
STAMP = re.compile(rb"@(\d{16}) ")


@dataclass
class Target:
    """Where and how one contender is called."""

    name: str
    host: str
    port: int
    path: str
    stream_path: str
    headers: dict
    body: bytes
    large_body: bytes
    huge_body: bytes
    stream_body: bytes
    hold_body: bytes
    # Sent with `huge_body` only (the 1M-context beta its size needs).
    huge_headers: dict = field(default_factory=dict)
    # How the stream's events are read: "invoke" (base64 `chunk` frames) or "clear" (the rest).
    framing: str = "clear"


def wrk(target: Target, body: bytes, connections: int, seconds: float, workdir: str,
        extra_headers: dict | None = None) -> dict:
    body_file = os.path.join(workdir, f"body-{target.name}-{len(body)}.json")
    with open(body_file, "wb") as f:
        f.write(body)
    headers = {**target.headers, **(extra_headers or {})}
    env = dict(
        os.environ,
        BENCH_BODY_FILE=body_file,
        BENCH_PATH=target.path,
        BENCH_HEADERS="\n".join(f"{k}: {v}" for k, v in headers.items()),
    )
    argv = [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", os.path.join(HERE, "wrk_report.lua"), f"http://{target.host}:{target.port}",
    ]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for result in tagged(out.stdout, "BENCH_JSON"):
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        result["error_count"] = sum(result["errors"].values())
        return result
    raise RuntimeError(f"wrk printed no result (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")


def tagged(out: str, tag: str) -> list[dict]:
    """The JSON of each `<tag> {json}` line a program printed (wrk_report.lua, sdk_cost.rs)."""
    return [json.loads(line.removeprefix(f"{tag} ")) for line in out.splitlines()
            if line.startswith(f"{tag} ")]


def post_bytes(host: str, port: int, path: str, headers: dict, body: bytes) -> bytes:
    """A whole HTTP/1.1 POST of a JSON body, for a raw socket (one request per connection)."""
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
            "Content-Type: application/json", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def request_bytes(target: Target, path: str, body: bytes) -> bytes:
    return post_bytes(target.host, target.port, path, target.headers, body)


def request_once(target: Target, timeout: float = 30.0) -> float:
    """One non-streamed small request on a fresh connection: milliseconds from sending it to the
    whole answer (the server closes the connection after it)."""
    request = request_bytes(target, target.path, target.body)
    with socket.create_connection((target.host, target.port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        s.sendall(request)
        buf = bytearray()
        while chunk := s.recv(65536):
            buf += chunk
        elapsed = (time.perf_counter() - t0) * 1000
    if not buf.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(f"{target.name}: {bytes(buf[:200])!r}")
    return elapsed


@dataclass
class StreamSample:
    status: int
    ttfb_ms: float  # request sent → first event (message_start) received
    delays_ms: list = field(default_factory=list)  # each delta: emulator sent it → we read it
    gaps_ms: list = field(default_factory=list)  # between consecutive deltas
    deltas: int = 0
    coalesced_reads: int = 0  # reads that carried more than one delta


def stream_once(target: Target, timeout: float = 30.0) -> StreamSample:
    request = request_bytes(target, target.stream_path, target.stream_body)
    readable = wire.reader(target.framing)
    with socket.create_connection((target.host, target.port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        arrivals, delays = [], []
        coalesced = seen = stamps_seen = 0
        first_event = None
        t0 = time.perf_counter()
        s.sendall(request)
        while True:
            chunk = s.recv(65536)
            now, wall_us = time.perf_counter(), time.time_ns() // 1000
            if not chunk:
                break
            buf += readable(chunk)
            if first_event is None and FIRST_EVENT.search(buf):
                first_event = now
            # Recounted over the whole body, so a marker split across two reads counts once.
            total = len(DELTA_MARKERS.findall(buf))
            new, seen = total - seen, total
            if new > 1:
                coalesced += 1
            arrivals += [now] * new
            stamps = STAMP.findall(buf)
            delays += [(wall_us - int(st)) / 1000 for st in stamps[stamps_seen:]]
            stamps_seen = len(stamps)
    status = int(buf[9:12]) if buf.startswith(b"HTTP/1.1 ") else 0
    gaps = [(b - a) * 1000 for a, b in zip(arrivals, arrivals[1:])]
    ttfb = (first_event - t0) * 1000 if first_event else float("nan")
    return StreamSample(status, ttfb, delays, gaps, len(arrivals), coalesced)


def stream_probe(target: Target, samples: int) -> list[StreamSample]:
    return [stream_once(target) for _ in range(samples)]


async def _hold_one(target: Target, started: asyncio.Event, first_delta: list, stop: asyncio.Event):
    reader, writer = await asyncio.open_connection(target.host, target.port)
    readable = wire.reader(target.framing)
    try:
        writer.write(request_bytes(target, target.stream_path, target.hold_body))
        await writer.drain()
        buf = b""
        while not DELTA_MARKERS.search(buf):
            chunk = await reader.read(65536)
            if not chunk:
                return
            buf += readable(chunk)
        first_delta.append(buf.startswith(b"HTTP/1.1 200 "))
        started.set()
        # Keep reading (as a client would) until told to go; the stream itself runs far longer.
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 0.5)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                return
    finally:
        writer.close()


async def _hold(target: Target, n: int, timeout: float, measure) -> dict:
    stop = asyncio.Event()
    first_delta: list = []
    started = asyncio.Event()
    tasks = [asyncio.create_task(_hold_one(target, started, first_delta, stop)) for _ in range(n)]
    deadline = time.monotonic() + timeout
    while len(first_delta) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # let the last ones settle
    open_ok = sum(first_delta)
    figure = measure()
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"requested": n, "streaming": open_ok, "rss_bytes": figure}


def hold_streams(target: Target, n: int, timeout: float, measure) -> dict:
    """Opens `n` streams at once, waits until each has had its first delta (or `timeout`),
    calls `measure()` (the server's RSS) while all are open, then closes them."""
    return asyncio.run(_hold(target, n, timeout, measure))
