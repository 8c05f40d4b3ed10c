"""A local tile service on 127.0.0.1 (started by the tests, no other address) with good and bad behaviours.

Paths are ``/<behaviour>/{z}/{x}/{y}.png``:

- ``good``: a 256 px PNG whose colour encodes the address;
- ``e500`` / ``e429``: HTTP 500 / 429 (with ``Retry-After: 0``) every time;
- ``e404``: HTTP 404 (no such tile: not worth a retry);
- ``flaky``: 503 on the first request of each tile, then the good tile;
- ``stall``: waits ``STALL_S`` before answering (longer than the tests' timeout);
- ``garbage``: status 200, ``image/png``, random bytes;
- ``html``: status 200 with an HTML error page (``text/html``);
- ``failat_X_Y``: good except tile x = X, y = Y, which fails with 500.
"""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

STALL_S = 3.0


def tile_png(z: int, x: int, y: int) -> bytes:
    rng = np.random.default_rng(z * 1_000_003 + x * 7 + y)
    image = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


class TileServer:
    """The running server: ``url(behaviour)`` gives a template; ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with server.lock:
                    server.hits[self.path] += 1
                    count = server.hits[self.path]
                parts = self.path.strip("/").split("/")
                kind, (z, x, y) = parts[0], (int(parts[1]), int(parts[2]), int(parts[3].split(".")[0]))
                if kind == "e500" or kind == f"failat_{x}_{y}":
                    return self._send(500, b"oops", "text/plain")
                if kind == "e404":
                    return self._send(404, b"no such tile", "text/plain")
                if kind == "e429":
                    return self._send(429, b"slow down", "text/plain", {"Retry-After": "0"})
                if kind == "flaky" and count == 1:
                    return self._send(503, b"busy", "text/plain")
                if kind == "stall":
                    time.sleep(STALL_S)
                if kind == "garbage":
                    return self._send(200, np.random.default_rng(x).bytes(3000), "image/png")
                if kind == "html":
                    page = b"<!DOCTYPE html><html><head><title>Tile quota exceeded</title></head><body>no</body></html>"
                    return self._send(200, page, "text/html; charset=utf-8")
                return self._send(200, tile_png(z, x, y), "image/png")

            def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (stall case)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    def url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{{z}}/{{x}}/{{y}}.png"

    def requests_to(self, kind: str) -> int:
        with self.lock:
            return sum(n for path, n in self.hits.items() if path.startswith(f"/{kind}/"))


@pytest.fixture(scope="module")
def tile_server() -> Iterator[TileServer]:
    server = TileServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
