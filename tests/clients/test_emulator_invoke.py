"""The emulator's native Anthropic path (InvokeModel / InvokeModelWithResponseStream) through two
independent real clients: the official `anthropic[bedrock]` client (`AnthropicBedrock`, which
rewrites Messages calls to `/model/{id}/invoke[-with-response-stream]` and signs them with SigV4)
and boto3's `bedrock-runtime` client. If both decode the emulator's bodies, headers, event-stream
chunks and exception frames, the wire format is Bedrock's.
"""

import json

import anthropic
import boto3
import botocore.exceptions
import pytest
from anthropic import AnthropicBedrock

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS_47 = "us.anthropic.claude-opus-4-7"
DEFAULT_TEXT = "Hello from the Bedrock emulator."
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CREDENTIALS = {"aws_access_key": "AKIDINVOKETEST", "aws_secret_key": "invoke-test-secret", "aws_region": "us-east-1"}


@pytest.fixture()
def client(emulator):
    emulator.clear()
    return AnthropicBedrock(base_url=emulator.url, max_retries=0, **CREDENTIALS)


@pytest.fixture()
def runtime(emulator):
    emulator.clear()
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBOTOTEST",
        aws_secret_access_key="boto-test-secret",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


def native(text: str, **extra) -> dict:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


# ---- the official Anthropic Bedrock client ----


def test_anthropic_bedrock_gets_a_text_message(client, emulator):
    message = client.messages.create(model=OPUS_47, max_tokens=256, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == DEFAULT_TEXT
    assert message.id.startswith("msg_bdrk_")
    assert message.model == "claude-opus-4-7"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    recorded = emulator.requests()[-1]
    assert recorded["operation"] == "InvokeModel"
    assert recorded["model_id"] == OPUS_47
    sent = json.loads(recorded["raw_body"])
    assert "model" not in sent and "stream" not in sent


def test_the_sdks_default_api_version_needs_a_4_7_or_later_model(client, emulator):
    # This SDK release sends its own API version (2026-10-21) through Bedrock too; ARN-versioned
    # models refuse it (NATIVE §1.3), so callers of older models must pin the Bedrock one.
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(model=SONNET, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert "Invalid API version: 2026-10-21" in str(refused.value)
    pinned = client.messages.create(
        model=SONNET,
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"anthropic_version": "bedrock-2023-05-31"},
    )
    assert pinned.content[0].text == DEFAULT_TEXT
    assert json.loads(emulator.requests()[-1]["raw_body"])["anthropic_version"] == "bedrock-2023-05-31"


def test_anthropic_bedrock_streams_a_tool_call(client, emulator):
    with client.messages.stream(
        model=OPUS_47,
        max_tokens=256,
        tools=[WEATHER],
        messages=[{"role": "user", "content": '[[emu:tool get_weather {"city": "Lima", "units": "metric"}]]'}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert "ping" not in kinds
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.stop_reason == "tool_use"
    call = final.content[0]
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "Lima", "units": "metric"}
    assert emulator.operations()[-1] == "InvokeModelWithResponseStream"


def test_anthropic_bedrock_thinking_round_trips_its_signature(client):
    first = client.messages.create(
        model=OPUS_47,
        max_tokens=1024,
        thinking={"type": "adaptive"},
        tools=[WEATHER],
        messages=[{"role": "user", "content": '[[emu:tool get_weather {"city": "Kyiv"}]]'}],
    )
    thinking, call = first.content[0], first.content[1]
    assert thinking.type == "thinking" and thinking.signature.startswith("emu-sig-")
    second = client.messages.create(
        model=OPUS_47,
        max_tokens=1024,
        thinking={"type": "adaptive"},
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": '[[emu:tool get_weather {"city": "Kyiv"}]]'},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "-2 C"}]},
        ],
    )
    assert second.content[-1].text == "Tool result: -2 C"


def test_anthropic_bedrock_sees_bedrock_validation_errors(client):
    with pytest.raises(anthropic.BadRequestError) as refused:
        client.messages.create(
            model=OPUS_47,
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "thinking.type.enabled" in str(refused.value)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(
            model=OPUS_47, max_tokens=64, messages=[{"role": "user", "content": "[[emu:error ThrottlingException]]"}]
        )


def test_anthropic_bedrock_raises_on_an_exception_frame(client):
    # The Bedrock client turns any exception frame into an exception (NATIVE §3.4), never a
    # silently short message.
    with pytest.raises(Exception):
        with client.messages.stream(
            model=OPUS_47,
            max_tokens=256,
            messages=[{"role": "user", "content": "[[emu:stream-error throttlingException after=1]] [[emu:long 30]]"}],
        ) as stream:
            for _ in stream:
                pass


# ---- boto3 ----


def test_boto3_invoke_model_returns_the_message_and_token_headers(runtime):
    response = runtime.invoke_model(
        modelId=SONNET, contentType="application/json", accept="application/json", body=json.dumps(native("hi"))
    )
    message = json.loads(response["body"].read())
    assert message["content"] == [{"type": "text", "text": DEFAULT_TEXT}]
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == message["usage"]["input_tokens"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == message["usage"]["output_tokens"]
    assert "x-amzn-bedrock-invocation-latency" in headers


def test_boto3_stream_chunks_decode_to_anthropic_events_with_metrics(runtime):
    response = runtime.invoke_model_with_response_stream(
        modelId=SONNET, contentType="application/json", body=json.dumps(native("[[emu:text one two three four]]"))
    )
    events = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "one two three four"
    assert set(events[-2]["usage"]) == {"output_tokens"}
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == events[-2]["usage"]["output_tokens"]
    assert {"inputTokenCount", "invocationLatency", "firstByteLatency", "cacheReadInputTokenCount",
            "cacheWriteInputTokenCount"} <= set(metrics)


def test_boto3_sees_exception_frames_and_validation_errors(runtime):
    response = runtime.invoke_model_with_response_stream(
        modelId=SONNET,
        contentType="application/json",
        body=json.dumps(native("[[emu:stream-error modelStreamErrorException after=2]] [[emu:long 30]]")),
    )
    with pytest.raises(botocore.exceptions.EventStreamError) as frame:
        for _ in response["body"]:
            pass
    assert frame.value.response["Error"]["Code"] == "modelStreamErrorException"
    with pytest.raises(runtime.exceptions.ValidationException) as refused:
        runtime.invoke_model(modelId=SONNET, contentType="application/json", body=json.dumps(native("hi", stream=True)))
    assert "extraneous key [stream] is not permitted" in str(refused.value)
    with pytest.raises(runtime.exceptions.ValidationException) as refused:
        runtime.invoke_model(modelId=SONNET, contentType="text/plain", body=json.dumps(native("hi")))
    assert "Content Type is invalid" in str(refused.value)
