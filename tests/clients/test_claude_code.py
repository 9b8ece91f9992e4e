"""Claude Code itself (each pinned npm release, run offline) against the running gateway.

tests/run runs this file once per pinned release (`CLAUDE_BIN`); expectations that differ between
releases are keyed by `claude --version`. Each test runs `claude -p … --output-format json` with a
private HOME and no model settings, through a recording proxy (`recorder.py`) in front of the
gateway, and asserts on Claude Code's own JSON result, on what Claude Code sent (the proxy), on
what reached Bedrock (the emulator's request log) and, for model discovery, on what Claude Code
cached and the gateway's request log (method, path, status; never content). The emulator behind
the gateway decides the model's moves from directives in the prompt, or from a queued script.
"""

import json
import re
from pathlib import Path

import pytest

from claude_code import (
    CLAUDE,
    DEFAULT_MODELS,
    JSON_OPS,
    STREAMING_OPS,
    claude,
    messages_calls,
    save_recording,
    signatures,
    version,
)
from conftest import API_KEY
from recorder import Recorder

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "src" / "models.json").read_text())["models"]

pytestmark = pytest.mark.skipif(not CLAUDE, reason="CLAUDE_BIN not set (tests/run installs Claude Code)")


@pytest.fixture(scope="session")
def recorder(gateway):
    rec = Recorder(gateway["url"])
    yield rec
    rec.close()


@pytest.fixture(autouse=True)
def recording(recorder, emulator, request, tmp_path):
    """Each test starts with empty logs; its requests are saved when recording fixtures."""
    recorder.clear()
    emulator.clear()
    yield recorder
    save_recording(request.node.name, tmp_path, recorder.records())


def default_model() -> str:
    v = version()
    assert v in DEFAULT_MODELS, f"Claude Code {v}: add its default model to claude_code.DEFAULT_MODELS"
    return DEFAULT_MODELS[v]


def assert_default_model_served(recorder, emulator, calls: int):
    """Claude Code asked for its default model `calls` times, and Bedrock got that model's id."""
    model = default_model()
    sent = [r["body"]["model"] for r in messages_calls(recorder.records())]
    assert sent == [model] * calls, sent
    entry = next((m for m in CATALOG if m["id"] == model or model in m.get("aliases", [])), None)
    assert entry, f"the catalog has no entry for Claude Code's default model {model}"
    called = {r["model_id"] for r in emulator.requests() if r["operation"] != "CountTokens"}
    # Profile-only models are called as `<geo>.<bedrock id>`.
    assert called and all(re.fullmatch(rf"([a-z]+\.)?{re.escape(entry['bedrock_id'])}", m) for m in called), called


def test_plain_answer_with_the_default_model(recorder, emulator, tmp_path):
    result = claude(recorder.url, tmp_path, "say hi")
    assert result["is_error"] is False
    assert result["result"] == "Hello from the Bedrock emulator."
    assert result["usage"]["output_tokens"] > 0
    assert_default_model_served(recorder, emulator, calls=1)


def test_tool_loop_runs_bash_and_answers_with_its_output(recorder, emulator, tmp_path):
    prompt = '[[emu:tool Bash {"command": "echo chatrix-tool-$((40+2))", "description": "print a marker"}]]'
    result = claude(recorder.url, tmp_path, prompt, "--allowedTools", "Bash")
    assert result["is_error"] is False
    assert result["num_turns"] == 2
    # The shell computed 42: the text can only come from running the tool.
    assert result["result"] == "Tool result: chatrix-tool-42"
    assert sum(op in STREAMING_OPS for op in emulator.operations()) == 2
    assert_default_model_served(recorder, emulator, calls=2)


