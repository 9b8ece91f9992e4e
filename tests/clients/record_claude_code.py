"""Regenerates tests/fixtures/claude-code/<version>/ from real Claude Code runs.

    CHATRIX_BIN=target/debug/chatrix EMULATOR_BIN=target/debug/bedrock-emulator \
    CLAUDE_BIN=.cache/claude-code-2.1.332/node_modules/.bin/claude \
    .cache/venv-anthropic-2.12.0/bin/python tests/clients/record_claude_code.py [--raw DIR]

Runs tests/clients/test_claude_code.py with `CHATRIX_CC_RECORD_DIR` set (or reads a directory such
a run filled, with `--raw`), scrubs every request the recording proxy saw, and writes one file per
request, `<test>.<n>.json` = `{"method", "path", "headers", "body", "recorded_status"}`, replacing
the version's directory. The scrubbing (see the README beside the fixtures):
- `authorization` / `x-api-key` keep only their scheme (`Bearer [scrubbed]`; the proxy never
  saw more); `host`, `content-length` and `connection` are dropped (they belong to the recording
  run);
- session ids and the device id become fixed made-up values, local paths (the test's working
  directory, HOME, this checkout) fixed stand-ins;
- text Claude Code wrote (system blocks after the billing header, `role: "system"` messages,
  `<system-reminder>` blocks and any user text over 300 characters, tool and schema descriptions)
  becomes a short stand-in of ours naming what it replaced and its length; so does all message
  text of count_tokens bodies (`/context` counts pieces of Claude Code's prompt). Tool names, schemas,
  our prompts, tool output and the emulator's answers (text, thinking) stay;
- the emulator's thinking signatures become fixed ones of the form it verifies.
It fails if a machine path survives the scrub.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
DROPPED_HEADERS = {"host", "content-length", "connection"}
SECRET_HEADERS = {"authorization", "x-api-key", "proxy-authorization"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEVICE_ID = re.compile(r'(\\?"device_id\\?":\\?")[0-9a-f]{64}')
SIGNATURE = re.compile(r"emu-sig-[A-Za-z0-9+/]+=*")
LONG_USER_TEXT = 300


def stand_in(what: str, text: str) -> str:
    return f"[chatrix fixture: {what}, {len(text)} characters, not kept]"


def scrub_text_block(block: dict, what: str) -> dict:
    return {**block, "text": stand_in(what, block["text"])}


def scrub_system(system):
    if isinstance(system, str):
        return stand_in("system prompt", system)
    out = []
    for i, block in enumerate(system):
        keep = block.get("type") == "text" and block["text"].startswith("x-anthropic-billing-header:")
        out.append(block if keep else scrub_text_block(block, f"system block {i}"))
    return out


def scrub_user_content(content):
    if isinstance(content, str):
        return stand_in("user text", content) if _claude_codes(content) else content
    out = []
    for block in content:
        if block.get("type") == "text" and _claude_codes(block["text"]):
            block = scrub_text_block(block, "context Claude Code added")
        elif block.get("type") == "tool_result" and not isinstance(block.get("content", ""), str):
            block = {**block, "content": scrub_user_content(block["content"])}
        out.append(block)
    return out


def _claude_codes(text: str) -> bool:
    """Text Claude Code wrote into a user turn (ours are short and never reminders)."""
    return text.lstrip().startswith("<system-reminder>") or len(text) > LONG_USER_TEXT


def scrub_message(message: dict) -> dict:
    role, content = message["role"], message["content"]
    if role == "system":
        if isinstance(content, str):
            return {**message, "content": stand_in("mid-conversation system text", content)}
        blocks = [scrub_text_block(b, "mid-conversation system text") if b.get("type") == "text" else b for b in content]
        return {**message, "content": blocks}
    if role == "user":
        return {**message, "content": scrub_user_content(content)}
    return message  # assistant turns are the emulator's output


def scrub_descriptions(node, where: str):
    """Replaces every string-valued `description` (tool and schema prose); keeps the schema."""
    if isinstance(node, dict):
        return {
            k: stand_in(f"description of {where}", v) if k == "description" and isinstance(v, str)
            else scrub_descriptions(v, f"{where}.{k}" if k not in ("properties", "input_schema") else where)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [scrub_descriptions(v, where) for v in node]
    return node


def scrub_counted_message(message: dict) -> dict:
    """count_tokens bodies hold pieces of Claude Code's own prompt as user text: none is ours."""
    content = message["content"]
    if isinstance(content, str):
        return {**message, "content": stand_in("prompt part being counted", content)}
    return {**message, "content": [
        scrub_text_block(b, "prompt part being counted") if b.get("type") == "text" else b for b in content
    ]}


