"""A minimal keep-alive HTTP/1.1 client over a blocking socket (stdlib only).

The benchmark runs client and server on the same 2-core machine, so the client must
cost as little CPU as possible: requests are pre-encoded bytes, and a response is read
as status + headers + Content-Length (or chunked) body. A full client such as httpx
spends a few hundred microseconds of Python per request, which would be charged to
weft in the latency comparison and steal a core from the server in the throughput test.
"""
from __future__ import annotations

import json
import socket

API_VERSION = "2026-04-01"


class HttpError(RuntimeError):
    pass


def encode_request(method: str, host: str, port: int, path: str, api_key: str, body: bytes | None = None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"api-key: {api_key}", "Accept: application/json"]
    if body is not None:
        head.append("Content-Type: application/json")
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body or b"")


def json_request(method: str, host: str, port: int, path: str, api_key: str, payload) -> bytes:
    body = None if payload is None else json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return encode_request(method, host, port, path, api_key, body)


class Connection:
    def __init__(self, host: str, port: int, timeout: float = 600.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.buf = bytearray()

    def _connect(self) -> None:
        self.close()
        s = socket.create_connection((self.host, self.port), timeout=self.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.buf = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send a pre-encoded request, return (status, body). Reconnects once if the server
        closed an idle keep-alive connection before answering."""
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(raw)
                return self._read_response()
            except _Closed:
                self.close()
                if attempt:
                    raise HttpError("connection closed by the server")
            except OSError:
                self.close()
                if attempt:
                    raise
        raise HttpError("unreachable")

    def _fill(self) -> None:
        chunk = self.sock.recv(262_144)
        if not chunk:
            raise _Closed()
        self.buf += chunk

    def _read_response(self) -> tuple[int, bytes]:
        started = len(self.buf) > 0
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            try:
                self._fill()
            except _Closed:
                if started:
                    raise HttpError("connection closed mid-response")
                raise
            started = True
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            body = self._read_chunked()
        else:
            length = length or 0
            while len(self.buf) < length:
                self._fill_mid()
            body = bytes(self.buf[:length])
            del self.buf[:length]
        if close:
            self.close()
        return status, body

    def _fill_mid(self) -> None:
        try:
            self._fill()
        except _Closed:
            raise HttpError("connection closed mid-response")

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            while b"\r\n" not in self.buf:
                self._fill_mid()
            i = self.buf.find(b"\r\n")
            size = int(bytes(self.buf[:i]).split(b";")[0], 16)
            del self.buf[: i + 2]
            while len(self.buf) < size + 2:
                self._fill_mid()
            out += self.buf[:size]
            del self.buf[: size + 2]
            if size == 0:
                return bytes(out)


class _Closed(Exception):
    pass
