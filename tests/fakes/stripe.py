"""A fake Stripe API (Checkout Sessions, Refunds, Balance) and Stripe's webhook sender.

Requests are form-encoded with ``Authorization: Bearer sk_...``; errors have Stripe's shape
``{"error": {"type": ..., "message": ...}}``. :meth:`complete` plays the shopper paying on the
hosted page; :meth:`send` POSTs an event signed ``Stripe-Signature: t=<unix>,v1=<hex>`` with
HMAC-SHA256(endpoint secret, f"{t}.{body}") through ``deliver``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from urllib.parse import parse_qsl

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes


def stripe_signature(payload: bytes, timestamp: int, secret: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


class FakeStripe:
    def __init__(self, *, secret_key="sk_test_51Fake", webhook_secret="whsec_fake"):
        self.secret_key, self.webhook_secret = secret_key, webhook_secret
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.sessions: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.idempotency: dict[str, bytes] = {}
        self.fail_with: FakeResponse | None = None
        # Process the next N POSTs but answer 503, as when the answer is lost on the way back.
        self.lose_answers = 0
        self._ids = itertools.count(1)
        for method, path, handler in (
            ("POST", "/v1/checkout/sessions", self._create_session),
            ("GET", "/v1/checkout/sessions/", self._get_session),
            ("POST", "/v1/refunds", self._refund),
            ("GET", "/v1/balance", lambda r: self._json(200, {"object": "balance", "livemode": False})),
        ):
            self.server.route(method, path, self._guarded(handler))

    def __enter__(self) -> FakeStripe:
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

    def calls(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path)]

    @staticmethod
    def _json(status: int, data) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> FakeResponse:
        return self._json(status, {"error": {"type": kind, "message": message}})

    def _guarded(self, handler):
        def wrapped(request: RecordedRequest) -> FakeResponse:
            if self.fail_with is not None:
                return self.fail_with
            if request.headers.get("authorization") != f"Bearer {self.secret_key}":
                return self._error(401, "Invalid API Key provided")
            key = request.headers.get("idempotency-key")
            if request.method == "POST" and key and (request.path, key) in self.idempotency:
                return self._json(200, json.loads(self.idempotency[(request.path, key)]))
            response = handler(request)
            if request.method == "POST" and key and response.status < 400:
                self.idempotency[(request.path, key)] = response.body
            if request.method == "POST" and self.lose_answers:
                self.lose_answers -= 1
                return self._error(503, "answer lost", kind="api_error")
            return response

        return wrapped

    def _form(self, request) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return {}
        return dict(parse_qsl(request.body.decode()))

    def _create_session(self, request):
        form = self._form(request)
        if form.get("mode") != "payment":
            return self._error(400, "Missing required param: mode.")
        for name in (
            "success_url",
            "line_items[0][price_data][currency]",
            "line_items[0][price_data][unit_amount]",
        ):
            if not form.get(name):
                return self._error(400, f"Missing required param: {name}.")
        amount = int(form["line_items[0][price_data][unit_amount]"]) * int(
            form.get("line_items[0][quantity]", "1")
        )
        session_id = f"cs_test_{next(self._ids):04d}{secrets.token_hex(8)}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.url}/c/pay/{session_id}",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": amount,
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "payment_intent": None,
            "success_url": form["success_url"],
        }
        self.sessions[session_id] = session
        return self._json(200, session)

    def _get_session(self, request):
        session = self.sessions.get(request.path.rsplit("/", 1)[-1])
        if session is None:
            return self._error(404, "No such checkout.session")
        return self._json(200, session)

    def _refund(self, request):
        form = self._form(request)
        intent = form.get("payment_intent", "")
        session = next((s for s in self.sessions.values() if s["payment_intent"] == intent), None)
        if session is None:
            return self._error(400, f"No such payment_intent: '{intent}'")
        amount = int(form.get("amount") or session["amount_total"])
        done = sum(r["amount"] for r in self.refunds if r["payment_intent"] == intent)
        if amount + done > session["amount_total"]:
            return self._error(400, "Refund amount is greater than unrefunded amount on charge")
        refund = {
            "id": f"re_{secrets.token_hex(8)}",
            "object": "refund",
            "amount": amount,
            "currency": session["currency"],
            "payment_intent": intent,
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return self._json(200, refund)

    # --- the shopper and Stripe's webhook sender -------------------------------------------------

    def complete(self, session_id: str, *, payment_status: str = "paid") -> dict:
        session = self.sessions[session_id]
        session.update(
            status="complete", payment_status=payment_status, payment_intent=f"pi_{secrets.token_hex(8)}"
        )
        return session

    def event(self, kind: str, obj: dict) -> bytes:
        return json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "object": "event",
                "type": kind,
                "created": int(time.time()),
                "data": {"object": obj},
            }
        ).encode()

    def headers(self, body: bytes, *, timestamp: int | None = None, secret: str | None = None) -> dict:
        ts = int(time.time()) if timestamp is None else timestamp
        sig = stripe_signature(body, ts, secret or self.webhook_secret)
        return {"Content-Type": "application/json", "Stripe-Signature": f"t={ts},v1={sig}"}

    def send(self, deliver, url: str, kind: str, obj: dict, **sign) -> tuple[int, bytes]:
        body = self.event(kind, obj)
        return deliver(url, body, self.headers(body, **sign))
