"""The Lambda path on this machine, for tests/clients/test_lambda_*.py: the gateway behind the real
AWS Lambda Web Adapter in response-streaming mode, invoked through a local Lambda runtime API with
Function-URL-style requests.

- `cargo lambda watch --only-lambda-apis` (pip `cargo-lambda`) serves the Lambda runtime API at
  `/.rt` and Function-URL invokes at `/lambda-url/_/…`; it wants a Cargo.toml with a target in its
  working folder, so an empty package is made for it.
- `lambda-adapter` (crate `lambda_web_adapter` 0.9.1, the code of the published layer/image) polls
  that runtime API and relays each invoke to the running gateway, as it does inside Lambda, with
  `AWS_LWA_INVOKE_MODE=response_stream` and readiness on `/health`.
- cargo-lambda 1.9 answers `next` with `Lambda-Runtime-Deadline-Ms: 600000`, a duration where Lambda
  sends the epoch time the invocation ends. With `function_timeout` set, `DeadlineProxy` sits
  between the adapter and the runtime API and writes the real thing (now + timeout) into that
  header, so the adapter's own `x-amzn-lambda-context` carries a deadline as on Lambda.
- The adapter's extension-registration task panics on a runtime URL of this form, and its streaming
  task logs a `ChannelClosed` panic after a stream ends; both are harmless here (invokes keep being
  served), so its output is kept out of the way rather than asserted on. Now and then its runtime
  loop dies between invokes on a keep-alive race with cargo-lambda; `AdapterSupervisor` restarts
  it as Lambda would replace the environment, and prints why.

Needs LAMBDA_ADAPTER_BIN and CARGO_LAMBDA_BIN.
"""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from conftest import _free_port


@contextlib.contextmanager
def local_lambda(gateway_url: str, folder, function_timeout: float | None = None):
    """Yields the Function URL of a local Lambda whose handler is the gateway at `gateway_url`."""
    (folder / "src").mkdir()
    (folder / "src" / "main.rs").write_text("fn main() {}\n")
    (folder / "Cargo.toml").write_text('[package]\nname = "runtime"\nversion = "0.0.0"\nedition = "2021"\n')
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    runtime = subprocess.Popen(
        [os.environ["CARGO_LAMBDA_BIN"], "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
        cwd=folder,
        stdin=subprocess.DEVNULL,
        **quiet,
    )
    proxy = DeadlineProxy(port, function_timeout) if function_timeout else None
    adapter_env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{proxy.port if proxy else port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": "_",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LWA_PORT": gateway_url.rsplit(":", 1)[1],
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
        if proxy is not None:
            proxy.stop()
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


DEADLINE_HEADER = b"lambda-runtime-deadline-ms"


class DeadlineProxy:
    """A TCP relay in front of the runtime API that rewrites `Lambda-Runtime-Deadline-Ms` in each
    response to now + `timeout` (epoch ms), as Lambda sets it when it hands out an invocation.
    Requests pass untouched; responses are re-framed one by one (content-length or chunked)."""

    def __init__(self, upstream_port: int, timeout: float):
        self.upstream_port, self.timeout = upstream_port, timeout
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(5)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", self.port))
        started.set()
        self.loop.run_forever()
        server.close()

    def stop(self) -> None:
        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
        self.thread.join(5)

    async def _connection(self, client_r, client_w) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        tasks = [asyncio.create_task(_pipe(client_r, server_w)), asyncio.create_task(self._responses(server_r, client_w))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for w in (client_w, server_w):
                w.close()

    async def _responses(self, r, w) -> None:
        while True:
            try:
                head = await r.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines, length, chunked = [], 0, False
            for line in head[:-4].split(b"\r\n"):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == DEADLINE_HEADER:
                    line = b"%s: %d" % (DEADLINE_HEADER, int((time.time() + self.timeout) * 1000))
                elif name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                lines.append(line)
            w.write(b"\r\n".join(lines) + b"\r\n\r\n")
            if chunked:
                await _copy_chunks(r, w)
            elif length:
                w.write(await r.readexactly(length))
            await w.drain()


async def _pipe(r, w) -> None:
    while data := await r.read(65536):
        w.write(data)
        await w.drain()


async def _copy_chunks(r, w) -> None:
    while True:
        size_line = await r.readuntil(b"\r\n")
        w.write(size_line)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            while (trailer := await r.readuntil(b"\r\n")) != b"\r\n":
                w.write(trailer)
            w.write(b"\r\n")
            return
        w.write(await r.readexactly(size + 2))
