"""Claude Code itself (the pinned npm release, run offline) against the running gateway.

Each test runs `claude -p … --output-format json` with a private HOME and asserts on Claude Code's
own JSON result. The model-discovery tests also read what Claude Code cached and the gateway's
request log (method, path, status; never content). The emulator behind the gateway decides the
model's moves from directives in the prompt, or from a queued script.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import API_KEY

CLAUDE = os.environ.get("CLAUDE_BIN", "")
CATALOG = json.loads((Path(__file__).resolve().parents[2] / "src" / "models.json").read_text())["models"]

pytestmark = pytest.mark.skipif(not CLAUDE, reason="CLAUDE_BIN not set (tests/run installs Claude Code)")


def claude(gateway, tmp_path, prompt: str, *extra: str, env_changes: dict | None = None) -> dict:
    """Runs `claude -p`; `env_changes` adds variables, or removes those mapped to None."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": gateway["url"],
        "ANTHROPIC_AUTH_TOKEN": API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    done = subprocess.run(
        [CLAUDE, "-p", prompt, "--output-format", "json", *extra],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip(), f"no output (rc={done.returncode}): {done.stderr[-2000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, result
    return result


def test_plain_answer(gateway, emulator, tmp_path):
    result = claude(gateway, tmp_path, "say hi")
    assert result["is_error"] is False
    assert result["result"] == "Hello from the Bedrock emulator."
    assert result["usage"]["output_tokens"] > 0


def test_tool_loop_runs_bash_and_answers_with_its_output(gateway, emulator, tmp_path):
    emulator.clear()
    prompt = '[[emu:tool Bash {"command": "echo chatrix-tool-$((40+2))", "description": "print a marker"}]]'
    result = claude(gateway, tmp_path, prompt, "--allowedTools", "Bash")
    assert result["is_error"] is False
    assert result["num_turns"] == 2
    # The shell computed 42: the text can only come from running the tool.
    assert result["result"] == "Tool result: chatrix-tool-42"
    assert emulator.operations().count("ConverseStream") == 2


def test_mid_stream_error_falls_back_to_a_non_streaming_request(gateway, emulator, tmp_path):
    emulator.clear()
    emulator.push_script(
        {"content": [{"text": "this stream breaks off part-way through"}], "stream_error_after": 1,
         "error": {"type": "ServiceUnavailableException"}, "times": 1}
    )
    result = claude(gateway, tmp_path, "say hi")
    assert result["is_error"] is False
    assert result["result"] == "Hello from the Bedrock emulator."
    ops = emulator.operations()
    assert ops[0] == "ConverseStream" and "Converse" in ops[1:], ops


def _new_log_lines(gateway, start: int) -> list:
    """The gateway's JSON log records written since byte offset `start`."""
    with open(gateway["log"], "rb") as f:
        f.seek(start)
        text = f.read().decode()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _model_list_calls(records: list) -> list:
    return [r for r in records if r.get("method") == "GET" and r.get("path") == "/v1/models"]


def test_gateway_model_discovery_caches_the_catalogs_claude_models(gateway, tmp_path):
    """With `CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1`, Claude Code fetches our model list.

    What 2.1.197 does (read from its bundled source, confirmed by this test): at start-up, also in
    `-p` mode, it sends `GET $ANTHROPIC_BASE_URL/v1/models?limit=1000` (Bearer token from
    `ANTHROPIC_AUTH_TOKEN`, else `x-api-key`; `anthropic-version: 2023-06-01`; 3 s timeout), keeps
    the ids matching /^(claude|anthropic)/i with their `display_name`, and writes
    `{"baseUrl","fetchedAt","models":[{"id","display_name"}]}` to
    `$CLAUDE_CONFIG_DIR/cache/gateway-models.json` for its model picker.

    Extra conditions besides the variable: `ANTHROPIC_BASE_URL` set and not api.anthropic.com, the
    first-party provider (no `CLAUDE_CODE_USE_BEDROCK`/`_VERTEX`/...), not `--bare`, and
    `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC` unset: that variable alone switches discovery off
    (`DISABLE_TELEMETRY`, kept here, does not). Without internet access the other non-essential
    calls fail fast; the helper's timeout turns a hang into a failure.

    The gateway's log line has the path but not the query string, so `limit=1000` itself is not
    checked here; the complete cache shows the page held every model.
    """
    config_dir = tmp_path / "claude-config"
    log_start = gateway["log"].stat().st_size
    result = claude(
        gateway,
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

    cache = json.loads((config_dir / "cache" / "gateway-models.json").read_text())
    assert cache["baseUrl"] == gateway["url"]
    claude_models = {m["id"]: m["display_name"] for m in CATALOG if re.match(r"(claude|anthropic)", m["id"], re.I)}
    assert claude_models, "the catalog has no Claude models"
    assert {m["id"]: m.get("display_name") for m in cache["models"]} == claude_models


def test_no_model_discovery_while_nonessential_traffic_is_disabled(gateway, tmp_path):
    """The same run with `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` never calls /v1/models."""
    config_dir = tmp_path / "claude-config"
    log_start = gateway["log"].stat().st_size
    result = claude(
        gateway,
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
    assert _model_list_calls(records) == []
    assert not (config_dir / "cache" / "gateway-models.json").exists()
