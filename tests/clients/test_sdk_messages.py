"""The official `anthropic` Python SDK against the running gateway (non-streaming calls).

Runs unchanged under one 2.x and one 0.x release of the SDK (they differ in auth header, version
header and error classes). The emulator answers from directives written in the prompt
(`[[emu:...]]`), so every expectation below follows from the request, not from a canned reply.
"""

import base64
import json
import struct
import urllib.error
import urllib.request
import zlib

import anthropic
import pytest

from conftest import API_KEY, CONVERSE, MODEL

# USD per million tokens for MODEL in the embedded catalog (global profile).
PRICE_IN, PRICE_OUT = 3.0, 15.0


def tiny_png() -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00"  # one red pixel, filter byte 0
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def test_create_returns_text_usage_and_cost(client):
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Say hello."}]
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the Bedrock emulator."
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    body = raw.http_response.json()
    cost = body["usage"]["cost"]
    expected = (message.usage.input_tokens * PRICE_IN + message.usage.output_tokens * PRICE_OUT) / 1e6
    assert cost["currency"] == "USD"
    assert cost["total_cost"] == pytest.approx(expected, abs=1e-9)
    assert cost["input_cost"] + cost["output_cost"] == pytest.approx(cost["total_cost"], abs=1e-9)
    assert float(raw.headers["x-chatrix-cost-usd"]) == pytest.approx(expected, abs=1e-9)
    assert raw.headers["request-id"].startswith("req_")


def test_bearer_and_x_api_key_both_authenticate(gateway):
    by_header = anthropic.Anthropic(base_url=gateway["url"], api_key=API_KEY, max_retries=0)
    by_token = anthropic.Anthropic(base_url=gateway["url"], auth_token=API_KEY, api_key=None, max_retries=0)
    for client in (by_header, by_token):
        m = client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        assert m.content[0].text


def test_beta_messages_path_with_query_string_works(client):
    m = client.beta.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[{"role": "user", "content": "hi"}],
        betas=["interleaved-thinking-2025-05-14", "claude-code-20250219"],
    )
    assert m.content[0].type == "text"


def test_tool_use_round_trip(client, emulator):
    tools = [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["city"],
            },
        }
    ]
    first_turn = {"role": "user", "content": '[[emu:tool get_weather {"city": "Paris", "unit": "c"}]]'}
    m = client.messages.create(model=MODEL, max_tokens=512, tools=tools, messages=[first_turn])
    assert m.stop_reason == "tool_use"
    call = next(b for b in m.content if b.type == "tool_use")
    assert call.name == "get_weather"
    assert call.input == {"city": "Paris", "unit": "c"}

    if CONVERSE:
        sent_tools = emulator.last_converse_body()["toolConfig"]["tools"]
        assert list(sent_tools[0]["toolSpec"]["inputSchema"]["json"]["properties"]) == ["city", "unit"]
    else:
        assert emulator.last_invoke_body()["tools"] == tools

    follow_up = client.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=tools,
        messages=[
            first_turn,
            {"role": "assistant", "content": m.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}]},
        ],
    )
    assert follow_up.stop_reason == "end_turn"
    assert "18 C and sunny" in follow_up.content[0].text


def test_system_blocks_with_cache_control_become_cache_points(client, emulator):
    system = [{"type": "text", "text": "You are terse. " * 50, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": "hi"}]
    first = client.messages.create(model=MODEL, max_tokens=64, system=system, messages=messages)
    if CONVERSE:
        sent = emulator.last_converse_body()["system"]
        assert sent[0]["text"].startswith("You are terse.")
        assert "cachePoint" in sent[1]
    else:
        assert emulator.last_invoke_body()["system"] == system
    second = client.messages.create(model=MODEL, max_tokens=64, system=system, messages=messages)
    assert (first.usage.cache_creation_input_tokens or 0) + (first.usage.cache_read_input_tokens or 0) > 0
    assert (second.usage.cache_read_input_tokens or 0) > 0


def test_image_blocks_reach_bedrock_as_png(client, emulator):
    m = client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": tiny_png()}},
                    {"type": "text", "text": "What colour is this pixel?"},
                ],
            }
        ],
    )
    assert m.content[0].text
    if CONVERSE:
        content = emulator.last_converse_body()["messages"][0]["content"]
        assert content[0]["image"]["format"] == "png"
        assert content[0]["image"]["source"]["bytes"] == tiny_png()
    else:
        source = emulator.last_invoke_body()["messages"][0]["content"][0]["source"]
        assert source == {"type": "base64", "media_type": "image/png", "data": tiny_png()}


def test_stop_sequence_is_reported_and_not_included(client):
    m = client.messages.create(
        model=MODEL,
        max_tokens=64,
        stop_sequences=["STOP"],
        messages=[{"role": "user", "content": "[[emu:text one two STOP three]]"}],
    )
    assert m.stop_reason == "stop_sequence"
    assert m.stop_sequence == "STOP"
    assert "STOP" not in m.content[0].text and "three" not in m.content[0].text


@pytest.mark.parametrize(
    "exception, error_cls, status, kind",
    [
        ("ThrottlingException", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("ServiceUnavailableException", anthropic.APIStatusError, 529, "overloaded_error"),
        ("AccessDeniedException", anthropic.PermissionDeniedError, 403, "permission_error"),
        ("UnrecognizedClientException", anthropic.InternalServerError, 500, "api_error"),
        ("ModelTimeoutException", anthropic.APIStatusError, 504, "timeout_error"),
    ],
)
def test_bedrock_errors_map_to_anthropic_errors(client, exception, error_cls, status, kind):
    with pytest.raises(error_cls) as info:
        client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": f"[[emu:error {exception}]]"}]
        )
    err = info.value
    assert err.status_code == status
    assert err.body["error"]["type"] == kind
    assert err.request_id and err.request_id.startswith("req_")
    if status == 429:
        assert err.response.headers.get("retry-after")


def test_input_too_long_is_a_400_clients_compact_on(client):
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "[[emu:error ValidationException]]"}]
        )
    message = info.value.body["error"]["message"]
    if CONVERSE:
        assert message.startswith("prompt is too long")
    else:
        # Bedrock's own words, unmodified on the native path; Claude Code compacts on them too.
        assert message == "Input is too long for requested model."


def test_wrong_key_is_401(gateway):
    bad = anthropic.Anthropic(base_url=gateway["url"], api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["error"]["type"] == "authentication_error"


def test_unknown_model_is_404(client):
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="gpt-imaginary-9", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert "gpt-imaginary-9" in info.value.body["error"]["message"]


def test_a_claude_name_bedrock_does_not_know_is_404_in_bedrocks_words(client):
    # Served by the launch-day naming rule (global.anthropic.claude-imaginary-9); the emulator,
    # like Bedrock, does not know it.
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="claude-imaginary-9", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["error"]["message"] == "The provided model identifier is invalid."


def test_mistyped_field_is_400_naming_the_field(gateway):
    req = urllib.request.Request(
        f"{gateway['url']}/v1/messages",
        data=json.dumps({"model": MODEL, "max_tokens": "lots", "messages": []}).encode(),
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 400
    body = json.load(info.value)
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    assert body["request_id"] == info.value.headers["request-id"]


def test_logs_never_contain_keys_or_prompts(client, gateway):
    secret_prompt = "purple-elephant-7731"
    client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": secret_prompt}])
    text = gateway["log"].read_text()
    assert '"request"' in text or "request" in text
    assert API_KEY not in text
    assert secret_prompt not in text
