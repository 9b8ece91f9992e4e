"""The Lambda path on this machine (see lambda_local.py): Chatrix behind the real AWS Lambda Web
Adapter in response-streaming mode, invoked through a local Lambda runtime API with Function-URL-style
requests.

What is proved: SSE events reach the client one by one as the model produces them (not in one lump
when the stream ends), the Anthropic SDK works through the adapter, and errors keep their status;
a stream still running when the function's time runs out ends with an `overloaded_error` event
before the deadline and leaves its usage line in the log; and what a client disconnect does on
this path (docs/deployment.md, "Client disconnects on Lambda").
Needs LAMBDA_ADAPTER_BIN and CARGO_LAMBDA_BIN besides CHATRIX_BIN and EMULATOR_BIN.
"""

import http.client
import json
import time
import urllib.parse
import urllib.request

import anthropic
import pytest

from conftest import API_KEY, MODEL
from lambda_local import local_lambda

DRIP_MS = 300
WORDS = "one two three four five six"
# The short function timeout of the deadline test: the gateway keeps a fifth back (1.2 s).
FUNCTION_TIMEOUT = 6.0


@pytest.fixture(scope="module")
def lambda_url(gateway, tmp_path_factory):
    with local_lambda(gateway["url"], tmp_path_factory.mktemp("lambda-runtime")) as url:
        yield url


@pytest.fixture(scope="module")
def short_lambda_url(gateway, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lambda-runtime-short")
    with local_lambda(gateway["url"], folder, function_timeout=FUNCTION_TIMEOUT) as url:
        yield url


def test_sse_events_arrive_one_by_one_through_the_adapter(lambda_url):
    client = anthropic.Anthropic(base_url=lambda_url, api_key=API_KEY, max_retries=0, timeout=30)
    started = time.monotonic()
    arrivals = []
    with client.messages.stream(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": f"[[emu:drip {DRIP_MS}]] [[emu:text {WORDS}]]"}],
    ) as stream:
        for event in stream:
            arrivals.append((time.monotonic() - started, event.type))
        final = stream.get_final_message()
    assert final.content[0].text.split() == WORDS.split()
    deltas = [t for t, kind in arrivals if kind == "content_block_delta"]
    end = arrivals[-1][0]
    assert len(deltas) >= 3, arrivals
    gaps = [b - a for a, b in zip(deltas, deltas[1:])]
    # Each delta is produced DRIP_MS after the previous one and must arrive that way; a buffered
    # (non-streaming) path would deliver them all together when the response ends.
    assert min(gaps) > DRIP_MS / 1000 / 2, arrivals
    assert end - deltas[0] > (len(deltas) - 1) * DRIP_MS / 1000 / 2, arrivals


def test_json_answers_and_errors_pass_through_the_adapter(lambda_url):
    client = anthropic.Anthropic(base_url=lambda_url, api_key=API_KEY, max_retries=0, timeout=30)
    message = client.messages.create(
        model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "[[emu:text via lambda]]"}]
    )
    assert message.content[0].text == "via lambda"
    with pytest.raises(anthropic.AuthenticationError) as err:
        anthropic.Anthropic(base_url=lambda_url, api_key="sk-wrong", max_retries=0, timeout=30).messages.create(
            model=MODEL, max_tokens=20, messages=[{"role": "user", "content": "hi"}]
        )
    assert err.value.response.headers.get("request-id", "").startswith("req_")


def open_stream(url: str, prompt: str):
    """Starts a streaming request; returns the connection and the response, headers read."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = {"model": MODEL, "max_tokens": 512, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    conn.request(
        "POST",
        f"{parts.path}/v1/messages",
        body=json.dumps(body),
        headers={"x-api-key": API_KEY, "content-type": "application/json", "anthropic-version": "2023-06-01"},
    )
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    return conn, resp


def sse_events(resp, started: float, until: str | None = None):
    """(seconds since `started`, event name, data) for each event, up to `until` or the end."""
    events, name = [], None
    for raw in resp:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((time.monotonic() - started, name, json.loads(line[len("data: "):])))
            if name == until:
                break
    return events


def log_lines(gateway, request_id: str, message: str, wait: float = 5.0) -> list[dict]:
    """The gateway's JSON log lines for `request_id` with `message`, waiting up to `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        lines = [json.loads(x) for x in gateway["log"].read_text().splitlines() if x.startswith("{")]
        found = [x for x in lines if x.get("request_id") == request_id and x.get("message") == message]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def open_streams(emulator) -> int:
    with urllib.request.urlopen(f"{emulator.url}/_emulator/stats") as r:
        return json.load(r)["open_streams"]


def test_a_stream_still_running_at_the_function_timeout_ends_cleanly_before_it(short_lambda_url, gateway, emulator):
    started = time.monotonic()
    conn, resp = open_stream(short_lambda_url, "[[emu:long 400]] [[emu:drip 100]]")
    request_id = resp.getheader("request-id")
    events = sse_events(resp, started)
    conn.close()
    at, name, data = events[-1]
    assert (name, data["error"]["type"]) == ("error", "overloaded_error"), events[-3:]
    # The invocation began a little after `started`; the event must come before its end, about the
    # 1.2 s margin early, after text has streamed.
    assert FUNCTION_TIMEOUT - 2.5 < at < FUNCTION_TIMEOUT, at
    assert any(n == "content_block_delta" for _, n, _ in events)
    [ended] = log_lines(gateway, request_id, "stream ended")
    assert ended["outcome"] == "deadline", ended
    assert ended["output_tokens"] > 0 and ended["input_tokens"] > 0, ended
    assert ended["cost_usd"] > 0 and ended["usage_partial"] is True, ended
    waited = time.monotonic()
    while open_streams(emulator) and time.monotonic() - waited < 3:
        time.sleep(0.05)
    assert open_streams(emulator) == 0, "the Bedrock stream outlived the deadline"


def test_a_client_disconnect_through_the_local_runtime_api(lambda_url, gateway, emulator):
    """Shows what this path models: whether the gateway hears that the client left. On real Lambda
    it does not (docs/deployment.md); cargo-lambda's runtime API is only a model of it."""
    started = time.monotonic()
    conn, resp = open_stream(lambda_url, "[[emu:long 400]] [[emu:drip 100]]")
    request_id = resp.getheader("request-id")
    sse_events(resp, started, until="content_block_delta")
    assert open_streams(emulator) == 1
    conn.sock.shutdown(2)
    conn.close()
    left = time.monotonic()
    while open_streams(emulator) and time.monotonic() - left < 10:
        time.sleep(0.05)
    still_open = open_streams(emulator)
    ended = log_lines(gateway, request_id, "stream ended", wait=1)
    print(f"after the disconnect: upstream open={still_open}, gateway log={ended}")
    assert still_open == 0, "the Bedrock stream kept running after the client left"
    assert [x["outcome"] for x in ended] == ["client disconnected"], ended
