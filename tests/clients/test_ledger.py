"""Spend control on DynamoDB (issue 17): the running `chatrix` binary, the real anthropic SDK, and
moto's DynamoDB server as the table (`AWS_ENDPOINT_URL_DYNAMODB`), serialized by
tests/clients/moto_locked.py so that it is as atomic as DynamoDB.

Needs `MOTO_PYTHON` (the python of tests/run's moto virtualenv) besides CHATRIX_BIN and
EMULATOR_BIN.
"""

import concurrent.futures
import datetime
import decimal
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import anthropic
import boto3
import pytest

from conftest import API_KEY, MODEL, _free_port, _wait_http, run_gateway

HERE = os.path.dirname(__file__)
NANOS = 1_000_000_000


class Table:
    """A locked moto server holding one ledger table with the fixed schema."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"chatrix-ledger-{uuid.uuid4().hex[:8]}"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [os.environ["MOTO_PYTHON"], os.path.join(HERE, "moto_locked.py"), "127.0.0.1", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"{self.url}/moto-api/", self.proc)

    def create(self) -> None:
        db = self.client()
        db.create_table(
            TableName=self.name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        db.update_time_to_live(
            TableName=self.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def client(self):
        return boto3.client(
            "dynamodb",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDSDKTEST",
            aws_secret_access_key="sdk-test-secret",
        )

    def number(self, pk: str, sk: str, attr: str) -> int:
        item = self.client().get_item(TableName=self.name, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item", {})
        return int(item.get(attr, {"N": "0"})["N"])


@pytest.fixture
def table():
    t = Table()
    t.start()
    t.create()
    try:
        yield t
    finally:
        t.stop()


def today() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def gateway(emulator, workdir, table: Table, keys: dict, **extra):
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "keys.json"
    path.write_text(json.dumps(keys))
    return run_gateway(
        emulator,
        workdir,
        CHATRIX_KEYS_FILE=str(path),
        CHATRIX_LEDGER_TABLE=table.name,
        AWS_ENDPOINT_URL_DYNAMODB=table.url,
        **extra,
    )


def client(gw, key: str):
    return anthropic.Anthropic(base_url=gw["url"], api_key=key, max_retries=0)


def ask(gw, key: str, stream: bool = False, text: str = "[[emu:text a few words of answer]]"):
    """One request; returns (cost in nanos as the client was told, reserved nanos or None)."""
    args = dict(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": text}])
    c = client(gw, key)
    if stream:
        raw = c.messages.with_raw_response.create(stream=True, **args)
        reserved = raw.headers.get("x-chatrix-reserved-usd")
        cost = None
        for event in raw.parse():
            if event.type == "message_delta":
                cost = event.usage.model_extra["cost"]["total_cost"]
    else:
        raw = c.messages.with_raw_response.create(**args)
        reserved = raw.headers.get("x-chatrix-reserved-usd")
        cost = raw.parse().usage.model_extra["cost"]["total_cost"]
    return round(cost * NANOS), (round(float(reserved) * NANOS) if reserved else None)


def log_lines(gw) -> list:
    return [json.loads(line) for line in gw["log"].read_text().splitlines() if line.startswith("{")]


def avoid_minute_turn() -> None:
    """Rate tests need their requests in one UTC minute."""
    second = datetime.datetime.now(datetime.timezone.utc).second
    if second > 50:
        time.sleep(61 - second)


def test_a_budget_is_refused_with_402_once_reached_and_the_ledger_equals_what_clients_were_charged(
    emulator, table, tmp_path
):
    keys = {"api_keys": {"capped": {"key": "sk-capped-ledger", "budget_usd": {"day": 0.01}}}}
    charged = []
    with gateway(emulator, tmp_path, table, keys) as gw:
        with pytest.raises(anthropic.APIStatusError) as refused:
            for n in range(200):
                charged.append(ask(gw, "sk-capped-ledger", stream=n % 2 == 1)[0])
        assert refused.value.status_code == 402
        assert refused.value.body["error"]["type"] == "billing_error"
        assert "daily budget of API key `capped`" in refused.value.body["error"]["message"]
        assert len(charged) >= 2
        assert sum(charged) <= 0.01 * NANOS
        spent = table.number("spend#key#capped", f"day#{today()}", "nanos")
        assert spent == sum(charged)
        usage = f"capped#{MODEL}"
        assert table.number(f"usage#{today()}", usage, "cost_nanos") == sum(charged)
        assert table.number(f"usage#{today()}", usage, "requests") == len(charged)
        assert "sk-capped-ledger" not in gw["log"].read_text()


def test_two_gateways_on_one_table_under_concurrent_load_stay_within_budget_and_the_bound(
    emulator, table, tmp_path
):
    budget = 0.05
    workers = 12
    keys = {"api_keys": {"shared": {"key": "sk-shared-ledger", "budget_usd": {"day": budget}}}}
    with gateway(emulator, tmp_path / "a", table, keys) as a, gateway(emulator, tmp_path / "b", table, keys) as b:

        def spend(i: int) -> list:
            out = []
            gw = a if i % 2 else b
            while True:
                try:
                    out.append(ask(gw, "sk-shared-ledger", stream=i % 3 == 0))
                except anthropic.APIStatusError as e:
                    assert e.status_code == 402, e.body
                    return out

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            results = [r for rs in pool.map(spend, range(workers)) for r in rs]
    total = sum(cost for cost, _ in results)
    # docs/budgets.md: at most one request's excess over its reservation per concurrent request.
    excess = max(0, max(cost - reserved for cost, reserved in results))
    assert total <= budget * NANOS + workers * excess, (total, excess)
    assert table.number("spend#key#shared", f"day#{today()}", "nanos") == total
    assert len(results) > workers


def test_rpm_and_tpm_refusals_are_429_with_retry_after(emulator, table, tmp_path):
    keys = {
        "api_keys": {
            "rpm": {"key": "sk-rpm-ledger", "rpm": 3},
            "tpm": {"key": "sk-tpm-ledger", "tpm": 100},
        }
    }
    with gateway(emulator, tmp_path, table, keys) as gw:
        avoid_minute_turn()
        for _ in range(3):
            ask(gw, "sk-rpm-ledger")
        with pytest.raises(anthropic.RateLimitError) as rpm:
            ask(gw, "sk-rpm-ledger")
        assert "3 requests per minute" in rpm.value.body["error"]["message"]
        assert 1 <= int(rpm.value.response.headers["retry-after"]) <= 60
        long_prompt = "[[emu:text ok]] " + "many words in a long prompt " * 40
        ask(gw, "sk-tpm-ledger", text=long_prompt)  # larger than the limit: admitted into an empty minute
        with pytest.raises(anthropic.RateLimitError) as tpm:
            ask(gw, "sk-tpm-ledger", text=long_prompt)
        assert "100 tokens per minute" in tpm.value.body["error"]["message"]
        assert 1 <= int(tpm.value.response.headers["retry-after"]) <= 60


def test_a_cancelled_stream_is_billed(emulator, table, tmp_path):
    keys = {"api_keys": {"quitter": {"key": "sk-quitter-ledger", "budget_usd": {"month": 10}}}}
    with gateway(emulator, tmp_path, table, keys) as gw:
        c = client(gw, "sk-quitter-ledger")
        with c.messages.stream(
            model=MODEL,
            max_tokens=2000,
            messages=[{"role": "user", "content": "[[emu:drip 100]] [[emu:long 200]]"}],
        ) as stream:
            for i, _ in enumerate(stream):
                if i >= 6:
                    break
        month = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if table.number(f"usage#{today()}", f"quitter#{MODEL}", "requests") == 1:
                break
            time.sleep(0.2)
        cost = table.number(f"usage#{today()}", f"quitter#{MODEL}", "cost_nanos")
        assert cost > 0
        assert table.number(f"usage#{today()}", f"quitter#{MODEL}", "output_tokens") > 0
        # The reservation was replaced by the billed cost.
        assert table.number("spend#key#quitter", f"month#{month}", "nanos") == cost


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_a_table_outage_is_open_or_closed_as_configured(emulator, table, tmp_path, mode):
    keys = {"api_keys": {"limited": {"key": "sk-limited-ledger", "rpm": 100, "budget_usd": {"day": 5}}}}
    with gateway(emulator, tmp_path, table, keys, CHATRIX_LEDGER_ON_ERROR=mode) as gw:
        ask(gw, "sk-limited-ledger")
        table.stop()
        # A key without limits is served either way (its usage row is lost, and logged).
        ask(gw, API_KEY)
        if mode == "open":
            ask(gw, "sk-limited-ledger")
            errors = [line for line in log_lines(gw) if line["level"] == "ERROR"]
            unrecorded = [e for e in errors if "unrecorded_cost_usd" in e]
            assert any(e.get("key") == "limited" and float(e["unrecorded_cost_usd"]) > 0 for e in unrecorded), errors
        else:
            with pytest.raises(anthropic.APIStatusError) as err:
                ask(gw, "sk-limited-ledger")
            assert err.value.status_code == 503
            assert err.value.body["error"]["type"] == "api_error"


def http_get(url: str, key: str) -> tuple:
    """(status, parsed JSON body) of a GET with `x-api-key`."""
    request = urllib.request.Request(url, headers={"x-api-key": key})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_report_endpoints_and_the_usage_command_read_what_clients_were_charged(emulator, table, tmp_path):
    keys = {
        "api_keys": {"alice": {"key": "sk-alice-reports", "rpm": 100}},
        "admin_keys": {"finance": "sk-finance-reports"},
    }
    with gateway(emulator, tmp_path, table, keys) as gw:
        charged = [ask(gw, "sk-alice-reports")[0], ask(gw, "sk-alice-reports", stream=True)[0]]
        ask(gw, API_KEY)  # a key without limits has its usage row too (there is a table)
        start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        query = f"starting_at={start}T00:00:00Z&group_by[]=api_key_id&api_key_ids[]=alice"
        cost_url = f"{gw['url']}/v1/organizations/cost_report?{query}&group_by[]=description"
        status, cost = http_get(cost_url, "sk-finance-reports")
        assert status == 200, cost
        results = [r for bucket in cost["data"] for r in bucket["results"]]
        assert [(r["api_key_id"], r["model"]) for r in results] == [("alice", MODEL)]
        # Cents as an exact decimal string: nano-dollars / 1e7.
        assert decimal.Decimal(results[0]["amount"]) == decimal.Decimal(sum(charged)) / 10_000_000
        usage_url = f"{gw['url']}/v1/organizations/usage_report/messages?{query}&group_by[]=model"
        _, usage = http_get(usage_url, "sk-finance-reports")
        rows = [r for bucket in usage["data"] for r in bucket["results"]]
        assert rows[0]["api_key_id"] == "alice" and rows[0]["output_tokens"] > 0
        status, refused = http_get(cost_url, "sk-alice-reports")
        assert status == 403 and refused["error"]["type"] == "permission_error"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDSDKTEST",
        "AWS_SECRET_ACCESS_KEY": "sdk-test-secret",
        "AWS_ENDPOINT_URL_DYNAMODB": table.url,
        "CHATRIX_LEDGER_TABLE": table.name,
    }
    out = subprocess.run(
        [os.environ["CHATRIX_BIN"], "usage", "--days", "2"], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    lines = [line.split() for line in out.stdout.splitlines()]
    assert lines[0][:2] == ["day", "key"]
    alice = [line for line in lines if line[:2] == [today(), "alice"]]
    assert len(alice) == 1, out.stdout
    assert alice[0][2] == "2"  # requests
    assert decimal.Decimal(alice[0][-1]) == decimal.Decimal(sum(charged)) / NANOS
    assert any(line[:2] == [today(), "sdk"] for line in lines), out.stdout
    assert "sk-" not in out.stdout
