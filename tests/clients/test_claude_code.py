"""Claude Code itself (the pinned npm release, run offline) against the running gateway.

Each test runs `claude -p … --output-format json` with a private HOME and asserts on Claude Code's
own JSON result, not on logs. The emulator behind the gateway decides the model's moves from
directives in the prompt, or from a queued script.
"""

import json
import os
import subprocess

import pytest

from conftest import API_KEY

CLAUDE = os.environ.get("CLAUDE_BIN", "")

pytestmark = pytest.mark.skipif(not CLAUDE, reason="CLAUDE_BIN not set (tests/run installs Claude Code)")


def claude(gateway, tmp_path, prompt: str, *extra: str) -> dict:
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
