"""API keys kept in AWS Secrets Manager, served by moto's server, through the running `chatrix` binary.

The gateway reaches moto the way it reaches AWS: `AWS_ENDPOINT_URL_SECRETS_MANAGER` and the standard
credential chain. Short cache settings (TTL 2 s, negative TTL 1 s) keep the rotation and outage
cases quick. Requests go through the real anthropic SDK. Needs `MOTO_SERVER_BIN` (tests/run installs
moto[server] into its own virtualenv) besides CHATRIX_BIN and EMULATOR_BIN.
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import anthropic
import boto3
import pytest

from conftest import MODEL, _free_port, _wait_http, run_gateway

TTL = 2
NEGATIVE_TTL = 1

# Key-store rows of the fault matrix: each outage test records what the client saw, and the
# module writes them to docs/faults-key-store.md (checked against it; CHATRIX_UPDATE_DOCS=1
# rewrites it) once all of them have run.
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "faults-key-store.md")
ROWS: dict[str, str] = {}
ROW_ORDER = ["warm", "cold", "missing", "malformed"]
DOC_HEADER = """# Key store faults and what clients see

<!-- Written by tests/clients/test_secrets_manager.py; do not edit by hand
     (`CHATRIX_UPDATE_DOCS=1` when running it rewrites it). -->

API keys live in AWS Secrets Manager. These faults are provoked against moto's Secrets Manager
server (stopped, never started, or holding a missing or malformed secret) with the gateway
binary and the real `anthropic` SDK in front; the Bedrock faults are in [faults.md](faults.md).

| Fault | Client sees | Error type | `retry-after` | Also checked |
|---|---|---|---|---|
"""


def record(kind: str, row: str) -> None:
    ROWS[kind] = row


@pytest.fixture(scope="module", autouse=True)
def key_store_fault_doc():
    yield
    if set(ROWS) != set(ROW_ORDER):
        return  # some outage test did not run or failed: it reports itself
    doc = DOC_HEADER + "".join(ROWS[k] + "\n" for k in ROW_ORDER)
    if os.environ.get("CHATRIX_UPDATE_DOCS"):
        with open(DOC, "w") as f:
            f.write(doc)
        return
    with open(DOC) as f:
        assert f.read() == doc, f"docs/faults-key-store.md is out of date; rerun with CHATRIX_UPDATE_DOCS=1:\n{doc}"


class Moto:
    """A moto server on a fixed port that a test can stop and start again (state is lost)."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [os.environ["MOTO_SERVER_BIN"], "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"{self.url}/moto-api/", self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def secrets(self):
        return boto3.client(
            "secretsmanager",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDSDKTEST",
            aws_secret_access_key="sdk-test-secret",
        )

    def create(self, value: dict) -> str:
        name = f"chatrix-keys-{uuid.uuid4().hex[:8]}"
        arn = self.secrets().create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        return arn


@pytest.fixture
def moto():
    m = Moto(_free_port())
    m.start()
    try:
        yield m
    finally:
        m.stop()


def gateway_for(emulator, tmp_path, moto_url: str, secret_id: str):
    return run_gateway(
        emulator,
        tmp_path,
        CHATRIX_API_KEYS=None,
        CHATRIX_API_KEY_SECRET_ID=secret_id,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=moto_url,
        CHATRIX_KEY_CACHE_TTL_SECS=str(TTL),
        CHATRIX_KEY_NEGATIVE_TTL_SECS=str(NEGATIVE_TTL),
    )


def ask(gw, key: str):
    client = anthropic.Anthropic(base_url=gw["url"], api_key=key, max_retries=0)
    return client.messages.create(
        model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "[[emu:text ok]]"}]
    )


def log_lines(gw) -> list:
    return [json.loads(line) for line in gw["log"].read_text().splitlines() if line.startswith("{")]


def keys_logged(gw) -> list:
    return [line.get("key") for line in log_lines(gw) if line.get("path") == "/v1/messages"]


def test_one_key_format_authenticates_as_default(emulator, moto, tmp_path):
    arn = moto.create({"api_key": "sk-team-one"})
    with gateway_for(emulator, tmp_path, moto.url, arn) as gw:
        assert ask(gw, "sk-team-one").content[0].text == "ok"
        with pytest.raises(anthropic.AuthenticationError):
            ask(gw, "sk-team-two")
        assert keys_logged(gw) == ["default", None]


def test_named_keys_log_names_never_keys(emulator, moto, tmp_path):
    arn = moto.create({"api_keys": {"alice": "sk-alice-0123456789", "ci": "sk-ci-9876543210"}})
    with gateway_for(emulator, tmp_path, moto.url, arn) as gw:
        ask(gw, "sk-alice-0123456789")
        ask(gw, "sk-ci-9876543210")
        assert keys_logged(gw) == ["alice", "ci"]
        text = gw["log"].read_text()
        assert "sk-alice-0123456789" not in text and "sk-ci-9876543210" not in text


def test_secret_name_works_as_well_as_arn(emulator, moto, tmp_path):
    moto.secrets().create_secret(Name="chatrix/by-name", SecretString=json.dumps({"api_key": "sk-by-name"}))
    with gateway_for(emulator, tmp_path, moto.url, "chatrix/by-name") as gw:
        assert ask(gw, "sk-by-name").content[0].text == "ok"


