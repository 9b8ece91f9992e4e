"""boto3's `bedrock-runtime` client against the gateway's Bedrock pass-through routes
(`endpoint_url` = the gateway): an independent AWS SDK decodes our event-stream frames, headers,
errors and the inference-profile listing. Requests are unsigned and carry the gateway key in
`x-api-key` (botocore sends `AWS_BEARER_TOKEN_BEDROCK` only to HTTPS endpoints).
"""

import json

import boto3
import botocore
import botocore.config
import botocore.exceptions
import pytest

from conftest import API_KEY

MODEL = "us.anthropic.claude-opus-4-6-v1"


def body(text: str) -> str:
    return json.dumps({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
    })


def client(service: str, gateway, token: str = API_KEY):
    made = boto3.client(
        service,
        endpoint_url=gateway["url"],
        region_name="us-east-1",
        config=botocore.config.Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}),
    )

    def add_key(request, **_):
        request.headers["x-api-key"] = token

    made.meta.events.register("before-send.*.*", add_key)
    return made


def test_boto3_streams_an_answer_through_the_gateway(gateway, emulator):
    emulator.clear()
    runtime = client("bedrock-runtime", gateway)
    out = runtime.invoke_model_with_response_stream(modelId=MODEL, body=body("[[emu:text salt and pepper]]"))
    assert out["contentType"] == "application/json"
    events = [json.loads(e["chunk"]["bytes"]) for e in out["body"]]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == "salt and pepper"
    assert events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] > 0
    assert emulator.requests()[-1]["operation"] == "InvokeModelWithResponseStream"


def test_boto3_invokes_and_sees_the_cost_header(gateway, emulator):
    runtime = client("bedrock-runtime", gateway)
    out = runtime.invoke_model(modelId=MODEL, body=body("[[emu:text one line]]"))
    message = json.loads(out["body"].read())
    assert message["content"][-1]["text"] == "one line"
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert float(headers["x-chatrix-cost-usd"]) > 0
    assert out["ResponseMetadata"]["RequestId"].startswith("req_")


def test_boto3_reads_bedrocks_errors_and_exception_frames(gateway, emulator):
    runtime = client("bedrock-runtime", gateway)
    with pytest.raises(runtime.exceptions.ThrottlingException):
        runtime.invoke_model(modelId=MODEL, body=body("[[emu:error ThrottlingException]]"))
    emulator.push_script({"content": [{"text": "this breaks off part-way"}], "stream_error_after": 1,
                          "error": {"type": "ServiceUnavailableException"}})
    out = runtime.invoke_model_with_response_stream(modelId=MODEL, body=body("hi"))
    with pytest.raises(botocore.exceptions.EventStreamError) as broken:
        for _ in out["body"]:
            pass
    assert broken.value.response["Error"]["Code"] == "serviceUnavailableException"


def test_a_wrong_key_is_refused(gateway):
    runtime = client("bedrock-runtime", gateway, token="sk-not-a-key")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        runtime.invoke_model(modelId=MODEL, body=body("hi"))
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401


def test_boto3_lists_and_gets_inference_profiles(gateway):
    control = client("bedrock", gateway)
    listed = control.list_inference_profiles(typeEquals="SYSTEM_DEFINED")["inferenceProfileSummaries"]
    assert "global.anthropic.claude-opus-5-5" in {p["inferenceProfileId"] for p in listed}
    one = control.get_inference_profile(inferenceProfileIdentifier="us.anthropic.claude-opus-5-5")
    assert one["models"][0]["modelArn"].endswith("/anthropic.claude-opus-5-5")
