"""A server on loopback that answers every request badly, in one of several ways (the hostile-resources corpus).

    with hostile("garbage") as port: ...

Modes: ``garbage`` (bytes that are no HTTP), ``html`` (200 text/html to everything), ``array`` (a JSON array for
every body), ``deep`` (JSON nested 100,000 deep), ``headers`` (more than 100 header lines), ``huge`` (a 5 GB
Content-Length, then nothing), ``trickle`` (a body one byte every 0.5 s), ``silent`` (reads the request, never
answers), ``close`` (closes the connection at once), ``mute`` (accepts and never says anything),
``plain`` (a plain HTTP server answering 400 to anything,
a TLS handshake too)."""
from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time


def _answer(mode: str) -> bytes | None:
    def http(body: bytes, ctype: str = "application/json", extra: str = "") -> bytes:
        return (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}"
                "Connection: close\r\n\r\n").encode() + body
    return {
        "garbage": b"\x16\x03\x01\x00\xa5 not http at all \xff\xfe\r\n\r\n",
        "html": http(b"<html><body>hello</body></html>", "text/html"),
        "array": http(b"[1, 2, 3]"),
        "deep": http(b"[" * 100_000 + b"]" * 100_000),
        "headers": http(b"{}", extra="".join(f"X-H{i}: {i}\r\n" for i in range(150))),
        "huge": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000000000\r\n\r\n{",
    }.get(mode)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        mode = self.server.mode  # type: ignore[attr-defined]
        self.request.settimeout(5)
        with contextlib.suppress(OSError):
            if mode == "close":
                return
            if mode == "mute":  # accepts, and says nothing (a database client waits for the server to speak)
                time.sleep(60)
                return
            if mode == "plain":  # a plain HTTP server: whatever comes (a TLS handshake too) is a bad request
                self.request.recv(65536)
                self.request.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                data += chunk
            if mode == "silent":
                time.sleep(60)
                return
            if mode == "trickle":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: 60\r\n\r\n")
                for _ in range(60):
                    self.request.sendall(b" ")
                    time.sleep(0.5)
                return
            self.request.sendall(_answer(mode) or b"")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def hostile(mode: str):
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mode = mode  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
