"""A long Claude Code session (thinking + tools, ~5 minutes) against the gateway and emulator.

Not part of tests/run (it takes minutes); run it by hand after tests/run has installed the clients:

    CHATRIX_BIN=target/debug/chatrix EMULATOR_BIN=target/debug/bedrock-emulator \
    CLAUDE_BIN=.cache/claude-code-2.1.332/node_modules/.bin/claude \
    .cache/venv-anthropic-2.12.0/bin/python tests/clients/long_session.py [turns] [drip_ms]

Each turn the emulator thinks (signed reasoning), says a sentence and calls Bash, slowly dripped;
Claude Code runs the command and sends the result back. The run passes when Claude Code finishes
every turn without an API error and its final answer carries the last command's output.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import conftest  # noqa: E402


def main() -> int:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    drip = int(sys.argv[2]) if len(sys.argv) > 2 else 250
    tmp = Path(tempfile.mkdtemp(prefix="chatrix-long-"))
    emulator_gen = conftest.emulator.__wrapped__()
    emulator = next(emulator_gen)

    class Factory:
        def mktemp(self, name):
            p = tmp / name
            p.mkdir(exist_ok=True)
            return p

    gateway_gen = conftest.gateway.__wrapped__(emulator, Factory())
    gateway = next(gateway_gen)
    thought = "I will look at the next step carefully before running anything. " * 4
    for i in range(turns):
        emulator.push_script({
            "content": [
                {"thinking": {"text": f"Turn {i}. {thought}"}},
                {"text": f"Running step {i}."},
                {"tool": {"name": "Bash", "input": {"command": f"echo step-{i}-$(({i}*7))", "description": f"step {i}"}}},
            ],
            "stop_reason": "tool_use",
            "drip_ms": drip,
        })
    started = time.monotonic()
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp / "home"),
        "ANTHROPIC_BASE_URL": gateway["url"], "ANTHROPIC_AUTH_TOKEN": conftest.API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
    }
    (tmp / "home").mkdir(exist_ok=True)
    done = subprocess.run(
        [os.environ["CLAUDE_BIN"], "-p", "Work through the steps.", "--output-format", "json",
         "--allowedTools", "Bash", "--max-turns", str(turns + 5)],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=1800,
    )
    elapsed = time.monotonic() - started
    result = json.loads(done.stdout.strip().splitlines()[-1])
    ops = emulator.operations()
    last = turns - 1
    ok = (done.returncode == 0 and not result["is_error"]
          and result["result"] == f"Tool result: step-{last}-{last * 7}")
    print(json.dumps({"ok": ok, "seconds": round(elapsed), "num_turns": result.get("num_turns"),
                      "converse_stream_calls": ops.count("ConverseStream"),
                      "converse_calls": ops.count("Converse"), "result": result.get("result"),
                      "api_error_status": result.get("api_error_status")}))
    for gen in (gateway_gen, emulator_gen):
        try:
            next(gen)
        except StopIteration:
            pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
