"""A fake Zalando zDirect API: client-credentials tokens, stocks and prices per EAN and channel.

``POST /auth/token`` (HTTP Basic client id/secret, ``grant_type=client_credentials``) hands out
bearer tokens that ``/merchants/{merchant_id}/stocks`` and ``/prices`` require. Stocks answer
each item with ``result.status`` ACCEPTED, or REJECTED for an unknown sales channel, an EAN not
onboarded (``unknown_eans``) or a bad quantity; prices answer 207 with a ``results`` entry per
price: ACCEPTED (validated later) or REJECTED (currency, amount). More than 1,000 items is a 400.

Misbehaviour: ``script`` (FakeResponse served before the real answer), ``expire_tokens()``.
"""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

MAX_ITEMS = 1000


class FakeZalando:
    def __init__(
        self, *, merchant_id="m-123", client_id="zal-client", client_secret="zal-secret", channels=None
    ):
        self.merchant_id = merchant_id
        self.client_id, self.client_secret = client_id, client_secret
        self.channels = channels or {"01924c48-49bb-40c2-9c32-ab582e6db6f4": "PLN"}
        self.tokens: set[str] = set()
        self.token_requests = 0
        self.stock: dict[tuple[str, str], int] = {}
        self.prices: dict[tuple[str, str], dict] = {}
        self.unknown_eans: set[str] = set()
        self.script: list[FakeResponse] = []
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.server.route("POST", "/auth/token", self._token)
        self.server.route("POST", "/merchants/", self._merchant)

    def __enter__(self) -> FakeZalando:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("").rstrip("/")

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def calls(self, fragment: str) -> list[dict]:
        return [json.loads(r.body) for r in self.requests if fragment in r.path and r.body]

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _json(self, status: int, data) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _token(self, request: RecordedRequest) -> FakeResponse:
        self.token_requests += 1
        if self.script:
            return self.script.pop(0)
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = parse_qs(request.body.decode())
        if request.headers.get("authorization") != expected:
            return self._json(401, {"error": "invalid_client"})
        if form.get("grant_type") != ["client_credentials"]:
            return self._json(400, {"error": "unsupported_grant_type"})
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 7200})

    def _merchant(self, request: RecordedRequest) -> FakeResponse:
        if self.script:
            return self.script.pop(0)
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self._json(401, {"title": "Unauthorized"})
        parts = request.path.strip("/").split("/")
        if len(parts) != 3 or parts[1] != self.merchant_id:
            return self._json(403, {"title": "Forbidden", "detail": "merchant not accessible"})
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._json(400, {"title": "Bad Request", "detail": "malformed JSON"})
        if parts[2] == "stocks":
            return self._stocks(body)
        if parts[2] == "prices":
            return self._prices(body)
        return self._json(404, {"title": "Not Found"})

    def _stocks(self, body) -> FakeResponse:
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return self._json(400, {"title": "Bad Request", "detail": "items required"})
        if len(items) > MAX_ITEMS:
            return self._json(400, {"title": "Bad Request", "detail": "too many items"})
        out = []
        for item in items:
            channel, ean, quantity = item.get("sales_channel_id"), str(item.get("ean")), item.get("quantity")
            if channel not in self.channels:
                result = {"status": "REJECTED", "code": "3", "description": "Unknown sales channel"}
            elif not isinstance(quantity, int) or quantity < 0:
                result = {"status": "REJECTED", "code": "2", "description": "Invalid quantity"}
            elif ean in self.unknown_eans:
                result = {"status": "REJECTED", "code": "1", "description": "EAN not found for merchant"}
            else:
                self.stock[(channel, ean)] = quantity
                result = {"status": "ACCEPTED", "code": "0"}
            out.append({"item": item, "result": result})
        return self._json(
            207 if any(o["result"]["status"] != "ACCEPTED" for o in out) else 200, {"items": out}
        )

    def _prices(self, body) -> FakeResponse:
        prices = body.get("product_prices") if isinstance(body, dict) else None
        if not isinstance(prices, list) or not prices:
            return self._json(400, {"title": "Bad Request", "detail": "product_prices required"})
        if len(prices) > MAX_ITEMS:
            return self._json(400, {"title": "Bad Request", "detail": "too many prices"})
        out = []
        for price in prices:
            channel, ean = price.get("sales_channel_id"), str(price.get("ean"))
            regular = price.get("regular_price") or {}
            if channel not in self.channels:
                entry = {
                    "status": "REJECTED",
                    "code": "UNKNOWN_SALES_CHANNEL",
                    "description": "Unknown sales channel",
                }
            elif regular.get("currency") != self.channels[channel]:
                entry = {
                    "status": "REJECTED",
                    "code": "REJECTED_CURRENCY_DOES_NOT_MATCH_SALES_CHANNEL",
                    "description": "The price needs to be set in local currency.",
                }
            elif not isinstance(regular.get("amount"), int | float) or regular["amount"] <= 0:
                entry = {
                    "status": "REJECTED",
                    "code": "INVALID_AMOUNT",
                    "description": "Amount must be positive",
                }
            else:
                self.prices[(channel, ean)] = regular
                entry = {"status": "ACCEPTED", "code": "0"}
            out.append({"product_price": price, **entry})
        return self._json(207, {"results": out})
