"""A fake Apaczka API v2 server that checks what the real one checks.

Every call is a form POST to ``/api/v2/<route>`` with ``app_id``, ``request`` (JSON), ``expires``
and ``signature`` = hex HMAC-SHA256(app_secret, "app_id:route:request:expires"), the route with
its trailing slash; ``expires`` must lie in the future and at most 30 minutes ahead. Answers are
``{"status": 200, "message": "", "response": {...}}``; errors keep HTTP 200 and put the code and
message in the body. ``order_send`` validates like Apaczka (service, addresses, parcel, cash on
delivery needs a bank account) and creates the order at once with its waybill number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.inpost_shipx import pdf_pages
from tests.fakes.przelewy24 import PrefixRoutes

SERVICES = {"21": "InPost Paczkomat", "41": "DPD Classic", "82": "DHL Parcel"}


def apaczka_signature(app_id: str, secret: str, route: str, request: str, expires: str) -> str:
    message = f"{app_id}:{route}:{request}:{expires}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass
class FakeOrder:
    id: int
    body: dict
    waybill_number: str
    status: str = "NEW"

    def as_json(self) -> dict:
        return {
            "id": str(self.id),
            "service_id": str(self.body.get("service_id")),
            "service_name": SERVICES.get(str(self.body.get("service_id")), ""),
            "waybill_number": self.waybill_number,
            "tracking_url": f"https://www.apaczka.pl/sledz-przesylke/?waybill_number={self.waybill_number}",
            "status": self.status,
            "comment": self.body.get("comment", ""),
            "content": self.body.get("content", ""),
            "created": "2026-11-23 08:00:00",
            "receiver": (self.body.get("address") or {}).get("receiver"),
            "cod": self.body.get("cod"),
        }


class FakeApaczka:
    def __init__(self, *, app_id: str = "123456_abcdef", app_secret: str = "apaczka-secret"):
        self.app_id = app_id
        self.app_secret = app_secret
        self.orders: dict[int, FakeOrder] = {}
        self.fail_with: FakeResponse | None = None
        self.next_send: str = ""  # "timeout" (creates, answers late) or "500"
        self.send_delay = 0.0
        self.clock = time.time  # what "now" is for the expiry check
        self._ids = itertools.count(5001)
        self._numbers = itertools.count(1)
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.server.route("POST", "/api/v2/", self._dispatch)

    def __enter__(self) -> FakeApaczka:
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

    def calls(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == f"/api/v2/{route}"]

    def sent_orders(self) -> list[dict]:
        return [
            json.loads(parse_qs(r.body.decode())["request"][0])["order"] for r in self.calls("order_send/")
        ]

    def by_comment(self, comment: str) -> FakeOrder | None:
        return next((o for o in self.orders.values() if o.body.get("comment") == comment), None)

    def advance(self, waybill_number: str, status: str) -> None:
        next(o for o in self.orders.values() if o.waybill_number == waybill_number).status = status

    # --- plumbing -----------------------------------------------------------------------------

    @staticmethod
    def _answer(status: int, message: str = "", response=None, *, http: int = 200) -> FakeResponse:
        body = {"status": status, "message": message, "response": response if response is not None else []}
        return FakeResponse(http, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _dispatch(self, request: RecordedRequest) -> FakeResponse:
        if self.fail_with is not None:
            return self.fail_with
        route = request.path[len("/api/v2/") :]
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return self._answer(400, "Form data expected")
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
        missing = [k for k in ("app_id", "request", "expires", "signature") if k not in form]
        if missing:
            return self._answer(400, f"Missing parameter: {missing[0]}")
        if form["app_id"] != self.app_id:
            return self._answer(401, "Invalid app_id")
        if not form["expires"].isdigit():
            return self._answer(400, "Invalid expires")
        now = int(self.clock())
        expires = int(form["expires"])
        if expires < now:
            return self._answer(400, "Request expired")
        if expires > now + 1800:
            return self._answer(400, "Expires too far in the future")
        expected = apaczka_signature(self.app_id, self.app_secret, route, form["request"], form["expires"])
        if not hmac.compare_digest(expected, form["signature"]):
            return self._answer(401, "Invalid signature")
        try:
            data = json.loads(form["request"]) if form["request"] else {}
        except ValueError:
            return self._answer(400, "Invalid request JSON")
        for prefix, handler in (
            ("service_structure/", self._services),
            ("order_send/", self._send),
            ("orders/", self._orders),
            ("order/", self._order),
            ("waybill/", self._waybill),
            ("cancel_order/", self._cancel),
            ("turn_in/", self._turn_in),
        ):
            if route == prefix or (prefix.endswith("/") and route.startswith(prefix) and prefix != "orders/"):
                return handler(route, data)
        return self._answer(404, "Unknown route")

    def _order_from(self, route: str) -> FakeOrder | None:
        match = re.fullmatch(r"[a-z_]+/(\d+)/", route)
        return self.orders.get(int(match.group(1))) if match else None

    # --- routes ---------------------------------------------------------------------------------

    def _services(self, route, data):
        services = [{"service_id": k, "name": v, "supplier": v.split()[0]} for k, v in SERVICES.items()]
        return self._answer(200, "", {"services": services, "options": [], "package_type": ["PACZKA"]})

    def _send(self, route, data):
        mode, self.next_send = self.next_send, ""
        if mode == "500":
            return self._answer(500, "Internal error", http=500)
        order = data.get("order") if isinstance(data, dict) else None
        if not isinstance(order, dict):
            return self._answer(400, "Missing order")
        if str(order.get("service_id")) not in SERVICES:
            return self._answer(400, "Unknown service_id")
        address = order.get("address") or {}
        for side in ("sender", "receiver"):
            party = address.get(side) or {}
            for name in ("name", "line1", "postal_code", "city", "country_code"):
                if not party.get(name):
                    return self._answer(400, f"address.{side}.{name}: required")
            if party.get("country_code") == "PL" and not re.fullmatch(r"\d{2}-\d{3}", party["postal_code"]):
                return self._answer(400, f"address.{side}.postal_code: invalid")
        if str(order.get("service_id")) == "21" and not address["receiver"].get("foreign_address_id"):
            return self._answer(400, "address.receiver.foreign_address_id: required for this service")
        shipments = order.get("shipment") or []
        if not shipments or any(float(s.get("weight") or 0) <= 0 for s in shipments):
            return self._answer(400, "shipment: weight required")
        cod = order.get("cod")
        if cod:
            if not isinstance(cod.get("amount"), int) or cod["amount"] <= 0:
                return self._answer(400, "cod.amount: integer in grosze expected")
            if not re.fullmatch(r"\d{26}", str(cod.get("bankaccount") or "")):
                return self._answer(400, "cod.bankaccount: invalid")
        created = FakeOrder(next(self._ids), order, f"AP{next(self._numbers):010d}")
        self.orders[created.id] = created
        response = self._answer(200, "", {"order": created.as_json()})
        if mode == "timeout":
            response.delay = self.send_delay
        return response

    def _orders(self, route, data):
        page = int(data.get("page") or 1)
        limit = min(int(data.get("limit") or 10), 25)
        newest = sorted(self.orders.values(), key=lambda o: -o.id)
        chunk = newest[(page - 1) * limit : page * limit]
        return self._answer(200, "", {"orders": [o.as_json() for o in chunk]})

    def _order(self, route, data):
        order = self._order_from(route)
        if order is None:
            return self._answer(404, "Order not found")
        return self._answer(200, "", {"order": order.as_json()})

    def _waybill(self, route, data):
        order = self._order_from(route)
        if order is None:
            return self._answer(404, "Order not found")
        pdf = pdf_pages(1, marker=order.waybill_number)
        return self._answer(200, "", {"waybill": base64.b64encode(pdf).decode(), "type": "pdf"})

    def _cancel(self, route, data):
        order = self._order_from(route)
        if order is None:
            return self._answer(404, "Order not found")
        if order.status not in ("NEW", "READY_TO_SHIP"):
            return self._answer(400, "Order cannot be cancelled")
        order.status = "CANCELLED"
        return self._answer(200, "", {"order": order.as_json()})

    def _turn_in(self, route, data):
        ids = data.get("order_ids") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not ids or any(not isinstance(i, int) for i in ids):
            return self._answer(400, "order_ids: a list of order ids expected")
        orders = [self.orders.get(i) for i in ids]
        if any(o is None for o in orders):
            return self._answer(404, "Order not found")
        pdf = pdf_pages(1, marker=",".join(o.waybill_number for o in orders))
        return self._answer(200, "", {"turn_in": base64.b64encode(pdf).decode()})
