"""The spend ledger's cost per request (issue 17): the gateway with and without
`CHATRIX_LEDGER_TABLE` on moto's DynamoDB server (serialized by tests/clients/moto_locked.py), one
JSON request at a time, for a key without limits and one with rpm, tpm and two budgets. Prints, per
case, the requests sent, p50 and p99 latency and the CPU per request of the gateway and of moto
(utime + stime from /proc, as bench/procs.py reads it), then moto's own cost of one `UpdateItem`
(a boto3 loop on the same server, shaped as the gateway's admission call) so that the table's
share of the latency can be told from Chatrix's.

moto is a single-threaded Python server behind a lock, far slower than DynamoDB: read the added
latency as an upper bound, and the CPU as the gateway's own cost of the calls. Build with
`cargo build --release --bins` and point CHATRIX_BIN / EMULATOR_BIN at target/release.

    CHATRIX_BIN=… EMULATOR_BIN=… MOTO_PYTHON=<moto venv python> <moto venv python> bench/ledger.py [N]
"""

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from figures import pct  # noqa: E402
from procs import Proc, free_port, wait_http  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CREDS = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
# (label, table?, key): the ledger off, then the same keys with the table.
CASES = [
    ("ledger off (no table), key without limits", False, "sk-bench-plain"),
    ("no table, key with rpm + tpm + 2 budgets (in-process)", False, "sk-bench-limited"),
    ("table, key without limits (usage row only)", True, "sk-bench-plain"),
    ("table, key with rpm + tpm + 2 budgets", True, "sk-bench-limited"),
]
KEYS = {"api_keys": {"plain": "sk-bench-plain", "limited": {
    "key": "sk-bench-limited", "rpm": 1_000_000, "tpm": 1_000_000_000,
    "budget_usd": {"day": 1000, "month": 10000}}}}
WARMUP = 30


def measure(env: dict, key: str, n: int, work: str, label: str, moto: Proc) -> dict:
    port = free_port()
    gw = Proc(label, [os.environ["CHATRIX_BIN"]], {**env, "PORT": str(port)},
              os.path.join(work, f"gateway-{port}.log"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(port, "/health", gw, timeout=30)
        body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 50,
                           "messages": [{"role": "user", "content": "[[emu:text a short answer]]"}]}).encode()

        def one() -> float:
            req = urllib.request.Request(url + "/v1/messages", data=body,
                                         headers={"x-api-key": key, "content-type": "application/json"})
            start = time.perf_counter()
            urllib.request.urlopen(req).read()
            return time.perf_counter() - start

        for _ in range(WARMUP):
            one()
        before, moto_before = Proc.cpu_seconds([gw.pid]), Proc.cpu_seconds(moto.pids())
        times = sorted(one() for _ in range(n))
        cpu = Proc.cpu_seconds([gw.pid]) - before
        moto_cpu = Proc.cpu_seconds(moto.pids()) - moto_before
    finally:
        gw.stop()
    return {"requests": n, "p50_ms": statistics.median(times) * 1e3, "p99_ms": pct(times, 99) * 1e3,
            "cpu_us_per_request": cpu / n * 1e6, "moto_cpu_us_per_request": moto_cpu / n * 1e6}


def moto_update_item(db, moto: Proc, n: int) -> dict:
    """One conditional `UpdateItem ADD`, as the gateway's admission writes a budget counter."""

    def one(i: int) -> float:
        start = time.perf_counter()
        db.update_item(
            TableName="bench", Key={"pk": {"S": "spend#key#direct"}, "sk": {"S": "day#bench"}},
            UpdateExpression="SET expires_at = :e ADD nanos :n",
            ConditionExpression="attribute_not_exists(nanos) OR nanos <= :max",
            ExpressionAttributeValues={":e": {"N": "1"}, ":n": {"N": str(i % 7 + 1)}, ":max": {"N": "9" * 15}},
        )
        return time.perf_counter() - start

    for i in range(WARMUP):
        one(i)
    before = Proc.cpu_seconds(moto.pids())
    times = sorted(one(i) for i in range(n))
    cpu = Proc.cpu_seconds(moto.pids()) - before
    return {"calls": n, "p50_ms": statistics.median(times) * 1e3, "p99_ms": pct(times, 99) * 1e3,
            "moto_cpu_us_per_call": cpu / n * 1e6}


def create_table(db) -> None:
    db.create_table(
        TableName="bench", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    work = tempfile.mkdtemp(prefix="chatrix-ledger-bench-")
    emu_port, moto_port = free_port(), free_port()
    emulator = Proc("emulator", [os.environ["EMULATOR_BIN"], "--port", str(emu_port)], dict(os.environ),
                    os.path.join(work, "emulator.log"))
    moto = Proc("moto", [os.environ["MOTO_PYTHON"], os.path.join(HERE, "..", "tests", "clients", "moto_locked.py"),
                         "127.0.0.1", str(moto_port)], dict(os.environ), os.path.join(work, "moto.log"))
    try:
        moto_url = f"http://127.0.0.1:{moto_port}"
        wait_http(moto_port, "/moto-api/", moto, timeout=60)
        wait_http(emu_port, "/_emulator/stats", emulator, timeout=30)
        db = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1",
                          aws_access_key_id="AKIDBENCH", aws_secret_access_key="bench-secret")
        create_table(db)
        keys = os.path.join(work, "keys.json")
        with open(keys, "w") as f:
            json.dump(KEYS, f)
        base = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "CHATRIX_BEDROCK": "aws",
                "CHATRIX_KEYS_FILE": keys, "CHATRIX_DISCOVERY_INTERVAL_SECS": "0", "RUST_LOG": "warn",
                "TOKIO_WORKER_THREADS": "1", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{emu_port}",
                "AWS_ENDPOINT_URL_BEDROCK": f"http://127.0.0.1:{emu_port}", "AWS_ENDPOINT_URL_DYNAMODB": moto_url, **CREDS}
        results = {}
        for label, table, key in CASES:
            env = {**base, **({"CHATRIX_LEDGER_TABLE": "bench"} if table else {})}
            r = results[label] = measure(env, key, n, work, label, moto)
            print(f"{label}: {r['requests']} requests, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                  f"gateway CPU {r['cpu_us_per_request']:.0f} µs/request, "
                  f"moto CPU {r['moto_cpu_us_per_request']:.0f} µs/request", flush=True)
        m = results["moto UpdateItem (boto3, direct)"] = moto_update_item(db, moto, n)
        print(f"moto UpdateItem (boto3, direct): {m['calls']} calls, p50 {m['p50_ms']:.2f} ms, "
              f"p99 {m['p99_ms']:.2f} ms, moto CPU {m['moto_cpu_us_per_call']:.0f} µs/call", flush=True)
        print(json.dumps({"load_average": os.getloadavg(), "results": results}))
    finally:
        emulator.stop()
        moto.stop()


if __name__ == "__main__":
    main()
