"""The Lambda path on this machine: Chatrix behind the real AWS Lambda Web Adapter in response-streaming
mode, invoked through a local Lambda runtime API with Function-URL-style requests.

- `cargo lambda watch --only-lambda-apis` (pip `cargo-lambda`) serves the Lambda runtime API at
  `/.rt` and Function-URL invokes at `/lambda-url/_/…`; it wants a Cargo.toml with a target in its
  working folder, so the test gives it an empty package.
- `lambda-adapter` (crate `lambda_web_adapter` 0.9.1, the code of the published layer/image) polls
  that runtime API and relays each invoke to the running gateway, as it does inside Lambda, with
  `AWS_LWA_INVOKE_MODE=response_stream` and readiness on `/health`.
- The adapter's extension-registration task panics on a runtime URL of this form, and its streaming
  task logs a `ChannelClosed` panic after a stream ends; both are harmless here (invokes keep being
  served), so its output is kept out of the way rather than asserted on. Now and then its runtime
  loop dies between invokes on a keep-alive race with cargo-lambda; `AdapterSupervisor` restarts
  it as Lambda would replace the environment, and prints why.

What is proved: SSE events reach the client one by one as the model produces them (not in one lump
when the stream ends), the Anthropic SDK works through the adapter, and errors keep their status.
Needs LAMBDA_ADAPTER_BIN and CARGO_LAMBDA_BIN besides CHATRIX_BIN and EMULATOR_BIN.
"""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import anthropic
import pytest

from conftest import API_KEY, MODEL, _free_port

DRIP_MS = 300
WORDS = "one two three four five six"


@pytest.fixture(scope="module")
def lambda_url(gateway, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lambda-runtime")
    (folder / "src").mkdir()
    (folder / "src" / "main.rs").write_text("fn main() {}\n")
    (folder / "Cargo.toml").write_text('[package]\nname = "runtime"\nversion = "0.0.0"\nedition = "2021"\n')
    port = _free_port()
    gateway_port = gateway["url"].rsplit(":", 1)[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    runtime = subprocess.Popen(
        [os.environ["CARGO_LAMBDA_BIN"], "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        **quiet,
    )
    adapter_env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LWA_PORT": gateway_port,
        "AWS_LWA_READINESS_CHECK_PATH": "/health",
        "AWS_LWA_INVOKE_MODE": "response_stream",
    }
    adapter = None
    url = f"http://127.0.0.1:{port}/lambda-url/_"
    try:
        deadline = time.monotonic() + 30
        while True:
            if adapter is None:
                try:
                    # It accepts connections once up (and never answers paths it does not serve).
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the local Lambda runtime API did not start")
                    time.sleep(0.1)
                    continue
                adapter = AdapterSupervisor(adapter_env, folder)
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("no answer through the Lambda Web Adapter")
            time.sleep(0.2)
        yield url
    finally:
        if adapter is not None:
            adapter.stop()
        runtime.terminate()
        runtime.wait(timeout=10)


class AdapterSupervisor:
    """Runs the adapter and, like Lambda replacing a crashed execution environment, starts a new
    one if it exits. It sometimes does between invokes: its runtime client re-uses a keep-alive
    connection to cargo-lambda's `next` endpoint just as the server closes it (`IncompleteMessage`,
    exit 101). Invokes queue in the runtime API meanwhile, so a restart loses none; a crash during
    a stream still cuts that stream and fails its test. Every exit is printed with the adapter's log."""

    def __init__(self, env: dict, folder):
        self.env, self.folder = env, folder
        self.exits: list[str] = []
        self.stopping = threading.Event()
        self.proc = self._start()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _start(self) -> subprocess.Popen:
        log = open(self.folder / f"adapter-{len(self.exits)}.log", "wb")
        return subprocess.Popen([os.environ["LAMBDA_ADAPTER_BIN"]], env=self.env, stdout=log, stderr=log)

    def _watch(self) -> None:
        while not self.stopping.wait(0.05):
            if self.proc.poll() is not None:
                log = (self.folder / f"adapter-{len(self.exits)}.log").read_bytes()[-2000:]
                self.exits.append(f"exit {self.proc.returncode}:\n{log.decode(errors='replace')}")
                self.proc = self._start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        for n, exit_ in enumerate(self.exits, 1):
            print(f"lambda-adapter restarted ({n}), previous one's {exit_}", file=sys.stderr)


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
