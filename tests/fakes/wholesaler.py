"""A fake wholesaler ("hurtownia") speaking the protocol real ones use for feeds and orders:

- ``GET /feeds/<name>``: feed files behind HTTP Basic auth (401 without it), gzip when the client
  accepts it and ``gzip`` is on, an ``ETag`` per content answered with 304 to ``If-None-Match``;
  per-file misbehaviour via ``modes[name]``: ``truncate`` (promise more bytes than sent),
  ``slow`` (headers only after ``slow_seconds``), ``fail:N`` (503 N times, then fine),
  ``ratelimit`` (429 with ``Retry-After: 1`` once), ``huge`` (an endless stream, no length).
- ``GET /img/<name>``: product images (or anything else put in ``images``).
- ``POST /api/orders``: purchase orders as JSON with a Bearer token; answers 201
  ``{"id": "ZAM/…", "status": "accepted"}``; ``order_mode`` ``reject`` answers 422 and ``fail``
  answers 503. Received orders are kept in ``orders``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json

from .http_server import FakeHTTPServer, FakeResponse, RecordedRequest


class FakeWholesaler:
    def __init__(
        self, *, username: str = "sklep", password: str = "tajne-haslo-1234", token: str = "tok-abc-9876"
    ):
        self.server = FakeHTTPServer()
        self.username, self.password, self.token = username, password, token
        self.files: dict[str, bytes] = {}
        self.images: dict[str, bytes] = {}
        self.modes: dict[str, str] = {}
        self.gzip = True
        self.slow_seconds = 2.0
        self.order_mode = "accept"
        self.orders: list[dict] = []
        self._failures: dict[str, int] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeWholesaler:
        self.server.start()
        for name in list(self.files):
            self._route_feed(name)
        self.server.route("POST", "/api/orders", self._order)
        return self

    def stop(self) -> None:
        self.server.stop()

    def feed_url(self, name: str) -> str:
        return self.server.url(f"/feeds/{name}")

    def image_url(self, name: str) -> str:
        self.server.route("GET", f"/img/{name}", lambda req, n=name: self._image(n))
        return self.server.url(f"/img/{name}")

    def add_feed(self, name: str, content: bytes) -> str:
        self.files[name] = content
        if self.server._server is not None:
            self._route_feed(name)
        return self.feed_url(name) if self.server._server is not None else ""

    @property
    def requests(self):
        return self.server.requests

    # --- handlers -------------------------------------------------------------------------------

    def _route_feed(self, name: str) -> None:
        self.server.route("GET", f"/feeds/{name}", lambda req, n=name: self._feed(n, req))

    def _authorised(self, req: RecordedRequest) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return req.headers.get("authorization") == f"Basic {expected}"

    def _feed(self, name: str, req: RecordedRequest) -> FakeResponse:
        if not self._authorised(req):
            return FakeResponse(401, b"login required", {"WWW-Authenticate": 'Basic realm="hurtownia"'})
        mode = self.modes.get(name, "")
        if mode.startswith("fail:"):
            left = self._failures.setdefault(name, int(mode.split(":")[1]))
            if left > 0:
                self._failures[name] = left - 1
                return FakeResponse(503, b"busy")
        if mode == "ratelimit" and not self._failures.get(f"rl:{name}"):
            self._failures[f"rl:{name}"] = 1
            return FakeResponse(429, b"slow down", {"Retry-After": "1"})
        if mode == "huge":
            chunk = b"<!-- " + b"x" * 65000 + b" -->\n"
            return FakeResponse(200, itertools.chain([b"<offer><products>"], itertools.repeat(chunk)))
        content = self.files[name]
        etag = '"' + hashlib.sha1(content).hexdigest() + '"'  # noqa: S324 - an ETag, not security
        if req.headers.get("if-none-match") == etag:
            return FakeResponse(304, b"", {"ETag": etag})
        headers = {"ETag": etag, "Content-Type": "application/xml"}
        body = content
        if self.gzip and "gzip" in req.headers.get("accept-encoding", ""):
            body = gzip.compress(content)
            headers["Content-Encoding"] = "gzip"
        if mode == "truncate":
            return FakeResponse(200, body, headers, truncate_after=len(body) // 2)
        if mode == "slow":
            return FakeResponse(200, body, headers, delay=self.slow_seconds)
        return FakeResponse(200, body, headers)

    def _image(self, name: str) -> FakeResponse:
        data = self.images.get(name)
        if data is None:
            return FakeResponse(404, b"no such image")
        return FakeResponse(200, data, {"Content-Type": "image/jpeg"})

    def _order(self, req: RecordedRequest) -> FakeResponse:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return FakeResponse(401, b'{"error": "bad token"}', {"Content-Type": "application/json"})
        if self.order_mode == "fail":
            return FakeResponse(503, b"down")
        if self.order_mode == "reject":
            return FakeResponse(
                422, b'{"error": "unknown product code"}', {"Content-Type": "application/json"}
            )
        data = json.loads(req.body or b"{}")
        self.orders.append(data)
        answer = {"id": f"ZAM/{len(self.orders)}", "status": "accepted"}
        return FakeResponse(201, json.dumps(answer).encode(), {"Content-Type": "application/json"})
