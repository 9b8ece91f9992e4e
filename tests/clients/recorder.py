"""A recording HTTP proxy for the client tests: sits between a client (Claude Code) and the gateway.

Every request is forwarded unchanged and kept in memory as `{"method", "path", "headers", "body",
"status"}` (the body parsed as JSON when it is JSON; the secret in `authorization` and
`x-api-key` is never kept, only the auth scheme: `Bearer [scrubbed]`). Responses are relayed as they arrive (streams stay streams), so the client sees what it
would see without the proxy. This keeps the gateway free of any content logging: only the test
harness sees request bodies, and only on loopback.

Python standard library only; one thread per connection.
"""

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SECRET_HEADERS = {"authorization", "x-api-key", "proxy-authorization"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class Recorder:
    """Forwards to `upstream` (a base URL); `url` is where clients connect."""

    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self._host, self._port = target.hostname, target.port
        self._lock = threading.Lock()
        self._records: list = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def records(self) -> list:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _keep(self, record: dict) -> None:
        with self._lock:
            self._records.append(record)


def _scrubbed(name: str, value: str) -> str:
    if name not in SECRET_HEADERS:
        return value
    scheme = value.split(" ", 1)[0] if " " in value else ""
    return f"{scheme} [scrubbed]".strip()


def _parse(raw: bytes):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _handler(recorder: Recorder):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args):  # keep pytest output clean
            pass

        def _body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _forward(self):
            raw = self._body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if raw or self.command in ("POST", "PUT", "PATCH"):
                headers["Content-Length"] = str(len(raw))
            record = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): _scrubbed(k.lower(), v) for k, v in self.headers.items()},
                "body": _parse(raw),
            }
            upstream = http.client.HTTPConnection(recorder._host, recorder._port, timeout=300)
            try:
                upstream.request(self.command, self.path, body=raw or None, headers=headers)
                resp = upstream.getresponse()
                record["status"] = resp.status
                recorder._keep(record)
                self._relay(resp)
            finally:
                upstream.close()

        def _relay(self, resp):
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            length = resp.getheader("content-length")
            if self.command == "HEAD" or length is not None:
                self.send_header("Content-Length", length or "0")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.read())
                return
            # No length: a stream. Relay each piece the moment it arrives, chunked.
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while piece := resp.read1(65536):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _forward

    return Handler
