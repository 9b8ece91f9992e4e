"""One-off requests the harness uses to calibrate and to check each contender answers as expected,
and the run's environment record."""

import json
import os
import platform
import socket
import subprocess
import time
import urllib.request

import probes


def check_json(t: probes.Target, path: str, body: bytes, extra_headers: dict | None = None,
               timeout: float = 30) -> dict:
    req = urllib.request.Request(f"http://{t.host}:{t.port}{path}", data=body, headers={
        "content-type": "application/json", **t.headers, **(extra_headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        reply = json.load(r)
    text = json.dumps(reply)
    if "lorem ipsum" not in text:  # the emulator's long answer
        raise RuntimeError(f"{t.name}: unexpected answer {text[:300]}")
    return reply


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


def emulator_requests(base_url: str, clear: bool = False) -> list:
    """The emulator's record of what reached it (and with `clear`, forgets it: it keeps the last
    256 requests, bodies included, which at 1 MB each is memory the run does not need)."""
    if clear:
        urllib.request.urlopen(urllib.request.Request(
            f"{base_url}/_emulator/requests", method="DELETE")).close()
        return []
    with urllib.request.urlopen(f"{base_url}/_emulator/requests") as r:
        return json.load(r)


# Chatrix's environment is built by bench.py, not inherited; these settings (and `MIMALLOC_*`) pass
# through from bench's own, for trials of another log filter, worker count or allocator setting.
PASSED_THROUGH = ("RUST_LOG", "TOKIO_WORKER_THREADS")


def passed_through() -> dict:
    # A blank value is dropped: Chatrix reads a blank RUST_LOG as unset too.
    return {k: v for k, v in os.environ.items()
            if v.strip() and (k in PASSED_THROUGH or k.startswith("MIMALLOC_"))}


def environment(args) -> dict:
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
        "litellm": cmd(os.path.join(os.path.dirname(args.litellm), "python"), "-c",
                       "import importlib.metadata as m; print(m.version('litellm'))")
        if args.litellm else None,
        "build": os.path.basename(os.path.normpath(args.bin_dir)),
        "chatrix_env": passed_through(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("bin_dir", "litellm", "out", "note")},
    }