def test_signed_thinking_is_carried_back_over_several_tool_turns(recorder, emulator, tmp_path):
    """Three turns of signed reasoning + Bash: each request carries every earlier signature back.

    The emulator issues a fresh `emu-sig-…` signature per reasoning block; Claude Code must return
    them unchanged in its history, and the gateway must pass them on to Bedrock.
    """
    turns = 3
    for i in range(turns):
        emulator.push_script({
            "content": [
                {"thinking": {"text": f"Turn {i}: the next step is a shell command."}},
                {"text": f"Running step {i}."},
                {"tool": {"name": "Bash", "input": {"command": f"echo step-{i}-$(({i}*7))", "description": f"step {i}"}}},
            ],
            "stop_reason": "tool_use",
        })
    result = claude(recorder.url, tmp_path, "Work through the steps.", "--allowedTools", "Bash")
    assert result["is_error"] is False, result
    assert result["num_turns"] == turns + 1
    assert result["result"] == f"Tool result: step-{turns - 1}-{(turns - 1) * 7}"

    sent = [signatures(r["body"]["messages"]) for r in messages_calls(recorder.records())]
    assert len(sent) == turns + 1, sent
    issued = sent[-1]
    assert len(issued) == turns and len(set(issued)) == turns, issued
    assert all(s.startswith("emu-sig-") for s in issued), issued
    # Request k carries the signatures of turns 0..k-1, in order.
    assert sent == [issued[:k] for k in range(turns + 1)], sent
    reached = [signatures(r["body"]["messages"]) for r in emulator.requests() if r["operation"] != "CountTokens"]
    assert reached == sent, reached


def test_mid_stream_error_falls_back_to_a_non_streaming_request(recorder, emulator, tmp_path):
    emulator.push_script(
        {"content": [{"text": "this stream breaks off part-way through"}], "stream_error_after": 1,
         "error": {"type": "ServiceUnavailableException"}, "times": 1}
    )
    result = claude(recorder.url, tmp_path, "say hi")
    assert result["is_error"] is False
    assert result["result"] == "Hello from the Bedrock emulator."
    ops = emulator.operations()
    assert ops[0] in STREAMING_OPS and any(op in JSON_OPS for op in ops[1:]), ops
    calls = messages_calls(recorder.records())
    assert calls[0]["body"]["stream"] is True and calls[-1]["body"].get("stream") is not True, calls


def test_context_command_counts_tokens_through_the_gateway(recorder, tmp_path):
    """`/context` (also in `-p` mode) sends a burst of count_tokens calls, one per prompt part and
    tool, with the default model; every one must be answered."""
    result = claude(recorder.url, tmp_path, "/context")
    assert result["is_error"] is False, result
    sent = recorder.records()
    counts = [r for r in sent if r["path"].split("?")[0] == "/v1/messages/count_tokens"]
    assert len(counts) >= 5, [(r["method"], r["path"]) for r in sent]
    assert all(r["path"].endswith("?beta=true") and r["status"] == 200 for r in counts), counts
    assert {r["body"]["model"] for r in counts} == {default_model()}
    assert messages_calls(sent) == []


def _new_log_lines(gateway, start: int) -> list:
    """The gateway's JSON log records written since byte offset `start`."""
    with open(gateway["log"], "rb") as f:
        f.seek(start)
        text = f.read().decode()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _model_list_calls(records: list) -> list:
    return [r for r in records if r.get("method") == "GET" and r.get("path") == "/v1/models"]


# Start-up probes whose answer Claude Code ignores: 2.1.197 sends `HEAD /` on every start, 2.1.332
# `HEAD /api/hello` only while non-essential traffic is allowed. The gateway answers 200 and 404;
# both releases carry on.
PREFLIGHTS = {("HEAD", "/"), ("HEAD", "/api/hello")}

# Whether `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` also switches gateway model discovery off.
DISCOVERY_OFF_WITHOUT_NONESSENTIAL = {"2.1.197": True, "2.1.332": False}