def test_rotation_is_picked_up_within_the_ttl_without_a_restart(emulator, moto, tmp_path):
    arn = moto.create({"api_keys": {"alice": "sk-alice-v1"}})
    with gateway_for(emulator, tmp_path, moto.url, arn) as gw:
        ask(gw, "sk-alice-v1")
        moto.secrets().put_secret_value(SecretId=arn, SecretString=json.dumps({"api_keys": {"alice": "sk-alice-v2"}}))
        # A new key works as soon as the negative TTL allows a reload, well before the TTL.
        time.sleep(NEGATIVE_TTL + 0.2)
        ask(gw, "sk-alice-v2")
        # The old key is refused once the set it was found in has expired.
        time.sleep(TTL + 0.2)
        with pytest.raises(anthropic.AuthenticationError):
            ask(gw, "sk-alice-v1")
        ask(gw, "sk-alice-v2")


def test_an_outage_with_a_warm_cache_keeps_serving_and_is_logged(emulator, moto, tmp_path):
    arn = moto.create({"api_keys": {"alice": "sk-alice-warm"}})
    with gateway_for(emulator, tmp_path, moto.url, arn) as gw:
        ask(gw, "sk-alice-warm")
        moto.stop()
        time.sleep(TTL + 0.2)
        for _ in range(3):
            assert ask(gw, "sk-alice-warm").content[0].text == "ok"
        with pytest.raises(anthropic.AuthenticationError):
            ask(gw, "sk-someone-else")
        warnings = [line for line in log_lines(gw) if line["level"] == "WARN"]
        assert any("last good key set" in w["message"] for w in warnings), warnings
    record("warm", "| Secrets Manager down, keys cached (warm) | 200: known keys keep working past the TTL | — | — "
                   "| unknown keys still 401; a WARN says the last good key set is in use |")


def test_an_outage_with_a_cold_cache_answers_503_never_401_and_recovers(emulator, tmp_path):
    # Secrets Manager is down from the beginning. The port stays bound (not listening, so
    # connections are refused) until moto starts, so the gateway cannot be given the same port.
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    moto = Moto(holder.getsockname()[1])
    try:
        # Start-up does not touch Secrets Manager, so the gateway comes up regardless.
        with gateway_for(emulator, tmp_path, moto.url, "chatrix-cold") as gw:
            with pytest.raises(anthropic.APIStatusError) as err:
                ask(gw, "sk-cold")
            assert err.value.status_code == 503
            assert err.value.body["error"]["type"] == "api_error"
            assert err.value.response.headers["request-id"]
            assert 1 <= int(err.value.response.headers["retry-after"]) <= NEGATIVE_TTL + 1
            record("cold", f"| Secrets Manager down, nothing cached (cold) | {err.value.status_code}, never a 401 "
                           f"| `{err.value.body['error']['type']}` "
                           "| seconds to the next load (`CHATRIX_KEY_NEGATIVE_TTL_SECS`) "
                           "| serves as soon as Secrets Manager is back |")
            holder.close()
            moto.start()
            moto.secrets().create_secret(Name="chatrix-cold", SecretString=json.dumps({"api_key": "sk-cold"}))
            time.sleep(NEGATIVE_TTL + 0.2)
            assert ask(gw, "sk-cold").content[0].text == "ok"
    finally:
        holder.close()
        moto.stop()


def test_a_missing_secret_is_a_503_with_the_reason_logged(emulator, moto, tmp_path):
    with gateway_for(emulator, tmp_path, moto.url, "chatrix-does-not-exist") as gw:
        with pytest.raises(anthropic.APIStatusError) as err:
            ask(gw, "sk-any")
        assert err.value.status_code == 503
        assert err.value.body["error"]["type"] == "api_error"
        errors = [line for line in log_lines(gw) if line["level"] == "ERROR"]
        assert any("ResourceNotFoundException" in e.get("error", "") for e in errors), errors
    record("missing", f"| The secret does not exist | {err.value.status_code} | `{err.value.body['error']['type']}` "
                      "| — | the reason is logged at ERROR |")


def test_a_malformed_secret_is_a_503_and_its_content_is_not_logged(emulator, moto, tmp_path):
    moto.secrets().create_secret(Name="chatrix-bad", SecretString="sk-leaky-not-json")
    with gateway_for(emulator, tmp_path, moto.url, "chatrix-bad") as gw:
        with pytest.raises(anthropic.APIStatusError) as err:
            ask(gw, "sk-leaky-not-json")
        assert err.value.status_code == 503
        assert err.value.body["error"]["type"] == "api_error"
        assert "sk-leaky" not in gw["log"].read_text()
    record("malformed", f"| The secret is not the expected JSON | {err.value.status_code} "
                        f"| `{err.value.body['error']['type']}` | — "
                        "| the secret's content never appears in the logs |")


def test_an_env_admin_key_that_is_also_a_secret_api_key_is_refused_not_promoted(emulator, moto, tmp_path):
    # The same string as admin key `ops` (environment) and API key `alice` (secret): used by
    # alice for a report, it must not read every key's spend.
    shared = "sk-shared-0123456789"
    arn = moto.create({"api_keys": {"alice": shared, "bob": "sk-bob-0123456789"}})
    gw_env = dict(CHATRIX_ADMIN_KEYS=f"ops:{shared}")
    with run_gateway(
        emulator,
        tmp_path,
        CHATRIX_API_KEYS=None,
        CHATRIX_API_KEY_SECRET_ID=arn,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=moto.url,
        **gw_env,
    ) as gw:
        request = urllib.request.Request(
            f"{gw['url']}/v1/organizations/cost_report?starting_at=2026-01-01T00:00:00Z",
            headers={"x-api-key": shared, "anthropic-version": "2023-06-01"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        body = json.loads(refused.value.read())
        assert body["error"]["type"] == "permission_error"
        assert "`ops`" in body["error"]["message"] and "`alice`" in body["error"]["message"]
        assert shared not in gw["log"].read_text()
        # Keys held by one role only are unaffected.
        assert ask(gw, "sk-bob-0123456789").content[0].text == "ok"
