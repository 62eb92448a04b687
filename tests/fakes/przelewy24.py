"""A fake Przelewy24 REST v1 server that checks what the real one checks.

HTTP Basic posId:apiKey on every call; ``sign`` (SHA-384 of the compact JSON of the documented
fields, CRC last) on register, verify and refunds' notifications; errors in P24's documented
shape ``{"error": "...", "code": N}``. A test plays the shopper with :meth:`pay` (or
``chargeByCode`` for BLIK) and then :meth:`notify`, which POSTs the signed notification to the
``urlStatus`` given at register through ``deliver(url, body, headers) -> status``.
Refunds: a repeated ``refundsUuid`` is refused with 409 (nothing is paid again);
``GET /api/v1/refund/by/orderId/{orderId}`` lists a transaction's refunds by ``requestId``;
``lose_refund_answers`` makes the refund but loses the answer (504), as a timed-out proxy would.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest


def p24_sign(fields: dict, crc: str) -> str:
    text = json.dumps({**fields, "crc": crc}, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha384(text.encode("utf-8")).hexdigest()


class PrefixRoutes(dict):
    """Exact routes first, then the longest registered prefix ending in "/" (for ids in paths)."""

    def get(self, key, default=None):
        if key in self:
            return self[key]
        method, path = key
        prefixes = [p for (m, p) in self if m == method and p.endswith("/") and path.startswith(p)]
        return self[(method, max(prefixes, key=len))] if prefixes else default


def django_deliver(client):
    """Deliver a gateway's POST through Django's test client (in-process)."""

    def deliver(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        response = client.post(
            urlsplit(url).path,
            data=body,
            content_type=headers.get("Content-Type", "application/json"),
            headers=extra,
        )
        return response.status_code, response.content

    return deliver


@dataclass
class Transaction:
    token: str
    body: dict
    order_id: int
    paid: bool = False
    verified: bool = False
    method_id: int = 154
    refunded: int = 0
    refunds: list = field(default_factory=list)


class FakePrzelewy24:
    def __init__(
        self,
        *,
        merchant_id: int = 111111,
        pos_id: int = 111111,
        api_key: str = "api-key",
        crc: str = "crc-key",
    ):
        self.merchant_id, self.pos_id, self.api_key, self.crc = merchant_id, pos_id, api_key, crc
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.transactions: dict[str, Transaction] = {}  # by token
        self.fail_with: FakeResponse | None = None  # answer every API call with this (5xx, delay)
        self.verify_answer: FakeResponse | None = None
        # BLIK codes the "bank" refuses, with P24's answer (e.g. an expired or mistyped code)
        self.blik_answers: dict[str, FakeResponse] = {}
        # refunds P24 makes but whose answer never reaches the shop (a proxy times out: 504)
        self.lose_refund_answers = 0
        self._refund_ids = itertools.count(70001)
        self._ids = itertools.count(300000001)
        api = "/api/v1"
        for method, path, handler in (
            ("GET", f"{api}/testAccess", self._test_access),
            ("POST", f"{api}/transaction/register", self._register),
            ("PUT", f"{api}/transaction/verify", self._verify),
            ("POST", f"{api}/transaction/refund", self._refund),
            ("POST", f"{api}/paymentMethod/blik/chargeByCode", self._blik),
            ("GET", f"{api}/transaction/by/sessionId/", self._by_session),
            ("GET", f"{api}/refund/by/orderId/", self._refunds_by_order),
            ("GET", "/trnRequest/", self._page),
        ):
            self.server.route(method, path, self._guarded(handler, authenticated=path.startswith(api)))

    # --- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakePrzelewy24:
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

    def calls(self, suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    # --- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, data) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, message: str) -> FakeResponse:
        return self._json(status, {"error": message, "code": status})

    def _guarded(self, handler, *, authenticated: bool):
        def wrapped(request: RecordedRequest) -> FakeResponse:
            if authenticated and self.fail_with is not None:
                return self.fail_with
            if authenticated:
                expected = base64.b64encode(f"{self.pos_id}:{self.api_key}".encode()).decode()
                if request.headers.get("authorization") != f"Basic {expected}":
                    return self._error(401, "Incorrect authentication")
            return handler(request)

        return wrapped

    def _body(self, request: RecordedRequest) -> dict | None:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    # --- endpoints ------------------------------------------------------------------------------

    def _test_access(self, request):
        return self._json(200, {"data": True, "error": ""})

    def _register(self, request):
        data = self._body(request)
        required = (
            "merchantId",
            "posId",
            "sessionId",
            "amount",
            "currency",
            "description",
            "email",
            "country",
            "language",
            "urlReturn",
            "sign",
        )
        if data is None or any(k not in data for k in required):
            return self._error(400, "Invalid input data")
        if data["merchantId"] != self.merchant_id or data["posId"] != self.pos_id:
            return self._error(400, "Incorrect merchantId or posId")
        expected = p24_sign({k: data[k] for k in ("sessionId", "merchantId", "amount", "currency")}, self.crc)
        if data["sign"] != expected:
            return self._error(400, "Incorrect sign")
        if any(t.body["sessionId"] == data["sessionId"] for t in self.transactions.values()):
            return self._error(400, "Transaction with this sessionId already registered")
        token = secrets.token_hex(18).upper()
        self.transactions[token] = Transaction(token, data, next(self._ids))
        return self._json(200, {"data": {"token": token}, "responseCode": 0})

    def _page(self, request):
        token = request.path.rsplit("/", 1)[-1]
        if token not in self.transactions:
            return FakeResponse(404, b"unknown token")
        return FakeResponse(200, b"<html>Przelewy24 payment page</html>", {"Content-Type": "text/html"})

    def _transaction_for(self, session_id: str) -> Transaction | None:
        return next((t for t in self.transactions.values() if t.body["sessionId"] == session_id), None)

    def _verify(self, request):
        if self.verify_answer is not None:
            return self.verify_answer
        data = self._body(request)
        required = ("merchantId", "posId", "sessionId", "amount", "currency", "orderId", "sign")
        if data is None or any(k not in data for k in required):
            return self._error(400, "Invalid input data")
        if data["sign"] != p24_sign(
            {k: data[k] for k in ("sessionId", "orderId", "amount", "currency")}, self.crc
        ):
            return self._error(400, "Incorrect sign")
        trn = self._transaction_for(data["sessionId"])
        if trn is None or not trn.paid or trn.order_id != data["orderId"]:
            return self._error(400, "Transaction not found")
        if data["amount"] != trn.body["amount"] or data["currency"] != trn.body["currency"]:
            return self._error(400, "Incorrect amount")
        trn.verified = True
        return self._json(200, {"data": {"status": "success"}, "responseCode": 0})

    def _refund(self, request):
        data = self._body(request)
        if (
            data is None
            or not data.get("requestId")
            or not data.get("refundsUuid")
            or not data.get("refunds")
        ):
            return self._error(400, "Invalid input data")
        if any(
            r["refundsUuid"] == data["refundsUuid"] for t in self.transactions.values() for r in t.refunds
        ):
            # P24 documents 409 Conflict for transaction/refund without the wording for a repeated
            # refundsUuid: nothing is refunded again and the shop must not rely on the message.
            items = [
                {**item, "status": False, "message": "Refund already requested"} for item in data["refunds"]
            ]
            return self._json(409, {"error": items, "code": 409})
        results = []
        for item in data["refunds"]:
            trn = self._transaction_for(item.get("sessionId", ""))
            ok = (
                trn is not None
                and trn.verified
                and trn.order_id == item.get("orderId")
                and 0 < item.get("amount", 0) <= trn.body["amount"] - trn.refunded
            )
            if ok:
                trn.refunded += item["amount"]
                trn.refunds.append(
                    {
                        **item,
                        "refundId": next(self._refund_ids),
                        "requestId": data["requestId"],
                        "refundsUuid": data["refundsUuid"],
                        "urlStatus": data.get("urlStatus", ""),
                        "status": 2,  # 1 completed, 2 pending, 3 waiting for acceptance, 4 rejected
                    }
                )
            results.append({**item, "status": ok, "message": "success" if ok else "Refund not possible"})
        if not all(r["status"] for r in results):
            return self._json(400, {"error": results, "code": 400})
        if self.lose_refund_answers > 0:
            self.lose_refund_answers -= 1
            return self._error(504, "Gateway Timeout")
        return self._json(201, {"data": results, "responseCode": 0})

    def _refunds_by_order(self, request):
        order_id = request.path.rsplit("/", 1)[-1]
        trn = next((t for t in self.transactions.values() if str(t.order_id) == order_id), None)
        if trn is None or not trn.refunds:
            return self._error(404, "Refund with given Order Id not found")
        refunds = [
            {
                "refundId": r["refundId"],
                "orderId": trn.order_id,
                "requestId": r["requestId"],
                "dateIn": "2026-11-23 10:00:00",
                "dateOut": "2026-11-23 10:05:00" if r["status"] == 1 else "",
                "status": r["status"],
                "description": r.get("description", ""),
            }
            for r in trn.refunds
        ]
        body = {
            "orderId": trn.order_id,
            "sessionId": trn.body["sessionId"],
            "amount": trn.body["amount"],
            "currency": trn.body["currency"],
            "refunds": refunds,
        }
        return self._json(200, {"data": body, "responseCode": 0})

    def _blik(self, request):
        data = self._body(request) or {}
        trn = self.transactions.get(data.get("token", ""))
        if trn is None:
            return self._error(400, "Incorrect token")
        if "PSU" not in (trn.body.get("additional") or {}):
            return self._error(400, "Missing PSU data")
        code = str(data.get("blikCode", ""))
        if len(code) != 6 or not code.isdigit():
            return self._error(400, "Incorrect blikCode")
        if code in self.blik_answers:
            return self.blik_answers[code]
        trn.method_id = 181
        trn.paid = code != "000000"  # 000000: the shopper's bank declines
        return self._json(200, {"data": {"orderId": trn.order_id, "message": "success"}, "responseCode": 0})

    def _by_session(self, request):
        trn = self._transaction_for(request.path.rsplit("/", 1)[-1])
        if trn is None:
            return self._error(404, "Transaction not found")
        status = 3 if trn.refunded else 2 if trn.verified else 1 if trn.paid else 0
        body = trn.body
        return self._json(
            200,
            {
                "data": {
                    "orderId": trn.order_id,
                    "sessionId": body["sessionId"],
                    "status": status,
                    "amount": body["amount"],
                    "currency": body["currency"],
                },
                "responseCode": 0,
            },
        )

    # --- the shopper and the gateway's worker --------------------------------------------------

    def token_for(self, session_id: str) -> str:
        trn = self._transaction_for(session_id)
        assert trn is not None, f"no transaction registered for {session_id}"
        return trn.token

    def pay(self, token: str) -> Transaction:
        trn = self.transactions[token]
        trn.paid = True
        return trn

    def notification(self, token: str, **override) -> dict:
        """The notification P24 sends about a paid transaction, signed (``override`` tampers
        with fields *after* signing unless ``resign=True``)."""
        trn = self.transactions[token]
        resign = override.pop("resign", False)
        body = {
            "merchantId": self.merchant_id,
            "posId": self.pos_id,
            "sessionId": trn.body["sessionId"],
            "amount": trn.body["amount"],
            "originAmount": trn.body["amount"],
            "currency": trn.body["currency"],
            "orderId": trn.order_id,
            "methodId": trn.method_id,
            "statement": f"p24-{trn.order_id}",
        }
        if resign:
            body.update(override)
        body["sign"] = p24_sign(dict(body), self.crc)
        if not resign:
            body.update(override)
        return body

    def notify(self, token: str, deliver, **override) -> tuple[int, bytes]:
        trn = self.transactions[token]
        body = json.dumps(self.notification(token, **override)).encode()
        return deliver(trn.body["urlStatus"], body, {"Content-Type": "application/json"})

    def notify_refund(self, token: str, deliver, *, status: int = 0, index: int = -1) -> tuple[int, bytes]:
        trn = self.transactions[token]
        refund = trn.refunds[index]
        refund["status"] = 1 if status == 0 else 4  # what refund/by/orderId shows from now on
        fields = {
            "orderId": trn.order_id,
            "sessionId": trn.body["sessionId"],
            "refundsUuid": refund["refundsUuid"],
            "merchantId": self.merchant_id,
            "amount": refund["amount"],
            "currency": trn.body["currency"],
            "status": status,
        }
        body = {
            **fields,
            "requestId": refund.get("requestId", ""),
            "timestamp": 1700000000,
            "sign": p24_sign(fields, self.crc),
        }
        return deliver(refund["urlStatus"], json.dumps(body).encode(), {"Content-Type": "application/json"})
