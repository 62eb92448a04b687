"""A fake PayU REST v2.1 server that checks what the real one checks.

OAuth client_credentials (form-encoded) hands out bearer tokens; every API call needs one.
Order create validates merchantPosId and the string amounts and answers 302 (or 201) with a JSON
``redirectUri``; a client that follows the redirect lands on a page that says so. Notifications
are signed ``OpenPayu-Signature: sender=checkout;signature=<hash(body + second key)>;
algorithm=MD5;content=DOCUMENT`` and POSTed to the order's ``notifyUrl`` via ``deliver``.
Refunds: a repeated ``extRefundId`` is refused with 400 "Duplicated extRefundId" (nothing is paid
again); ``GET /api/v2_1/orders/{id}/refunds`` lists the order's refunds; ``lose_refund_answers``
makes the refund but loses the answer (504), as a timed-out proxy would.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256, "SHA256": hashlib.sha256, "SHA-512": hashlib.sha512}


def payu_signature(body: bytes, second_key: str, algorithm: str = "MD5") -> str:
    return HASHES[algorithm](body + second_key.encode()).hexdigest()


@dataclass
class Order:
    order_id: str
    body: dict
    status: str = "NEW"
    refunds: list = field(default_factory=list)


class FakePayU:
    def __init__(
        self, *, pos_id="300746", client_id="300746", client_secret="client-secret", second_key="second-key"
    ):
        self.pos_id, self.client_id, self.client_secret, self.second_key = (
            pos_id,
            client_id,
            client_secret,
            second_key,
        )
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.tokens: set[str] = set()
        self.orders: dict[str, Order] = {}
        self.create_status = 302
        self.fail_with: FakeResponse | None = None
        # refunds PayU makes but whose answer never reaches the shop (a proxy times out: 504)
        self.lose_refund_answers = 0
        self._ids = itertools.count(1)
        for method, path, handler in (
            ("POST", "/pl/standard/user/oauth/authorize", self._authorize),
            ("POST", "/api/v2_1/orders", self._create),
            ("POST", "/api/v2_1/orders/", self._order_post),
            ("PUT", "/api/v2_1/orders/", self._status),
            ("GET", "/api/v2_1/orders/", self._get),
            ("GET", "/pay/", lambda r: FakeResponse(200, b"<html>PayU pay-by-link page</html>")),
        ):
            self.server.route(method, path, self._guarded(handler, authenticated=path.startswith("/api/")))

    def __enter__(self) -> FakePayU:
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

    def calls(self, method: str, fragment: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and fragment in r.path]

    @staticmethod
    def _json(status: int, data, headers: dict | None = None) -> FakeResponse:
        return FakeResponse(
            status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    def _status_error(self, status: int, code: str, desc: str) -> FakeResponse:
        return self._json(status, {"status": {"statusCode": code, "statusDesc": desc}})

    def _guarded(self, handler, *, authenticated: bool):
        def wrapped(request):
            if self.fail_with is not None and request.path != "/pl/standard/user/oauth/authorize":
                return self.fail_with
            if authenticated:
                auth = request.headers.get("authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                    return self._status_error(401, "UNAUTHORIZED", "Invalid access token")
            return handler(request)

        return wrapped

    # --- endpoints ------------------------------------------------------------------------------

    def _authorize(self, request):
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return self._json(
                400, {"error": "invalid_request", "error_description": "form-encoded body expected"}
            )
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return self._json(
                400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return self._json(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return self._json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 43199,
                "grant_type": "client_credentials",
            },
        )

    def _create(self, request):
        data = json.loads(request.body or b"{}")
        required = (
            "customerIp",
            "merchantPosId",
            "description",
            "currencyCode",
            "totalAmount",
            "products",
            "notifyUrl",
        )
        missing = [k for k in required if not data.get(k)]
        if missing:
            return self._status_error(400, "ERROR_VALUE_MISSING", f"Missing required field: {missing[0]}")
        if data["merchantPosId"] != self.pos_id:
            return self._status_error(400, "ERROR_VALUE_INVALID", "Invalid merchantPosId")
        if not isinstance(data["totalAmount"], str) or not data["totalAmount"].isdigit():
            return self._status_error(400, "ERROR_VALUE_INVALID", "totalAmount must be a string of digits")
        order_id = f"WZHF5FFDRJ{next(self._ids):06d}GUEST000P01"
        self.orders[order_id] = Order(order_id, data)
        redirect = f"{self.url}/pay/?orderId={order_id}"
        body = {
            "status": {"statusCode": "SUCCESS"},
            "redirectUri": redirect,
            "orderId": order_id,
            "extOrderId": data.get("extOrderId", ""),
        }
        headers = {"Location": redirect} if self.create_status == 302 else {}
        return self._json(self.create_status, body, headers)

    def _order_id(self, request) -> str:
        return request.path.split("/api/v2_1/orders/", 1)[1].split("/", 1)[0]

    def _order_post(self, request):
        order = self.orders.get(self._order_id(request))
        if order is None or not request.path.endswith("/refunds"):
            return self._status_error(404, "DATA_NOT_FOUND", "Could not find order")
        refund = (json.loads(request.body or b"{}")).get("refund") or {}
        amount = int(refund.get("amount") or 0)
        done = sum(int(r["amount"]) for r in order.refunds)
        if order.status != "COMPLETED":
            return self._status_error(400, "ERROR_VALUE_INVALID", "Order is not completed")
        if any(r["extRefundId"] == refund.get("extRefundId") for r in order.refunds):
            return self._status_error(400, "ERROR_VALUE_INVALID", "Duplicated extRefundId")
        if amount <= 0 or amount + done > int(order.body["totalAmount"]):
            return self._status_error(400, "ERROR_VALUE_INVALID", "Refund amount exceeds order amount")
        created = {
            "refundId": f"5000{len(order.refunds) + 1:04d}",
            "extRefundId": refund.get("extRefundId", ""),
            "amount": str(amount),
            "currencyCode": order.body["currencyCode"],
            "description": refund.get("description", ""),
            "status": "PENDING",
        }
        order.refunds.append(created)
        if self.lose_refund_answers > 0:
            self.lose_refund_answers -= 1
            return self._status_error(504, "GATEWAY_TIMEOUT", "Upstream timed out")
        return self._json(
            200,
            {
                "orderId": order.order_id,
                "refund": created,
                "status": {"statusCode": "SUCCESS", "statusDesc": "Refund queued for processing"},
            },
        )

    def _status(self, request):
        order = self.orders.get(self._order_id(request))
        data = json.loads(request.body or b"{}")
        if order is None or data.get("orderStatus") != "COMPLETED":
            return self._status_error(400, "ERROR_VALUE_INVALID", "Bad status update")
        if order.status != "WAITING_FOR_CONFIRMATION":
            return self._status_error(400, "ERROR_ORDER_NOT_UNIQUE", "Order status cannot be changed")
        order.status = "COMPLETED"
        return self._json(200, {"status": {"statusCode": "SUCCESS", "statusDesc": "Status was updated"}})

    def _get(self, request):
        order = self.orders.get(self._order_id(request))
        if order is None:
            return self._status_error(404, "DATA_NOT_FOUND", "Could not find order")
        if request.path.endswith("/refunds"):  # "Retrieve all refunds data for the order"
            return self._json(200, {"refunds": order.refunds})
        b = order.body
        return self._json(
            200,
            {
                "orders": [
                    {
                        "orderId": order.order_id,
                        "extOrderId": b.get("extOrderId"),
                        "status": order.status,
                        "totalAmount": b["totalAmount"],
                        "currencyCode": b["currencyCode"],
                    }
                ],
                "status": {"statusCode": "SUCCESS"},
            },
        )

    # --- the gateway's side -----------------------------------------------------------------------

    def order_for(self, ext_order_id: str) -> Order:
        return next(o for o in self.orders.values() if o.body.get("extOrderId") == ext_order_id)

    def notification_body(self, order_id: str, status: str, **override) -> bytes:
        o = self.orders[order_id]
        b = o.body
        order = {
            "orderId": o.order_id,
            "extOrderId": b.get("extOrderId"),
            "orderCreateDate": "2026-11-23T10:00:00.000+01:00",
            "notifyUrl": b["notifyUrl"],
            "customerIp": b["customerIp"],
            "merchantPosId": b["merchantPosId"],
            "description": b["description"],
            "currencyCode": b["currencyCode"],
            "totalAmount": b["totalAmount"],
            "buyer": b.get("buyer", {}),
            "payMethod": {"type": "PBL"},
            "status": status,
            **override,
        }
        return json.dumps(
            {
                "order": order,
                "localReceiptDateTime": "2026-11-23T10:01:00.000+01:00",
                "properties": [{"name": "PAYMENT_ID", "value": "5000000001"}],
            }
        ).encode()

    def signed_headers(self, body: bytes, *, algorithm: str = "MD5", key: str | None = None) -> dict:
        sig = payu_signature(body, key or self.second_key, algorithm)
        return {
            "Content-Type": "application/json",
            "OpenPayu-Signature": f"sender=checkout;signature={sig};algorithm={algorithm};content=DOCUMENT",
        }

    def notify(
        self, order_id: str, status: str, deliver, *, algorithm="MD5", body: bytes | None = None, headers=None
    ):
        """The order moves to ``status`` at PayU, which tells the shop."""
        self.orders[order_id].status = status
        body = body or self.notification_body(order_id, status)
        return deliver(
            self.orders[order_id].body["notifyUrl"],
            body,
            headers or self.signed_headers(body, algorithm=algorithm),
        )

    def notify_refund(self, order_id: str, deliver, *, status="FINALIZED", index: int = -1):
        o = self.orders[order_id]
        refund = {**o.refunds[index], "status": status}
        o.refunds[index] = refund
        body = json.dumps(
            {"orderId": o.order_id, "extOrderId": o.body.get("extOrderId"), "refund": refund}
        ).encode()
        return deliver(o.body["notifyUrl"], body, self.signed_headers(body))
