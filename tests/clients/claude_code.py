"""Running Claude Code (`claude -p`) against the gateway, for test_claude_code.py and its recorder.

`CLAUDE_BIN` names the binary; tests/run runs the Claude Code tests once per pinned version. Every
run goes through a `recorder.Recorder` in front of the gateway, so tests can assert on what Claude
Code itself sent. With `CHATRIX_CC_RECORD_DIR` set, each test also writes what it recorded (raw,
with local paths, for tests/clients/record_claude_code.py to scrub) to `<dir>/<test name>.json`.
"""

import json
import os
import subprocess
from pathlib import Path

from conftest import API_KEY

CLAUDE = os.environ.get("CLAUDE_BIN", "")

# The model each pinned release asks for when given no `--model` and no model variables.
DEFAULT_MODELS = {"2.1.197": "claude-opus-4-8", "2.1.332": "claude-opus-5-5"}

STREAMING_OPS = ("ConverseStream", "InvokeModelWithResponseStream")
JSON_OPS = ("Converse", "InvokeModel")


def version() -> str:
    """`2.1.332` for a binary that prints `2.1.332 (Claude Code)`."""
    out = subprocess.run([CLAUDE, "--version"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.split()[0]


def claude(base_url: str, tmp_path: Path, prompt: str, *extra: str, env_changes: dict | None = None) -> dict:
    """Runs `claude -p` with a private HOME and no model settings; returns its JSON result.

    `env_changes` adds variables, or removes those mapped to None.
    """
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
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


def save_recording(name: str, tmp_path: Path, records: list) -> None:
    """Writes `records` for the fixture recorder when `CHATRIX_CC_RECORD_DIR` is set."""
    out = os.environ.get("CHATRIX_CC_RECORD_DIR")
    if not out:
        return
    raw = {"version": version(), "test": name, "tmp": str(tmp_path), "records": records}
    Path(out, f"{name}.json").write_text(json.dumps(raw, indent=1))


def messages_calls(records: list) -> list:
    """The recorded `POST /v1/messages` requests (any query string), in order."""
    return [r for r in records if r["method"] == "POST" and r["path"].split("?")[0] == "/v1/messages"]


def signatures(messages: list) -> list:
    """Every thinking `signature` in the assistant turns of `messages`, in either wire format
    (Anthropic `thinking` blocks, or Converse `reasoningContent`), in order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "signature" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([m for m in messages if m.get("role") == "assistant"])
    return found