def test_gateway_model_discovery_caches_the_catalogs_claude_models(gateway, recorder, tmp_path):
    """With `CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1`, Claude Code fetches our model list.

    What 2.1.197 does (read from its bundled source, confirmed by this test; 2.1.332 the same, see
    the next test for the one difference): at start-up, also in `-p` mode, it sends
    `GET $ANTHROPIC_BASE_URL/v1/models?limit=1000` (Bearer token from `ANTHROPIC_AUTH_TOKEN`, else
    `x-api-key`; `anthropic-version: 2023-06-01`; 3 s timeout), keeps the ids matching
    /^(claude|anthropic)/i with their `display_name`, and writes
    `{"baseUrl","fetchedAt","models":[{"id","display_name"}]}` to
    `$CLAUDE_CONFIG_DIR/cache/gateway-models.json` for its model picker.

    Extra conditions besides the variable: `ANTHROPIC_BASE_URL` set and not api.anthropic.com, the
    first-party provider (no `CLAUDE_CODE_USE_BEDROCK`/`_VERTEX`/...), not `--bare`. Without
    internet access the other non-essential calls fail fast; the helper's timeout turns a hang into
    a failure. The gateway's log has no query string; the recording proxy shows `limit=1000`.
    """
    config_dir = tmp_path / "claude-config"
    log_start = gateway["log"].stat().st_size
    result = claude(
        recorder.url,
        tmp_path,
        "say hi",
        env_changes={
            "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": None,
            "CLAUDE_CONFIG_DIR": str(config_dir),
        },
    )
    assert result["is_error"] is False
    assert result["result"] == "Hello from the Bedrock emulator."

    calls = _model_list_calls(_new_log_lines(gateway, log_start))
    assert len(calls) == 1, calls
    assert calls[0]["status"] == 200 and calls[0]["key"] == "sdk", calls[0]
    sent = [(r["method"], r["path"], r["status"]) for r in recorder.records()]
    assert ("GET", "/v1/models?limit=1000", 200) in sent, sent
    assert all(s == 200 for m, p, s in sent if (m, p) not in PREFLIGHTS), sent

    cache = json.loads((config_dir / "cache" / "gateway-models.json").read_text())
    assert cache["baseUrl"] == recorder.url
    claude_models = {m["id"]: m["display_name"] for m in CATALOG if re.match(r"(claude|anthropic)", m["id"], re.I)}
    assert claude_models, "the catalog has no Claude models"
    assert {m["id"]: m.get("display_name") for m in cache["models"]} == claude_models


def test_model_discovery_while_nonessential_traffic_is_disabled(gateway, recorder, tmp_path):
    """The same run with `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`: 2.1.197 never calls
    /v1/models, while 2.1.332 still does (there, the discovery variable alone decides)."""
    v = version()
    assert v in DISCOVERY_OFF_WITHOUT_NONESSENTIAL, f"Claude Code {v}: add it to DISCOVERY_OFF_WITHOUT_NONESSENTIAL"
    config_dir = tmp_path / "claude-config"
    log_start = gateway["log"].stat().st_size
    result = claude(
        recorder.url,
        tmp_path,
        "say hi",
        env_changes={
            "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1",
            "CLAUDE_CONFIG_DIR": str(config_dir),
        },
    )
    assert result["is_error"] is False
    records = _new_log_lines(gateway, log_start)
    assert any(r.get("path") == "/v1/messages" for r in records), "the run reached the gateway"
    cache = config_dir / "cache" / "gateway-models.json"
    if DISCOVERY_OFF_WITHOUT_NONESSENTIAL[v]:
        assert _model_list_calls(records) == []
        assert not cache.exists()
    else:
        assert [r["status"] for r in _model_list_calls(records)] == [200]
        assert json.loads(cache.read_text())["baseUrl"] == recorder.url


# ---- Bedrock pass-through mode (CLAUDE_CODE_USE_BEDROCK=1 against the gateway) ----

