"""An upstream with a role signs Bedrock calls with the role's credentials (issue 18), through the
running `chatrix` binary, against moto's STS server and the Bedrock emulator.

`CHATRIX_UPSTREAMS=us-east-1=<emulator>@arn:aws:iam::123456789012:role/bedrock` makes the gateway
call STS `AssumeRole` with its own (base) credentials through aws-config's `AssumeRoleProvider`
(`AWS_ENDPOINT_URL_STS` points it at moto) and sign each Bedrock call with the temporary
credentials it got back. The emulator records the access key id of every request's SigV4
`Authorization` header; the test asks moto's STS whose key that is. Needs `MOTO_SERVER_BIN`
(tests/run installs moto[server] into its own virtualenv) besides CHATRIX_BIN and EMULATOR_BIN.
"""

import os
import subprocess

import anthropic
import boto3
import pytest

from conftest import API_KEY, MODEL, _free_port, _wait_http, run_gateway

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bedrock"
BASE_KEY = "AKIDSDKTEST"  # the gateway's own credentials (conftest.run_gateway)
MODEL_CALLS = ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")


@pytest.fixture
def sts_url():
    port = _free_port()
    proc = subprocess.Popen(
        [os.environ["MOTO_SERVER_BIN"], "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/moto-api/", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def caller_arn(sts_url: str, access_key_id: str) -> str:
    """Whose key this is, by moto's STS (moto resolves a key it issued to its assumed role)."""
    sts = boto3.client("sts", endpoint_url=sts_url, region_name="us-east-1",
                       aws_access_key_id=access_key_id, aws_secret_access_key="unchecked")
    return sts.get_caller_identity()["Arn"]


def test_an_assumed_role_upstream_signs_bedrock_calls_with_the_roles_temporary_key(
        emulator, tmp_path, sts_url):
    emulator.clear()
    with run_gateway(emulator, tmp_path, CHATRIX_UPSTREAMS=f"us-east-1={emulator.url}@{ROLE}",
                     AWS_ENDPOINT_URL_STS=sts_url) as gw:
        client = anthropic.Anthropic(base_url=gw["url"], api_key=API_KEY, max_retries=0)
        raw = client.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hello"}])
        assert raw.parse().type == "message"
        assert raw.headers["x-chatrix-upstream"].startswith(f"us-east-1@{ACCOUNT}/")
        with client.messages.stream(model=MODEL, max_tokens=64,
                                    messages=[{"role": "user", "content": "again"}]) as stream:
            assert stream.get_final_message().type == "message"

    calls = [r for r in emulator.requests() if r["operation"] in MODEL_CALLS]
    assert len(calls) == 2, [r["operation"] for r in emulator.requests()]
    keys = {r.get("access_key_id") for r in calls}
    assert len(keys) == 1, f"both calls signed with the one cached role credential: {keys}"
    key = keys.pop()
    assert key is not None and key.startswith("ASIA"), f"not an STS temporary key: {key!r}"
    assert key != BASE_KEY
    assert caller_arn(sts_url, key) == f"arn:aws:sts::{ACCOUNT}:assumed-role/bedrock/chatrix"


def test_an_entry_without_a_role_signs_with_the_gateways_own_credentials(
        emulator, tmp_path, sts_url):
    emulator.clear()
    with run_gateway(emulator, tmp_path, CHATRIX_UPSTREAMS=f"us-east-1={emulator.url}",
                     AWS_ENDPOINT_URL_STS=sts_url) as gw:
        client = anthropic.Anthropic(base_url=gw["url"], api_key=API_KEY, max_retries=0)
        client.messages.create(model=MODEL, max_tokens=64,
                               messages=[{"role": "user", "content": "hello"}])
    calls = [r for r in emulator.requests() if r["operation"] in MODEL_CALLS]
    assert [r.get("access_key_id") for r in calls] == [BASE_KEY]
