"""README's first command: with no AWS configuration the binary serves its built-in emulator on
loopback only, marks every answer as the emulator's, and prints the two variables Claude Code
needs; those variables then work."""

import os
import re
import socket
import subprocess

import anthropic


def test_without_aws_configuration_the_printed_exports_work(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # HOST unset: the default 0.0.0.0 is kept to loopback, because nobody asked for the demo.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PORT": str(port)}
    log = tmp_path / "chatrix.log"
    proc = subprocess.Popen([os.environ["CHATRIX_BIN"]], env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    try:
        exports = {}
        for _ in range(10):
            line = proc.stdout.readline()
            m = re.match(r"\s*export (ANTHROPIC_BASE_URL|ANTHROPIC_AUTH_TOKEN)=(\S+)", line)
            if m:
                exports[m.group(1)] = m.group(2)
            if len(exports) == 2:
                break
        assert set(exports) == {"ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"}, exports
        assert exports["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{port}"

        client = anthropic.Anthropic(base_url=exports["ANTHROPIC_BASE_URL"], auth_token=exports["ANTHROPIC_AUTH_TOKEN"],
                                     api_key=None, max_retries=0)
        raw = client.messages.with_raw_response.create(model="claude-opus-4-8", max_tokens=64,
                                                       messages=[{"role": "user", "content": "hi"}])
        assert raw.parse().content[0].text == "Hello from the Bedrock emulator."
        assert raw.headers["x-chatrix-upstream"] == "emulator"
        text = log.read_text()
        assert f'"addr":"127.0.0.1:{port}"' in text, text
        assert "CHATRIX_BEDROCK=emulator" in text, text

        wrong = anthropic.Anthropic(base_url=exports["ANTHROPIC_BASE_URL"], api_key="sk-guess", max_retries=0)
        try:
            wrong.messages.create(model="claude-opus-4-8", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
            raise AssertionError("a guessed key was accepted")
        except anthropic.AuthenticationError:
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_against_aws_without_keys_start_up_fails_naming_the_variable(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PORT": "0", "AWS_REGION": "us-east-1"}
    done = subprocess.run([os.environ["CHATRIX_BIN"]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "CHATRIX_API_KEYS" in done.stderr + done.stdout


def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CHATRIX_INFERENCE_PROFILE": "mars"}
    done = subprocess.run([os.environ["CHATRIX_BIN"]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "CHATRIX_INFERENCE_PROFILE" in done.stderr
