"""`messages.count_tokens` through the official `anthropic` Python SDK (GA and beta resources).

Two models: one Bedrock CountTokens serves (counted by the emulator under the bare model id) and
one it does not (answered by the gateway's local estimate). Either way the SDK must get a positive
integer, and tool definitions must raise it.
"""

import uuid

import pytest

from conftest import MODEL

# `count_tokens: true` in the catalog; MODEL (claude-sonnet-4-6) is `false`.
COUNTED_MODEL = "claude-sonnet-4-20250514"
MODELS = [COUNTED_MODEL, MODEL]

SYSTEM = "You are a terse assistant for a harbour master."
MESSAGES = [{"role": "user", "content": "List the berths that are free after 14:00 today."}]
TOOLS = [
    {
        "name": "berth_status",
        "description": "Returns the occupancy of every berth in the harbour for a time window.",
        "input_schema": {
            "type": "object",
            "properties": {
                "from": {"type": "string", "description": "Start of the window, HH:MM."},
                "to": {"type": "string", "description": "End of the window, HH:MM."},
            },
            "required": ["from"],
        },
    },
    {
        "name": "vessel_lookup",
        "description": "Finds a vessel by name or IMO number and returns its length and draught.",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
]


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens_returns_a_positive_integer(client, emulator, model):
    emulator.clear()
    # A body of its own: the gateway caches counts, and other tests send the same messages.
    fresh = [{"role": "user", "content": f"{MESSAGES[0]['content']} (run {uuid.uuid4().hex})"}]
    result = client.messages.count_tokens(model=model, system=SYSTEM, messages=fresh)
    assert isinstance(result.input_tokens, int)
    assert result.input_tokens > 0
    called = "CountTokens" in emulator.operations()
    assert called == (model == COUNTED_MODEL)
    if called:
        counted = [r for r in emulator.requests() if r["operation"] == "CountTokens"]
        assert counted[-1]["model_id"] == "anthropic.claude-sonnet-4-20250514-v1:0"


@pytest.mark.parametrize("model", MODELS)
def test_beta_count_tokens_returns_a_positive_integer(client, model):
    result = client.beta.messages.count_tokens(
        model=model, messages=MESSAGES, betas=["token-counting-2024-11-01"]
    )
    assert isinstance(result.input_tokens, int)
    assert result.input_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_tools_make_the_count_larger(client, model):
    without = client.messages.count_tokens(model=model, system=SYSTEM, messages=MESSAGES)
    with_tools = client.messages.count_tokens(model=model, system=SYSTEM, messages=MESSAGES, tools=TOOLS)
    assert with_tools.input_tokens > without.input_tokens


def test_an_unknown_model_is_not_found(client):
    import anthropic

    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="claude-imaginary-9", messages=MESSAGES)
