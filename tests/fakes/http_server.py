"""A small local HTTP server for tests: routes, recorded requests, and misbehaviour on demand.

    with FakeHTTPServer() as server:
        server.route("GET", "/feed.xml", lambda req: FakeResponse(body=b"<offer/>"))
        httpx.get(server.url("/feed.xml"))
        assert server.requests[0].path == "/feed.xml"

Responses can be slow (``delay`` before the headers, ``chunk_delay`` between chunks), cut off
(``truncate_after``: a Content-Length is promised but the connection closes early) or endless
(``body`` an iterator of chunks without a Content-Length). Runs on 127.0.0.1 on a free port in a
daemon thread; any test may reuse it for an external API's documented protocol.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    truncate_after: int | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[RecordedRequest], FakeResponse]


class FakeHTTPServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, path: str, handler: Handler | FakeResponse) -> None:
        self.routes[(method.upper(), path)] = handler if callable(handler) else (lambda _req, r=handler: r)

    def url(self, path: str = "/") -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def start(self) -> FakeHTTPServer:
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def _dispatch(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = RecordedRequest(
                    self.command,
                    parts.path,
                    parts.query,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                fake.requests.append(request)
                handler = fake.routes.get((self.command, parts.path))
                response = handler(request) if handler else FakeResponse(404, b"not found")
                # The client may give up (size limit, timeout): that is the point of such a test.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(response)

            def _send(self, response: FakeResponse) -> None:
                if response.delay:
                    time.sleep(response.delay)
                self.send_response(response.status)
                streamed = not isinstance(response.body, bytes | bytearray)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if streamed:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                elif "Content-Length" not in response.headers:
                    self.send_header("Content-Length", str(len(response.body)))
                if response.truncate_after is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command == "HEAD" or response.status in (204, 304):
                    return
                if streamed:
                    for chunk in response.body:
                        self.wfile.write(chunk)
                        if response.chunk_delay:
                            time.sleep(response.chunk_delay)
                    return
                data = bytes(response.body)
                if response.truncate_after is not None:
                    data = data[: response.truncate_after]
                if response.chunk_delay:
                    for i in range(0, len(data), 1024):
                        self.wfile.write(data[i : i + 1024])
                        self.wfile.flush()
                        time.sleep(response.chunk_delay)
                else:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHTTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
