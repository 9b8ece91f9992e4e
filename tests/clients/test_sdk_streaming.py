"""`messages.stream()` of the official Python SDK against the running gateway (SSE).

The SDK's stream accumulator is strict about event order and required fields (message_start with
usage, content_block_start before deltas, message_delta with usage), so a pass here means the
stream is well-formed for real clients, not just parseable.
"""

import anthropic
import pytest

from conftest import MODEL

TOOLS = [
    {
        "name": "Bash",
        "description": "Run a shell command.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
            "required": ["command"],
        },
    }
]


def message_delta_usage(events) -> dict:
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(deltas) == 1
    return deltas[0].usage.model_dump()


def test_text_stream_yields_text_and_final_usage_with_cost(client):
    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Say hello."}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1, "text should arrive in several deltas"
    assert "".join(pieces) == "Hello from the Bedrock emulator."
    assert final.content[0].text == "Hello from the Bedrock emulator."
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


def test_stream_usage_carries_the_cost(client):
    with client.messages.stream(
        model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Say hello."}]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    usage = message_delta_usage(events)
    expected = (final.usage.input_tokens * 3.0 + final.usage.output_tokens * 15.0) / 1e6
    assert usage["cost"]["currency"] == "USD"
    assert usage["cost"]["total_cost"] == pytest.approx(expected, abs=1e-9)


def test_tool_use_streams_input_json(client):
    prompt = '[[emu:tool Bash {"command": "echo streamed", "description": "print"}]]'
    with client.messages.stream(
        model=MODEL, max_tokens=512, tools=TOOLS, messages=[{"role": "user", "content": prompt}]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partials = [e for e in events if e.type == "input_json"]
    assert len(partials) > 1, "tool input should arrive in several fragments"
    assert partials[-1].snapshot == {"command": "echo streamed", "description": "print"}
    call = next(b for b in final.content if b.type == "tool_use")
    assert call.name == "Bash" and call.input == {"command": "echo streamed", "description": "print"}
    assert final.stop_reason == "tool_use"


def test_thinking_streams_with_signature(client):
    with client.messages.stream(
        model=MODEL,
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Think, then answer."}],
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert any(e.type == "thinking" for e in events)
    block = final.content[0]
    assert block.type == "thinking" and block.thinking and block.signature.startswith("emu-sig-")
    assert final.content[-1].type == "text"


def test_mid_stream_failure_raises_instead_of_returning_partial_text(client):
    prompt = "[[emu:long 30]] [[emu:stream-error throttlingException after=2]]"
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": prompt}]) as stream:
            for _ in stream.text_stream:
                pass
    assert info.value.body["error"]["type"] == "rate_limit_error"


def test_truncated_upstream_raises_instead_of_returning_partial_text(client):
    prompt = "[[emu:long 30]] [[emu:truncate after=2]]"
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": prompt}]) as stream:
            stream.get_final_message()
    assert info.value.body["error"]["type"] == "api_error"
