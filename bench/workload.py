"""The requests every contender is sent: our own synthetic prompts, with emulator directives
(`[[emu:…]]`) that fix the answer's size and pacing, so the upstream serves everyone the same."""

import json

MODEL = "claude-sonnet-4-5"

_WORDS = (
    "gateway latency budget stream token cache region profile signature delta frame header "
    "request response model thinking tool schema input output buffer socket relay bench"
).split()


def _text(words: int, seed: int) -> str:
    return " ".join(_WORDS[(i * 7 + seed) % len(_WORDS)] for i in range(words))


def small(words: int) -> dict:
    """A one-line question; the answer is `words` words long."""
    return {
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": f"Benchmark question. [[emu:long {words}]]"}],
    }


def large(words: int) -> dict:
    """A coding-agent-sized request, about 40 KB: system prompt, three tools, a 16-turn history."""
    tools = [
        {
            "name": name,
            "description": _text(60, i),
            "input_schema": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": _text(12, i + 1)},
                    "limit": {"type": "integer", "description": _text(8, i + 2)},
                    "pattern": {"type": "string", "description": _text(10, i + 3)},
                },
                "required": ["path"],
            },
        }
        for i, name in enumerate(["read_file", "search", "list_dir"])
    ]
    history = []
    for turn in range(8):
        history.append({"role": "user", "content": [{"type": "text", "text": _text(300, turn)}]})
        history.append({"role": "assistant", "content": [{"type": "text", "text": _text(300, turn + 50)}]})
    history.append(
        {"role": "user", "content": [{"type": "text", "text": f"Go on. [[emu:long {words}]]"}]}
    )
    return {
        "model": MODEL,
        "max_tokens": 4096,
        "system": [{"type": "text", "text": _text(600, 99)}],
        "tools": tools,
        "messages": history,
    }


def streaming(words: int, silence_ms: int, drip_ms: int, stamp: bool = True) -> dict:
    """A streamed answer of `words` words (two per delta) after `silence_ms`, paced `drip_ms`;
    with `stamp`, each delta's text is its send time (`[[emu:stamp]]`)."""
    body = small(words)
    body["stream"] = True
    body["messages"][0]["content"] = (
        f"Benchmark stream. [[emu:silence {silence_ms}]] [[emu:drip {drip_ms}]] [[emu:long {words}]]"
        + (" [[emu:stamp]]" if stamp else "")
    )
    return body


def expected_deltas(words: int) -> int:
    """The emulator streams two words per text delta."""
    return (words + 1) // 2


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


_CODE = (
    "let", "mut", "value", "config", "result", "await", "return", "match", "Some", "None", "self",
    "request", "stream", "body", "headers", "error", "Ok", "Err", "clone", "into", "iter", "map",
)
TOOL_NAMES = (
    "Bash", "Read", "Write", "Edit", "MultiEdit", "Glob", "Grep", "LS", "NotebookRead",
    "NotebookEdit", "WebFetch", "WebSearch", "TodoRead", "TodoWrite", "Task", "ExitPlanMode",
    "BashOutput", "KillShell", "SlashCommand", "AskUser",
)


def _code(lines: int, seed: int) -> str:
    """Source-like text: indentation, quotes, tabs and newlines, which JSON must escape."""
    out = []
    for i in range(lines):
        words = [_CODE[(i * 5 + seed + j * 3) % len(_CODE)] for j in range(6)]
        indent = "    " * ((i + seed) % 4)
        out.append(f'{indent}{words[0]} {words[1]}_{i} = "{words[2]}\\t{words[3]}"; // {words[4]} {words[5]}')
    return "\n".join(out)


def _tool(i: int, name: str) -> dict:
    props = {
        f"{_WORDS[(i + k) % len(_WORDS)]}_{k}": {"type": ("string", "integer", "boolean")[k % 3],
                                                "description": _text(14, i * 3 + k)}
        for k in range(5)
    }
    return {"name": name, "description": _text(140, i + 7),
            "input_schema": {"type": "object", "properties": props, "required": list(props)[:2],
                             "additionalProperties": False}}


def claude_code(size: int, words: int) -> dict:
    """A Claude Code-shaped request of about `size` bytes: a long system prompt, 20 tool schemas, and
    a history of turns that each carry text, a tool call and its result (file contents, command
    output), as an agent's context looks after an hour's work. Our own synthetic text."""
    body = {
        "model": MODEL,
        "max_tokens": 32000,
        "system": [{"type": "text", "text": _text(40, 1)},
                   {"type": "text", "text": _text(2400, 2), "cache_control": {"type": "ephemeral"}}],
        "tools": [_tool(i, name) for i, name in enumerate(TOOL_NAMES)],
        "metadata": {"user_id": "bench-user-0000"},
        "messages": [{"role": "user", "content": [{"type": "text", "text": _text(80, 3)}]}],
    }
    turn = 0
    while len(encode(body)) < size:
        call_id = f"toolu_bench{turn:06d}"
        name = TOOL_NAMES[turn % len(TOOL_NAMES)]
        body["messages"].append({"role": "assistant", "content": [
            {"type": "text", "text": _text(60, turn)},
            {"type": "tool_use", "id": call_id, "name": name,
             "input": {"path": f"src/module_{turn}.rs", "pattern": _text(4, turn)}},
        ]})
        body["messages"].append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id,
             "content": [{"type": "text", "text": _code(120, turn)}]},
            {"type": "text", "text": _text(30, turn + 9)},
        ]})
        turn += 1
    last = body["messages"][-1]["content"]
    last[-1] = {"type": "text", "text": f"Go on. [[emu:long {words}]]",
                "cache_control": {"type": "ephemeral"}}
    return body


def with_images(size: int, words: int) -> dict:
    """A request of about `size` bytes whose bulk is screenshots (base64 images of up to 3.75 MB each,
    Bedrock's per-image limit), the way a long Claude Code session's requests grow past 20 MB."""
    import base64
    import random

    body = claude_code(64 * 1024, words)
    rng = random.Random(7)
    # Raw bytes whose base64 is ≤ 3.75 MB (smaller for a small `size`, so it still has images).
    per_image = min(3_750_000, size // 4) * 3 // 4
    # Screenshots go between the earlier turns and the last tool call, keeping the turns alternating
    # and each tool_result right after its tool_use.
    history, tail = body["messages"][:-2], body["messages"][-2:]
    i = 0
    while len(encode(body)) + per_image * 4 // 3 < size:
        history.append({"role": "assistant", "content": [{"type": "text", "text": _text(20, i)}]})
        history.append({"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": base64.b64encode(rng.randbytes(per_image)).decode()}},
            {"type": "text", "text": f"Screenshot {i}."}]})
        body["messages"] = history + tail
        i += 1
    return body