# Each release runs on its own default Bedrock model (no `ANTHROPIC_MODEL`): for 2.1.332 that is
# Opus 5.5, whose body carries `interleaved-thinking` and `thinking-token-count`, betas the catalog
# lists for the 5.x models because Claude Code's own Bedrock mode sends them (docs/models.md).
MODEL_PREFIX = "anthropic.claude-"


def bedrock_env(base_url: str, **credential) -> dict:
    """Bedrock mode pointed at the gateway, without SigV4; `credential` carries the gateway key."""
    return {
        "ANTHROPIC_BASE_URL": None,
        "ANTHROPIC_AUTH_TOKEN": None,
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": base_url,
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
        "AWS_REGION": "us-east-1",
        **credential,
    }


def bedrock_calls(records: list) -> list:
    return [r for r in records if r["method"] == "POST" and r["path"].startswith("/model/")]


def test_bedrock_mode_gets_a_plain_answer_with_the_key_as_a_bearer_token(recorder, emulator, tmp_path):
    """`AWS_BEARER_TOKEN_BEDROCK` becomes `Authorization: Bearer` on the runtime calls; the
    control-plane listing (`GET /inference-profiles`) carries no credential and is answered."""
    env = bedrock_env(recorder.url, AWS_BEARER_TOKEN_BEDROCK=API_KEY)
    result = claude(recorder.url, tmp_path, "say hi", env_changes=env)
    assert result["is_error"] is False, result
    assert result["result"] == "Hello from the Bedrock emulator."
    sent = recorder.records()
    listing = [r for r in sent if r["path"].startswith("/inference-profiles")]
    assert listing and all(r["status"] == 200 and "authorization" not in r["headers"] for r in listing), listing
    calls = bedrock_calls(sent)
    assert [r["status"] for r in calls] == [200], [(r["path"], r["status"]) for r in calls]
    assert calls[0]["path"].endswith("/invoke-with-response-stream"), calls[0]["path"]
    assert calls[0]["headers"]["authorization"] == "Bearer [scrubbed]"
    # The body reached Bedrock as Claude Code wrote it: Bedrock's own fields, no `model`.
    reached = emulator.last_invoke_body()
    assert reached["anthropic_version"] == "bedrock-2023-05-31" and "model" not in reached
    assert calls[0]["body"] == reached
    model_ids = {r["model_id"] for r in emulator.requests()}
    assert len(model_ids) == 1 and MODEL_PREFIX in model_ids.pop(), emulator.requests()


def test_bedrock_mode_runs_a_tool_loop_with_the_key_in_a_custom_header(recorder, emulator, tmp_path):
    """`ANTHROPIC_CUSTOM_HEADERS` carries `x-api-key`; Bash runs and its output comes back.

    2.1.332 runs with thinking on. 2.1.197 runs with it off (`MAX_THINKING_TOKENS=0`): in Bedrock
    mode it sends the tool turn back without the thinking block that preceded it, which Bedrock
    (and the emulator) refuse.
    """
    prompt = '[[emu:tool Bash {"command": "echo chatrix-tool-$((40+2))", "description": "print a marker"}]]'
    thinking_off = {"MAX_THINKING_TOKENS": "0"} if version() == "2.1.197" else {}
    env = bedrock_env(recorder.url, ANTHROPIC_CUSTOM_HEADERS=f"x-api-key: {API_KEY}", **thinking_off)
    result = claude(recorder.url, tmp_path, prompt, "--allowedTools", "Bash", env_changes=env)
    assert result["is_error"] is False, result
    assert result["num_turns"] == 2
    # In Bedrock mode Claude Code appends a token-budget reminder to the tool result it sends back.
    assert result["result"].startswith("Tool result: chatrix-tool-42"), result["result"]
    calls = bedrock_calls(recorder.records())
    assert [r["status"] for r in calls] == [200, 200], [(r["path"], r["status"]) for r in calls]
    assert all(r["headers"]["x-api-key"] == "[scrubbed]" for r in calls)
    assert sum(op == "InvokeModelWithResponseStream" for op in emulator.operations()) == 2
