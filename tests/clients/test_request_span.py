"""Every log line written while a request is served carries the request's span: its id (the same
as the `request-id` header), the key name, the model, the upstream path and Claude Code's session
id. Checked on the real binary's JSON logs: a warning from inside model resolution, the request
line, and the end-of-stream line written after the handler returned."""

import json
import os
import socket
import subprocess
import time
import urllib.request

import anthropic

KEY = "sk-span-test-0123456789"


def start(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "CHATRIX_BEDROCK": "emulator",
        "CHATRIX_API_KEYS": f"span-tester:{KEY}",
    }
    log = tmp_path / "chatrix.log"
    proc = subprocess.Popen([os.environ["CHATRIX_BIN"]], env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port, log
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise AssertionError("chatrix did not start: " + log.read_text())


def lines(log):
    out = []
    for raw in log.read_text().splitlines():
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            pass
    return out


def test_log_lines_inside_a_request_carry_its_span(tmp_path):
    proc, port, log = start(tmp_path)
    try:
        client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key=KEY, max_retries=0,
                                     default_headers={"x-claude-code-session-id": "sess-42"})
        # A model the catalog has never seen: resolving it logs a WARN inside the request (the
        # emulator does not know it either, so the answer is Bedrock's 404).
        try:
            client.messages.create(model="claude-opus-9-9", max_tokens=16,
                                   messages=[{"role": "user", "content": "hi"}])
            raise AssertionError("the emulator has no claude-opus-9-9")
        except anthropic.NotFoundError as e:
            request_id = e.response.headers["request-id"]
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=16,
                                    messages=[{"role": "user", "content": "hi"}]) as stream:
            stream.get_final_message()
            stream_id = stream.response.headers["request-id"]
        time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    logged = lines(log)
    mine = [line for line in logged if line.get("span", {}).get("request_id") == request_id]
    warn = [line for line in mine if line["level"] == "WARN"]
    assert warn, "the launch-day WARN carries the request span:\n" + "\n".join(map(json.dumps, logged))
    for line in mine:
        span = line["span"]
        assert span["key"] == "span-tester" and span["session"] == "sess-42", line
        assert span["model"] == "claude-opus-9-9", line
    # The upstream path is known once the model is resolved.
    assert all(line["span"]["upstream"] == "invoke" for line in mine if line not in warn), mine
    assert any(line.get("message") == "request rejected" for line in mine), mine
    ended = [line for line in logged if line.get("message") == "stream ended"]
    assert ended and ended[0]["span"]["request_id"] == stream_id, ended
    assert ended[0]["span"]["upstream"] == "invoke" and ended[0]["span"]["model"] == "claude-haiku-4-5"
    assert KEY not in log.read_text(), "the key itself is never logged"


def test_the_bedrock_pass_through_names_its_own_upstream(tmp_path):
    """The Bedrock pass-through routes' lines carry `passthrough` as the upstream (not the model's
    own path, `invoke`) and the model id from the URL."""
    proc, port, log = start(tmp_path)
    try:
        body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke",
            data=body, headers={"x-api-key": KEY, "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200
            request_id = answer.headers["request-id"]
        time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    mine = [line for line in lines(log) if line.get("span", {}).get("request_id") == request_id]
    assert mine, log.read_text()
    for line in mine:
        assert line["span"]["upstream"] == "passthrough", line
        assert line["span"]["model"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0", line
