"""Peak memory while relaying one very large request: a fresh gateway per path, one request of
`size` bytes (Claude Code-shaped, its bulk screenshots), and the process's peak resident set read
from the kernel's high-water mark (`VmHWM`), which no sampling interval can miss."""

import json
import time
import urllib.request

import workload
from procs import Proc, RssSampler, free_port, wait_http


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure(start, env: dict, api_key: str, size: int, words: int, requests: int) -> dict:
    """`start(name, argv, env)` starts the gateway; `env` must allow bodies of `size` bytes."""
    body = workload.encode(workload.with_images(size, words))
    port = int(env["PORT"])
    proc: Proc = start(env)
    try:
        wait_http(port, "/health", proc, 30)
        idle_kb = _status_kb(proc.pid, "VmRSS")
        statuses, times_ms = [], []
        faults_before = Proc.minor_faults(proc.pid)
        with RssSampler([proc.pid], interval=0.005) as sampled:
            for _ in range(requests):
                started = time.perf_counter()
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/messages", data=body,
                    headers={"content-type": "application/json", "x-api-key": api_key,
                             "anthropic-version": "2023-06-01"})
                with urllib.request.urlopen(req, timeout=120) as r:
                    reply = json.load(r)
                    statuses.append(r.status if "lorem ipsum" in json.dumps(reply) else 0)
                times_ms.append(round((time.perf_counter() - started) * 1000, 1))
        return {
            "body_bytes": len(body),
            "images": sum(1 for m in json.loads(body)["messages"] for b in m["content"]
                          if b.get("type") == "image"),
            "requests": requests,
            "statuses": statuses,
            "idle_bytes": idle_kb * 1024,
            "peak_bytes": _status_kb(proc.pid, "VmHWM") * 1024,
            "sampled_peak_bytes": sampled.peak,
            # Wall time per request (client, gateway and emulator on the same machine) and the
            # gateway's minor page faults over all of them: what fresh memory costs.
            "times_ms": times_ms,
            "minor_faults": Proc.minor_faults(proc.pid) - faults_before,
        }
    finally:
        proc.stop()


def env_for(base: dict, size: int) -> dict:
    """The gateway's environment with room for the body (the default limit is 32 MiB)."""
    return dict(base, PORT=str(free_port()), CHATRIX_MAX_BODY_BYTES=str(max(size * 2, 64 << 20)))