def scrub_body(body, *, counting: bool):
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if "system" in body:
        body["system"] = scrub_system(body["system"])
    if "messages" in body:
        scrub_one = scrub_counted_message if counting else scrub_message
        body["messages"] = [scrub_one(m) for m in body["messages"]]
    if "tools" in body:
        body["tools"] = [scrub_descriptions(t, t.get("name", "tool")) for t in body["tools"]]
    return body


def scrub_paths(text: str, raw: dict) -> str:
    tmp = raw["tmp"]
    for real, fake in ((f"{tmp}/home", "/home/dev"), (tmp, "/work/project"), (str(ROOT), "/src/chatrix")):
        text = text.replace(real, fake).replace(real.replace("/", "-"), fake.replace("/", "-"))
    return text.replace(os.path.expanduser("~"), "/home/dev")


def scrub_ids(text: str) -> str:
    """Fixed made-up ids, numbered in order of first appearance (so requests of one run still share
    their session id)."""
    seen: dict = {}

    def fake(m):
        return seen.setdefault(m.group(0), f"00000000-0000-4000-8000-{len(seen) + 1:012d}")

    text = UUID.sub(fake, text)
    return DEVICE_ID.sub(lambda m: m.group(1) + "d" * 64, text)


def emulator_signature(n: int) -> str:
    """The n-th thinking signature, in the form the emulator issues and verifies without memory:
    `emu-sig-` + base64(16-byte nonce + first 8 bytes of SHA-256(key, nonce)). A fixed nonce per
    position keeps regenerated fixtures stable."""
    nonce = hashlib.sha256(f"chatrix-fixture-signature-{n}".encode()).digest()[:16]
    tag = hashlib.sha256(b"chatrix-emulator-thinking-signature" + nonce).digest()[:8]
    return "emu-sig-" + base64.b64encode(nonce + tag).decode()


def scrub_signatures(text: str, seen: dict) -> str:
    """Each distinct signature the emulator issued in one test run becomes a fixed, valid one."""
    return SIGNATURE.sub(lambda m: seen.setdefault(m.group(0), emulator_signature(len(seen) + 1)), text)


def scrub(record: dict, raw: dict) -> dict:
    for name in SECRET_HEADERS & record["headers"].keys():
        assert record["headers"][name].endswith("[scrubbed]"), f"{name} was recorded unscrubbed"
    out = {
        "method": record["method"],
        "path": record["path"],
        "headers": {k: v for k, v in sorted(record["headers"].items()) if k not in DROPPED_HEADERS},
        "body": scrub_body(record["body"], counting=record["path"].startswith("/v1/messages/count_tokens")),
        "recorded_status": record["status"],
    }
    text = scrub_ids(scrub_paths(json.dumps(out, ensure_ascii=False), raw))
    text = scrub_signatures(text, raw.setdefault("signatures", {}))
    leak = re.search(r"/tmp/pytest-|/tmp/tmp|/root\b|/work/|/home/(?!dev)", text)
    assert not leak, f"{raw['test']}: a machine path survived the scrub: …{text[leak.start() - 60:leak.end() + 60]}…"
    return json.loads(text)


def run_tests(raw_dir: Path) -> None:
    env = {**os.environ, "CHATRIX_CC_RECORD_DIR": str(raw_dir)}
    test = ROOT / "tests" / "clients" / "test_claude_code.py"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)], env=env, check=True)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--raw":
        raw_dir = Path(sys.argv[2])
    else:
        raw_dir = Path(tempfile.mkdtemp(prefix="chatrix-cc-raw-"))
        run_tests(raw_dir)
    raws = [json.loads(p.read_text()) for p in sorted(raw_dir.glob("test_*.json"))]
    assert raws, f"nothing recorded in {raw_dir}"
    version = raws[0]["version"]
    assert all(r["version"] == version for r in raws), "one Claude Code version per run"
    out_dir = FIXTURES / version
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    count = 0
    for raw in raws:
        name = raw["test"].removeprefix("test_")
        for i, record in enumerate(raw["records"]):
            path = out_dir / f"{name}.{i}.json"
            path.write_text(json.dumps(scrub(record, raw), indent=1, ensure_ascii=False) + "\n")
            count += 1
    print(f"wrote {count} requests to {out_dir.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
