"""The spend ledger's cost per request (issue 17): the gateway with and without
`CHATRIX_LEDGER_TABLE` on moto's DynamoDB server (serialized by tests/clients/moto_locked.py), one
JSON request at a time, for a key without limits and one with rpm and two budgets. Prints p50, p99
and the gateway's CPU per request (utime + stime from /proc).

moto is a single-threaded Python server behind a lock, far slower than DynamoDB (single-digit
milliseconds per call in-Region): read the added latency as an upper bound, and the CPU as the
gateway's own cost of the calls.

    CHATRIX_BIN=… EMULATOR_BIN=… MOTO_PYTHON=<moto venv python> <moto venv python> bench/ledger.py
"""

import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
CREDS = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
CASES = [
    ("no table, key without limits", False, "sk-bench-plain"),
    ("no table, key with rpm + 2 budgets (in-process)", False, "sk-bench-limited"),
    ("table, key without limits (usage row only)", True, "sk-bench-plain"),
    ("table, key with rpm + 2 budgets", True, "sk-bench-limited"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} never answered")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(env: dict, key: str, n: int) -> tuple:
    port = free_port()
    gw = subprocess.Popen([os.environ["CHATRIX_BIN"]], env={**env, "PORT": str(port)},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait(url + "/health")
        body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 50,
                           "messages": [{"role": "user", "content": "[[emu:text a short answer]]"}]}).encode()

        def one() -> float:
            req = urllib.request.Request(url + "/v1/messages", data=body,
                                         headers={"x-api-key": key, "content-type": "application/json"})
            start = time.perf_counter()
            urllib.request.urlopen(req).read()
            return time.perf_counter() - start

        for _ in range(30):
            one()
        before = cpu_seconds(gw.pid)
        times = sorted(one() for _ in range(n))
        cpu = (cpu_seconds(gw.pid) - before) / n
    finally:
        gw.terminate()
        gw.wait()
    return statistics.median(times) * 1e3, times[int(n * 0.99)] * 1e3, cpu * 1e3


def main() -> None:
    work = tempfile.mkdtemp(prefix="chatrix-ledger-bench-")
    emu_port, moto_port = free_port(), free_port()
    emulator = subprocess.Popen([os.environ["EMULATOR_BIN"], "--port", str(emu_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    moto = subprocess.Popen([os.environ["MOTO_PYTHON"], os.path.join(HERE, "..", "tests", "clients", "moto_locked.py"),
                             "127.0.0.1", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        moto_url = f"http://127.0.0.1:{moto_port}"
        wait(moto_url + "/moto-api/")
        boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1",
                     aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench-secret").create_table(
            TableName="bench", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
        keys = os.path.join(work, "keys.json")
        with open(keys, "w") as f:
            json.dump({"api_keys": {"plain": "sk-bench-plain", "limited": {
                "key": "sk-bench-limited", "rpm": 100000, "budget_usd": {"day": 1000, "month": 10000}}}}, f)
        base = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "CHATRIX_BEDROCK": "aws",
                "CHATRIX_KEYS_FILE": keys, "CHATRIX_DISCOVERY_INTERVAL_SECS": "0", "RUST_LOG": "warn",
                "TOKIO_WORKER_THREADS": "1", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{emu_port}",
                "AWS_ENDPOINT_URL_BEDROCK": f"http://127.0.0.1:{emu_port}", "AWS_ENDPOINT_URL_DYNAMODB": moto_url, **CREDS}
        for name, table, key in CASES:
            env = {**base, **({"CHATRIX_LEDGER_TABLE": "bench"} if table else {})}
            p50, p99, cpu = measure(env, key, 300)
            print(f"{name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, gateway CPU {cpu:.2f} ms/request", flush=True)
    finally:
        emulator.terminate()
        moto.terminate()


if __name__ == "__main__":
    main()
