"""Reading InvokeModelWithResponseStream off a raw socket: its `chunk` frames carry each Anthropic
event base64-encoded (`{"bytes": …}`), so the probes' markers and the emulator's stamps are only
visible once decoded. The Converse event stream and SSE carry them in clear and need none of this."""

import base64
import binascii
import json
import struct


class InvokeStreamText:
    """Feed it the raw bytes of one HTTP/1.1 response as they arrive; each call returns what is
    newly readable: the status line and headers once, then one line per complete frame (the decoded
    Anthropic event of a `chunk`, or an exception frame's payload as is)."""

    def __init__(self):
        self._raw = bytearray()
        self._body = bytearray()
        self._head_done = False
        self._chunked = False

    def feed(self, data: bytes) -> bytes:
        self._raw += data
        out = bytearray()
        if not self._head_done:
            end = self._raw.find(b"\r\n\r\n")
            if end < 0:
                return b""
            head = bytes(self._raw[:end + 4])
            self._chunked = b"transfer-encoding: chunked" in head.lower()
            del self._raw[:end + 4]
            self._head_done = True
            out += head
        self._dechunk()
        while len(self._body) >= 12:
            total, headers_len = struct.unpack(">II", self._body[:8])
            if len(self._body) < total:
                break
            headers = bytes(self._body[12:12 + headers_len])
            payload = bytes(self._body[12 + headers_len:total - 4])
            del self._body[:total]
            out += _event(headers, payload) + b"\n"
        return bytes(out)

    def _dechunk(self) -> None:
        if not self._chunked:
            self._body += self._raw
            self._raw.clear()
            return
        while True:
            line_end = self._raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(self._raw[:line_end]).split(b";")[0] or b"0", 16)
            if len(self._raw) < line_end + 2 + size + 2:
                return
            self._body += self._raw[line_end + 2:line_end + 2 + size]
            del self._raw[:line_end + 2 + size + 2]
            if size == 0:
                return


def _event(headers: bytes, payload: bytes) -> bytes:
    if b"chunk" not in headers:
        return payload
    try:
        return base64.b64decode(json.loads(payload)["bytes"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        return payload


def reader(framing: str):
    """A function from the raw bytes of each read to the bytes the markers are searched in."""
    if framing == "invoke":
        return InvokeStreamText().feed
    return lambda data: data
