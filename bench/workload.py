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
