"""`messages.count_tokens` through the official `anthropic` Python SDK (GA and beta resources).

Three models, one per link of the gateway's counting chain: one bedrock-runtime CountTokens counts
(under the bare model id), one it refuses and bedrock-mantle's `count_tokens` counts (signed for
`bedrock-mantle`, bare id in the body), and one neither counts (the gateway's local estimate).
Either way the SDK must get a positive integer, and tool definitions must raise it.
"""

import uuid

import pytest

from conftest import MODEL

# A dated `-v1:0` id: counted by bedrock-runtime CountTokens.
COUNTED_MODEL = "claude-sonnet-4-20250514"
# Launched cross-Region-only: runtime refuses it, bedrock-mantle counts it.
MANTLE_MODEL = "claude-opus-5"
# MODEL (claude-sonnet-4-6): refused by both, answered by the estimate.
MODELS = [COUNTED_MODEL, MANTLE_MODEL, MODEL]
BARE_IDS = {
    COUNTED_MODEL: "anthropic.claude-sonnet-4-20250514-v1:0",
    MANTLE_MODEL: "anthropic.claude-opus-5",
    MODEL: "anthropic.claude-sonnet-4-6",
}

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
    runtime = [r for r in emulator.requests() if r["operation"] == "CountTokens"]
    mantle = [r for r in emulator.requests() if r["operation"] == "MantleCountTokens"]
    # Every counter is asked under the bare id, never a profile id.
    assert all(r["model_id"] == BARE_IDS[model] for r in runtime + mantle), runtime + mantle
    if model == COUNTED_MODEL:
        assert len(runtime) == 1 and not mantle
    if model == MANTLE_MODEL:
        # Runtime's refusal of the model is remembered, so it may not be asked this time.
        assert len(mantle) == 1
        assert mantle[0]["body"]["model"] == BARE_IDS[model]
        assert mantle[0]["headers"]["anthropic-version"] == "2023-06-01"


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
        client.messages.count_tokens(model="gpt-imaginary-9", messages=MESSAGES)
