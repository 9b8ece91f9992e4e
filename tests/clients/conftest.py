"""Starts the Bedrock emulator and the real `chatrix` binary for the client tests (SDK, Claude Code).

The gateway reaches the emulator the way it reaches AWS: through the standard AWS configuration
chain (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`, `_BEDROCK_MANTLE` and `AWS_ENDPOINT_URL_BEDROCK`, region, static
credentials), in `CHATRIX_BEDROCK=aws` mode.
"""

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request

import pytest

API_KEY = "sk-sdk-test-key"
# tests/run runs the SDK tests on the default path (Claude through InvokeModel) and again with
# CHATRIX_CLAUDE_API=converse; tests that look at what reached Bedrock check the path's own shape.
CONVERSE = os.environ.get("CHATRIX_CLAUDE_API") == "converse"
MODEL = "claude-sonnet-4-6"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s")


class Emulator:
    def __init__(self, url: str):
        self.url = url

    def requests(self) -> list:
        with urllib.request.urlopen(f"{self.url}/_emulator/requests") as r:
            return json.load(r)

    def clear(self) -> None:
        req = urllib.request.Request(f"{self.url}/_emulator/requests", method="DELETE")
        urllib.request.urlopen(req).close()

    def push_script(self, script: dict) -> None:
        req = urllib.request.Request(
            f"{self.url}/_emulator/scripts",
            data=json.dumps(script).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(req).close()

    def operations(self) -> list:
        return [r["operation"] for r in self.requests()]

    def last_invoke_body(self) -> dict:
        reqs = [r for r in self.requests() if r["operation"].startswith("InvokeModel")]
        assert reqs, "the emulator received no InvokeModel request"
        return reqs[-1]["body"]

    def last_converse_body(self) -> dict:
        reqs = [r for r in self.requests() if r["operation"] in ("Converse", "ConverseStream")]
        assert reqs, "the emulator received no Converse request"
        return reqs[-1]["body"]


@pytest.fixture(scope="session")
def emulator():
    port = _free_port()
    proc = subprocess.Popen([os.environ["EMULATOR_BIN"], "--port", str(port)], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/_emulator/requests", proc)
        yield Emulator(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def run_gateway(emulator, workdir, **extra_env):
    """Runs the `chatrix` binary against the emulator; yields `{"url", "log"}` (the log file path).

    `extra_env` adds or overrides variables; a value of None removes one.
    """
    port = _free_port()
    log = workdir / "chatrix.log"
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "CHATRIX_BEDROCK": "aws",
        "CHATRIX_API_KEYS": f"sdk:{API_KEY}",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDSDKTEST",
        "AWS_SECRET_ACCESS_KEY": "sdk-test-secret",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": emulator.url,
        "AWS_ENDPOINT_URL_BEDROCK_MANTLE": emulator.url,
        # The control plane (model discovery's ListInferenceProfiles): the emulator serves it too.
        "AWS_ENDPOINT_URL_BEDROCK": emulator.url,
        "RUST_LOG": "info",
        "CHATRIX_PING_INTERVAL_SECS": "2",
        # tests/run runs the SDK tests once per Claude path (invoke by default, then converse).
        "CHATRIX_CLAUDE_API": os.environ.get("CHATRIX_CLAUDE_API"),
    }
    env.update(extra_env)
    env = {k: v for k, v in env.items() if v is not None}
    with open(log, "wb") as out:
        proc = subprocess.Popen([os.environ["CHATRIX_BIN"]], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/health", proc)
        yield {"url": url, "log": log}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def gateway(emulator, tmp_path_factory):
    with run_gateway(emulator, tmp_path_factory.mktemp("gateway")) as gw:
        yield gw


@pytest.fixture
def client(gateway):
    import anthropic

    return anthropic.Anthropic(base_url=gateway["url"], api_key=API_KEY, max_retries=0)
