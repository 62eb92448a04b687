"""A fake Allegro (OAuth + REST API) that checks what the real one checks.

One local server answers both hosts (``allegro.pl/auth/oauth/...`` and ``api.allegro.pl/...``):

- Device flow: ``POST /auth/oauth/device`` (HTTP Basic client_id:secret, form ``client_id``)
  hands out a device and a user code; ``POST /auth/oauth/token?grant_type=urn:ietf:params:oauth:
  grant-type:device_code&device_code=..`` answers ``authorization_pending`` until the test calls
  :meth:`FakeAllegro.approve` (or :meth:`deny`, :meth:`expire`); ``slow_down`` when asked faster
  than allowed (``slow_down_next`` answers of it, on demand). Refresh tokens rotate: each refresh invalidates the old one.
- Every API call needs ``Accept: application/vnd.allegro.public.v1+json`` (406 otherwise), a body
  with that Content-Type (415 otherwise) and a live bearer token (401 ``invalid_token``).
- Offers: ``POST /sale/product-offers`` validates the body (name ≤ 75, category, images, price,
  stock, external id...) with 422 and Allegro's ``errors`` list; otherwise 202 + ``Location`` of an
  operation that answers 202 (with ``Retry-After``) ``operation_polls`` times, then 303 to the
  offer. Offers whose SKU is in ``reject_on_completion`` finish with validation errors.
- Commands: quantity/price change commands by the caller's UUID (a repeated PUT of one id is the
  same command), tasks per offer with SUCCESS/FAIL (``failing_offers``) after ``task_polls_new``
  answers of NEW.
- Orders: ``GET /order/events`` (``from``, ``type``, ``limit``), ``GET /order/checkout-forms/{id}``,
  ``PUT /order/checkout-forms/{id}/fulfillment``.
- Misbehaviour on demand: :meth:`fail_next` queues raw answers (429 with Retry-After, 500,
  malformed JSON, 401...) for the next requests whose path contains a fragment.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest

MEDIA_TYPE = "application/vnd.allegro.public.v1+json"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class _AllRoutes(dict):
    """Every request goes to one dispatcher (paths carry ids)."""

    def __init__(self, handler):
        super().__init__()
        self.handler = handler

    def get(self, key, default=None):
        return self.handler


@dataclass
class DeviceFlow:
    device_code: str
    user_code: str
    interval: int
    state: str = "pending"  # pending | approved | denied | expired | used
    polls: int = 0
    slow_down_next: int = 0


@dataclass
class Offer:
    id: str
    body: dict
    quantity: int
    price: str
    status: str = "ACTIVE"
    errors: list = field(default_factory=list)
    operation_polls_left: int = 0
    operation_id: str = ""


@dataclass
class Command:
    kind: str
    id: str
    body: dict
    tasks: list
    polls: int = 0


def _json(status: int, data, headers: dict | None = None) -> FakeResponse:
    return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": MEDIA_TYPE, **(headers or {})})


def _errors(status: int, *items: tuple[str, str, str]) -> FakeResponse:
    return _json(
        status,
        {"errors": [{"code": c, "message": m, "userMessage": m, "path": p} for c, m, p in items]},
    )


class FakeAllegro:
    def __init__(self, *, client_id="allegro-client", client_secret="allegro-secret", interval=5):
        self.client_id, self.client_secret = client_id, client_secret
        self.interval = interval
        self.server = FakeHTTPServer()
        self.server.routes = _AllRoutes(self._dispatch)
        self.flows: dict[str, DeviceFlow] = {}
        self.access_tokens: dict[str, float] = {}  # token -> expiry (epoch)
        self.refresh_tokens: set[str] = set()
        self.used_refresh_tokens: set[str] = set()
        self.token_lifetime = 43199
        self.offers: dict[str, Offer] = {}
        self.operation_polls = 2
        self.retry_after = "0"
        self.reject_on_completion: dict[str, list] = {}  # sku -> errors
        self.commands: dict[str, Command] = {}
        self.failing_offers: dict[str, str] = {}  # offer id -> reason (tasks FAIL)
        self.task_polls_new = 0
        self.events: list[dict] = []
        self.forms: dict[str, dict] = {}
        self.fulfilment: list[tuple[str, str]] = []
        self.shipments: dict[str, list[dict]] = {}
        self.fail_queue: list[tuple[str, FakeResponse]] = []
        # Answers sent *after* the next offer create was carried out (its answer "lost").
        self.lose_create_answers: list[FakeResponse] = []
        self.seller_login = "sklep-testowy"
        # GPSR records of the seller (/sale/responsible-producers, /sale/responsible-persons).
        self.responsible_producers: dict[str, dict] = {}
        self.responsible_persons: dict[str, dict] = {}
        self._ids = itertools.count(7000000001)
        self._event_ids = itertools.count(1)

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> FakeAllegro:
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

    # --- test controls --------------------------------------------------------------------------

    def fail_next(self, fragment: str, *responses: FakeResponse) -> None:
        for response in responses:
            self.fail_queue.append((fragment, response))

    def approve(self, device_code: str | None = None) -> None:
        self._flow(device_code).state = "approved"

    def deny(self, device_code: str | None = None) -> None:
        self._flow(device_code).state = "denied"

    def expire(self, device_code: str | None = None) -> None:
        self._flow(device_code).state = "expired"

    def _flow(self, device_code):
        if device_code is None:
            return list(self.flows.values())[-1]
        return self.flows[device_code]

    def issue_tokens(self) -> tuple[str, str]:
        """A token pair as if the device flow had finished (for tests that start connected)."""
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.access_tokens[access] = time.time() + self.token_lifetime
        self.refresh_tokens.add(refresh)
        return access, refresh

    def revoke_access_tokens(self) -> None:
        self.access_tokens.clear()

    def add_offer(
        self, sku: str, *, quantity: int = 1, price: str = "10.00", status: str = "ACTIVE"
    ) -> Offer:
        offer_id = str(next(self._ids))
        offer = Offer(offer_id, {"external": {"id": sku}, "name": sku}, quantity, price, status)
        self.offers[offer_id] = offer
        return offer

    def add_order(
        self,
        *,
        lines: list[dict],
        status: str = "READY_FOR_PROCESSING",
        event: str = "READY_FOR_PROCESSING",
        paid: bool = True,
        cod: bool = False,
        pickup_point: str = "",
        delivery_cost: str = "12.99",
        invoice: bool = False,
        form_id: str | None = None,
        email: str = "a1b2c3+kupujacy@allegromail.pl",
    ) -> dict:
        """A checkout form (and its event). ``lines``: dicts with sku/offer_id/quantity/price."""
        form_id = form_id or str(uuid.uuid4())
        items = []
        total = Decimal(delivery_cost)
        for i, line in enumerate(lines):
            price = Decimal(str(line.get("price", "10.00")))
            total += price * int(line.get("quantity", 1))
            offer = {"id": line.get("offer_id") or str(next(self._ids)), "name": line.get("name", "Produkt")}
            if line.get("sku") is not None:
                offer["external"] = {"id": line["sku"]}
            items.append(
                {
                    "id": f"{form_id}-{i}",
                    "offer": offer,
                    "quantity": line.get("quantity", 1),
                    "originalPrice": {"amount": str(price), "currency": "PLN"},
                    "price": {"amount": str(price), "currency": "PLN"},
                    "boughtAt": "2026-11-23T08:00:00.000Z",
                }
            )
        delivery = {
            "method": {"id": "m1", "name": "Allegro Paczkomaty InPost" if pickup_point else "Kurier DPD"},
            "cost": {"amount": delivery_cost, "currency": "PLN"},
        }
        if pickup_point:
            delivery["pickupPoint"] = {
                "id": pickup_point,
                "name": "Paczkomat " + pickup_point,
                "address": {"street": "Marszałkowska 1", "zipCode": "00-001", "city": "Warszawa"},
            }
        else:
            delivery["address"] = {
                "firstName": "Jan",
                "lastName": "Kowalski",
                "street": "Polna 5",
                "city": "Kraków",
                "zipCode": "30-001",
                "countryCode": "PL",
                "phoneNumber": "+48500100200",
            }
        form = {
            "id": form_id,
            "status": status,
            "messageToSeller": "Proszę o szybką wysyłkę",
            "buyer": {
                "id": "b1",
                "email": email,
                "login": "kupujacy",
                "firstName": "Jan",
                "lastName": "Kowalski",
                "phoneNumber": "+48500100200",
                "address": {"street": "Polna 5", "city": "Kraków", "postCode": "30-001", "countryCode": "PL"},
            },
            "payment": {
                "id": f"pay-{form_id}",
                "type": "CASH_ON_DELIVERY" if cod else "ONLINE",
                "provider": "P24" if not cod else None,
                "finishedAt": "2026-11-23T08:01:00.000Z" if paid and not cod else None,
                "paidAmount": {"amount": str(total), "currency": "PLN"} if paid and not cod else None,
            },
            "fulfillment": {"status": "NEW"},
            "delivery": delivery,
            "invoice": {"required": invoice}
            | (
                {
                    "address": {
                        "street": "Firmowa 1",
                        "city": "Warszawa",
                        "zipCode": "00-002",
                        "countryCode": "PL",
                        "company": {"name": "Firma Sp. z o.o.", "taxId": "5260001246"},
                    }
                }
                if invoice
                else {}
            ),
            "lineItems": items,
            "summary": {"totalToPay": {"amount": str(total), "currency": "PLN"}},
            "updatedAt": "2026-11-23T08:01:00.000Z",
        }
        self.forms[form_id] = form
        self.add_event(form_id, event)
        return form

    def add_event(self, form_id: str, event_type: str) -> dict:
        event = {
            "id": str(next(self._event_ids)),
            "type": event_type,
            "occurredAt": "2026-11-23T08:02:00.000Z",
            "order": {"checkoutForm": {"id": form_id, "revision": "r1"}},
        }
        self.events.append(event)
        return event

    def cancel(self, form_id: str, event_type: str = "BUYER_CANCELLED") -> None:
        self.forms[form_id]["status"] = "CANCELLED"
        self.add_event(form_id, event_type)

    # --- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, request: RecordedRequest) -> FakeResponse:
        for i, (fragment, response) in enumerate(self.fail_queue):
            if fragment in request.path:
                del self.fail_queue[i]
                return response
        path, method = request.path, request.method
        if path == "/auth/oauth/device" and method == "POST":
            return self._device(request)
        if path == "/auth/oauth/token" and method == "POST":
            return self._token(request)
        if "application/vnd.allegro.public.v1+json" not in request.headers.get("accept", ""):
            return _errors(406, ("NotAcceptableException", "Use the Allegro media type in Accept", ""))
        if request.body and request.headers.get("content-type", "").split(";")[0].strip() != MEDIA_TYPE:
            return _errors(415, ("UnsupportedMediaTypeException", "Unsupported Content-Type", ""))
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if self.access_tokens.get(token, 0) < time.time():
            return FakeResponse(
                401,
                json.dumps({"error": "invalid_token", "error_description": "Invalid access token"}).encode(),
                {"Content-Type": "application/json"},
            )
        for pattern, verb, handler in self._routes():
            m = re.fullmatch(pattern, path)
            if m and verb == method:
                return handler(request, *m.groups())
        return _errors(404, ("NotFoundException", "Not found", ""))

    def _routes(self):
        return (
            (r"/me", "GET", lambda r: _json(200, {"id": "1", "login": self.seller_login})),
            (r"/sale/product-offers", "POST", self._create_offer),
            (r"/sale/responsible-(producers|persons)", "POST", self._create_responsible),
            (r"/sale/responsible-(producers|persons)/([\w-]+)", "PUT", self._update_responsible),
            (r"/sale/responsible-(producers|persons)/([\w-]+)", "GET", self._get_responsible),
            (r"/sale/product-offers/(\d+)", "PATCH", self._patch_offer),
            (r"/sale/product-offers/(\d+)", "GET", self._get_offer),
            (r"/sale/product-offers/(\d+)/operations/([\w-]+)", "GET", self._operation),
            (r"/sale/offers", "GET", self._search_offers),
            (r"/sale/offer-(quantity|price)-change-commands/([\w-]+)", "PUT", self._put_command),
            (r"/sale/offer-(quantity|price)-change-commands/([\w-]+)/tasks", "GET", self._command_tasks),
            (r"/sale/offer-(publication)-commands/([\w-]+)", "PUT", self._put_command),
            (r"/sale/offer-(publication)-commands/([\w-]+)/tasks", "GET", self._command_tasks),
            (r"/order/events", "GET", self._events),
            (r"/order/checkout-forms/([\w-]+)", "GET", self._form),
            (r"/order/checkout-forms/([\w-]+)/fulfillment", "PUT", self._fulfil),
            (r"/order/checkout-forms/([\w-]+)/shipments", "GET", self._shipments),
            (r"/order/checkout-forms/([\w-]+)/shipments", "POST", self._add_shipment),
        )

    # --- OAuth ----------------------------------------------------------------------------------

    def _client_ok(self, request) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.client_id and password == self.client_secret

    def _device(self, request):
        if not self._client_ok(request):
            return _json(401, {"error": "unauthorized", "error_description": "Bad client credentials"})
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("client_id") != self.client_id:
            return _json(400, {"error": "invalid_request", "error_description": "client_id missing"})
        flow = DeviceFlow(secrets.token_hex(20), secrets.token_hex(4).upper(), self.interval)
        self.flows[flow.device_code] = flow
        return _json(
            200,
            {
                "device_code": flow.device_code,
                "user_code": flow.user_code,
                "verification_uri": "https://allegro.pl/skojarz-aplikacje",
                "verification_uri_complete": f"https://allegro.pl/skojarz-aplikacje?code={flow.user_code}",
                "expires_in": 3600,
                "interval": flow.interval,
            },
        )

    def _issue(self) -> FakeResponse:
        access, refresh = self.issue_tokens()
        return _json(
            200,
            {
                "access_token": access,
                "token_type": "bearer",
                "refresh_token": refresh,
                "expires_in": self.token_lifetime,
                "scope": "allegro:api:sale:offers:write allegro:api:orders:read",
                "allegro_api": True,
                "jti": secrets.token_hex(8),
            },
        )

    def _token(self, request):
        if not self._client_ok(request):
            return _json(401, {"error": "unauthorized", "error_description": "Bad client credentials"})
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        grant = query.get("grant_type")
        if grant == DEVICE_GRANT:
            flow = self.flows.get(query.get("device_code", ""))
            if flow is None or flow.state == "used":
                return _json(400, {"error": "invalid_grant", "error_description": "Invalid device code"})
            flow.polls += 1
            if flow.slow_down_next:
                flow.slow_down_next = max(0, flow.slow_down_next - 1)
                flow.interval += 5
                return _json(400, {"error": "slow_down", "error_description": "Slow down"})
            if flow.state == "pending":
                return _json(400, {"error": "authorization_pending", "error_description": "Pending"})
            if flow.state == "denied":
                return _json(400, {"error": "access_denied", "error_description": "Denied"})
            if flow.state == "expired":
                return _json(400, {"error": "expired_token", "error_description": "Expired"})
            flow.state = "used"
            return self._issue()
        if grant == "refresh_token":
            token = query.get("refresh_token", "")
            if token not in self.refresh_tokens:
                return _json(400, {"error": "invalid_grant", "error_description": "Invalid refresh token"})
            self.refresh_tokens.discard(token)  # rotation
            self.used_refresh_tokens.add(token)
            return self._issue()
        return _json(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant"})

    # --- GPSR: responsible producers and persons --------------------------------------------------

    def _responsible_problems(self, kind: str, body) -> list[tuple[str, str, str]]:
        """What Allegro checks: a name, then producerData.tradeName / personalData.name, an
        address with countryCode, street, postalCode and city, and a contact (e-mail or form URL
        for producers, e-mail for persons)."""
        if not isinstance(body, dict):
            return [("JsonParseException", "Body must be an object", "")]
        key, name_key = ("producerData", "tradeName") if kind == "producers" else ("personalData", "name")
        problems = []
        if not str(body.get("name") or "").strip():
            problems.append(("MissingParameterException", "name is required", "name"))
        elif len(body["name"]) > 50:
            problems.append(("ConstraintViolationException.Size", "name longer than 50", "name"))
        data = body.get(key) or {}
        if not str(data.get(name_key) or "").strip():
            problems.append(("MissingParameterException", f"{name_key} is required", f"{key}.{name_key}"))
        address = data.get("address") or {}
        for field_name in ("countryCode", "street", "postalCode", "city"):
            if not str(address.get(field_name) or "").strip():
                problems.append(
                    ("MissingParameterException", f"{field_name} is required", f"{key}.address.{field_name}")
                )
        if address.get("countryCode") and not re.fullmatch(r"[A-Z]{2}", str(address["countryCode"])):
            problems.append(("ConstraintViolationException", "countryCode", f"{key}.address.countryCode"))
        contact = data.get("contact") or {}
        if kind == "producers" and not (contact.get("email") or contact.get("formUrl")):
            problems.append(("MissingParameterException", "email or formUrl is required", f"{key}.contact"))
        if kind == "persons" and not contact.get("email"):
            problems.append(("MissingParameterException", "email is required", f"{key}.contact.email"))
        return problems

    def _store_of(self, kind: str) -> dict[str, dict]:
        return self.responsible_producers if kind == "producers" else self.responsible_persons

    def _create_responsible(self, request, kind):
        try:
            body = json.loads(request.body)
        except ValueError:
            return _errors(400, ("JsonParseException", "Malformed JSON", ""))
        problems = self._responsible_problems(kind, body)
        if problems:
            return _errors(422, *problems)
        if any(r["name"] == body["name"] for r in self._store_of(kind).values()):
            return _errors(422, ("ResponsibleNameNotUniqueException", "name already used", "name"))
        record = {**body, "id": str(uuid.uuid4())}
        self._store_of(kind)[record["id"]] = record
        return _json(201, record)

    def _update_responsible(self, request, kind, record_id):
        if record_id not in self._store_of(kind):
            return _errors(404, ("NotFoundException", "Not found", ""))
        body = json.loads(request.body)
        problems = self._responsible_problems(kind, body)
        if problems:
            return _errors(422, *problems)
        record = {**body, "id": record_id}
        self._store_of(kind)[record_id] = record
        return _json(200, record)

    def _get_responsible(self, request, kind, record_id):
        record = self._store_of(kind).get(record_id)
        return _json(200, record) if record else _errors(404, ("NotFoundException", "Not found", ""))

    # --- offers ---------------------------------------------------------------------------------

    def _validate_offer(self, body: dict, *, partial: bool) -> list[tuple[str, str, str]]:
        problems = []
        name = body.get("name")
        if not partial or "name" in body:
            if not isinstance(name, str) or not name.strip():
                problems.append(("MissingParameterException", "The offer needs a title", "name"))
            elif len(name) > 75:
                problems.append(
                    ("ConstraintViolationException.Size", "Title longer than 75 characters", "name")
                )
        if not partial:
            product_set = body.get("productSet")
            if not isinstance(product_set, list) or not product_set:
                problems.append(("MissingParameterException", "productSet is required", "productSet"))
            else:
                product = (product_set[0] or {}).get("product") or {}
                if not (product.get("category") or {}).get("id"):
                    problems.append(
                        (
                            "MissingParameterException",
                            "Category is required",
                            "productSet[0].product.category",
                        )
                    )
                if not product.get("images"):
                    problems.append(
                        ("MissingParameterException", "Images are required", "productSet[0].product.images")
                    )
                entry = product_set[0] or {}
                producer = (entry.get("responsibleProducer") or {}).get("id")
                if producer is not None and producer not in self.responsible_producers:
                    problems.append(
                        (
                            "NotFoundException",
                            "Unknown responsible producer",
                            "productSet[0].responsibleProducer",
                        )
                    )
                person = (entry.get("responsiblePerson") or {}).get("id")
                if person is not None and person not in self.responsible_persons:
                    problems.append(
                        ("NotFoundException", "Unknown responsible person", "productSet[0].responsiblePerson")
                    )
                safety = entry.get("safetyInformation")
                if safety is not None and (
                    safety.get("type") not in ("TEXT", "NO_SAFETY_INFORMATION", "ATTACHMENTS")
                    or (safety.get("type") == "TEXT" and not 0 < len(safety.get("description") or "") <= 5000)
                ):
                    problems.append(
                        (
                            "ConstraintViolationException",
                            "Invalid safety information",
                            "productSet[0].safetyInformation",
                        )
                    )
            if not ((body.get("external") or {}).get("id")):
                problems.append(("MissingParameterException", "external.id missing", "external.id"))
            for key in ("shippingRates",):
                if not ((body.get("delivery") or {}).get(key) or {}).get("id"):
                    problems.append(
                        ("MissingParameterException", "Shipping rates are required", "delivery.shippingRates")
                    )
            for key in ("returnPolicy", "impliedWarranty"):
                if not ((body.get("afterSalesServices") or {}).get(key) or {}).get("id"):
                    problems.append(
                        ("MissingParameterException", f"{key} is required", f"afterSalesServices.{key}")
                    )
            for url in body.get("images") or []:
                if not str(url).startswith(("http://", "https://")):
                    problems.append(("ImageUrlException", f"Image URL {url} is not absolute", "images"))
        if not partial or "sellingMode" in body:
            try:
                amount = Decimal(str(((body.get("sellingMode") or {}).get("price") or {}).get("amount")))
                if amount <= 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                problems.append(
                    ("InvalidPriceException", "Price must be a positive amount", "sellingMode.price.amount")
                )
        if not partial or "stock" in body:
            available = (body.get("stock") or {}).get("available")
            if not isinstance(available, int) or available < 0:
                problems.append(
                    ("InvalidStockException", "stock.available must be a whole number", "stock.available")
                )
        return problems

    def _create_offer(self, request):
        try:
            body = json.loads(request.body)
        except ValueError:
            return _errors(400, ("JsonParseException", "Malformed JSON", ""))
        problems = self._validate_offer(body, partial=False)
        if problems:
            return _errors(422, *problems)
        offer_id = str(next(self._ids))
        sku = body["external"]["id"]
        offer = Offer(
            offer_id,
            body,
            body["stock"]["available"],
            body["sellingMode"]["price"]["amount"],
            status="ACTIVATING",
            errors=list(self.reject_on_completion.get(sku, [])),
            operation_polls_left=self.operation_polls,
            operation_id=str(uuid.uuid4()),
        )
        self.offers[offer_id] = offer
        if self.lose_create_answers:
            return self.lose_create_answers.pop(0)
        location = f"{self.url}/sale/product-offers/{offer_id}/operations/{offer.operation_id}"
        return _json(
            202,
            self._offer_json(offer),
            {"Location": location, "Retry-After": self.retry_after},
        )

    def _patch_offer(self, request, offer_id):
        offer = self.offers.get(offer_id)
        if offer is None:
            return _errors(404, ("NotFoundException", "Offer not found", ""))
        body = json.loads(request.body)
        problems = self._validate_offer(body, partial=True)
        if problems:
            return _errors(422, *problems)
        offer.body.update(body)
        if "stock" in body:
            offer.quantity = body["stock"]["available"]
        if "sellingMode" in body:
            offer.price = body["sellingMode"]["price"]["amount"]
        offer.operation_polls_left = 0
        return _json(200, self._offer_json(offer))

    def _offer_json(self, offer: Offer) -> dict:
        data = {
            "id": offer.id,
            "name": offer.body.get("name"),
            "external": offer.body.get("external"),
            "stock": {"available": offer.quantity, "unit": "UNIT"},
            "sellingMode": {"format": "BUY_NOW", "price": {"amount": offer.price, "currency": "PLN"}},
            "publication": {"status": offer.status},
            "validation": {"errors": [], "warnings": []},
        }
        if offer.operation_polls_left <= 0 and offer.errors:
            data["validation"]["errors"] = offer.errors
            data["publication"]["status"] = "INACTIVE"
        return data

    def _operation(self, request, offer_id, operation_id):
        offer = self.offers.get(offer_id)
        if offer is None or offer.operation_id != operation_id:
            return _errors(404, ("NotFoundException", "Operation not found", ""))
        if offer.operation_polls_left > 0:
            offer.operation_polls_left -= 1
            return FakeResponse(202, b"", {"Retry-After": self.retry_after, "Location": request.path})
        if not offer.errors:
            offer.status = "ACTIVE"
        return FakeResponse(303, b"", {"Location": f"{self.url}/sale/product-offers/{offer_id}"})

    def _get_offer(self, request, offer_id):
        offer = self.offers.get(offer_id)
        if offer is None:
            return _errors(404, ("NotFoundException", "Offer not found", ""))
        return _json(200, self._offer_json(offer))

    def _search_offers(self, request):
        query = parse_qs(request.query)
        sku = (query.get("external.id") or [""])[0]
        found = [o for o in self.offers.values() if (o.body.get("external") or {}).get("id") == sku]
        return _json(
            200, {"offers": [{"id": o.id, "name": o.body.get("name")} for o in found], "count": len(found)}
        )

    # --- commands -------------------------------------------------------------------------------

    def _put_command(self, request, kind, command_id):
        try:
            uuid.UUID(command_id)
        except ValueError:
            return _errors(422, ("InvalidCommandIdException", "commandId must be a UUID", "commandId"))
        body = json.loads(request.body)
        existing = self.commands.get(command_id)
        if existing is not None:
            if existing.body != body:
                return _errors(
                    409, ("CommandAlreadyExistsException", "Command id used for another command", "")
                )
            return _json(201, self._report(existing))
        modification = body.get("modification") or {}
        criteria = body.get("offerCriteria") or []
        offers = [
            o["id"] for c in criteria if c.get("type") == "CONTAINS_OFFERS" for o in c.get("offers") or []
        ]
        if not offers:
            return _errors(
                422, ("MissingParameterException", "offerCriteria must list offers", "offerCriteria")
            )
        action = (body.get("publication") or {}).get("action")
        if kind == "quantity":
            value = modification.get("value")
            if modification.get("changeType") not in ("FIXED", "GAIN") or not isinstance(value, int):
                return _errors(
                    422, ("InvalidModificationException", "Bad quantity modification", "modification")
                )
            if value < 1:
                return _errors(
                    422, ("InvalidQuantityException", "Quantity must be at least 1", "modification.value")
                )
        elif kind == "publication":
            if action not in ("ACTIVATE", "END"):
                return _errors(
                    422, ("InvalidPublicationAction", "Unknown publication action", "publication.action")
                )
        elif modification.get("type") != "FIXED_PRICE" or not (modification.get("price") or {}).get("amount"):
            return _errors(422, ("InvalidModificationException", "Bad price modification", "modification"))
        tasks = []
        for offer_id in offers:
            offer = self.offers.get(offer_id)
            reason = self.failing_offers.get(offer_id)
            if offer is None:
                reason = "Offer not found"
            if reason:
                tasks.append(
                    {
                        "offer": {"id": offer_id},
                        "status": "FAIL",
                        "message": reason,
                        "errors": [
                            {"code": "OfferChangeException", "message": reason, "userMessage": reason}
                        ],
                        "field": "stock.available" if kind == "quantity" else "sellingMode.price",
                    }
                )
                continue
            if kind == "publication" and action == "ACTIVATE" and offer.quantity < 1:
                tasks.append(
                    {
                        "offer": {"id": offer_id},
                        "status": "FAIL",
                        "message": "Offer has no stock",
                        "errors": [{"code": "NoStock", "message": "Offer has no stock", "userMessage": ""}],
                    }
                )
                continue
            if kind == "quantity":
                offer.quantity = modification["value"]
            elif kind == "publication":
                offer.status = "ACTIVE" if action == "ACTIVATE" else "ENDED"
            else:
                offer.price = modification["price"]["amount"]
            tasks.append({"offer": {"id": offer_id}, "status": "SUCCESS", "message": "", "errors": []})
        command = Command(kind, command_id, body, tasks)
        self.commands[command_id] = command
        return _json(201, self._report(command))

    def _report(self, command: Command) -> dict:
        return {
            "id": command.id,
            "taskCount": {
                "total": len(command.tasks),
                "success": sum(t["status"] == "SUCCESS" for t in command.tasks),
                "failed": sum(t["status"] == "FAIL" for t in command.tasks),
            },
        }

    def _command_tasks(self, request, kind, command_id):
        command = self.commands.get(command_id)
        if command is None or command.kind != kind:
            return _errors(404, ("NotFoundException", "Command not found", ""))
        command.polls += 1
        if command.polls <= self.task_polls_new:
            return _json(200, {"tasks": [{**t, "status": "NEW"} for t in command.tasks]})
        return _json(200, {"tasks": command.tasks})

    # --- orders ---------------------------------------------------------------------------------

    def _events(self, request):
        query = parse_qs(request.query)
        start = (query.get("from") or [""])[0]
        types = set(query.get("type") or [])
        try:
            limit = int((query.get("limit") or ["100"])[0])
        except ValueError:
            return _errors(422, ("InvalidParameterException", "limit must be a number", "limit"))
        if not 1 <= limit <= 1000:
            return _errors(422, ("InvalidParameterException", "limit must be 1..1000", "limit"))
        events = self.events
        if start:
            ids = [e["id"] for e in events]
            if start not in ids:
                return _errors(422, ("InvalidParameterException", "Unknown event id", "from"))
            events = events[ids.index(start) + 1 :]
        if types:
            events = [e for e in events if e["type"] in types]
        return _json(200, {"events": events[:limit]})

    def _form(self, request, form_id):
        form = self.forms.get(form_id)
        if form is None:
            return _errors(404, ("NotFoundException", "Checkout form not found", ""))
        return _json(200, form)

    def _fulfil(self, request, form_id):
        form = self.forms.get(form_id)
        if form is None:
            return _errors(404, ("NotFoundException", "Checkout form not found", ""))
        body = json.loads(request.body)
        status = body.get("status")
        allowed = {
            "NEW",
            "PROCESSING",
            "READY_FOR_SHIPMENT",
            "READY_FOR_PICKUP",
            "SENT",
            "PICKED_UP",
            "CANCELLED",
            "SUSPENDED",
            "RETURNED",
        }
        if status not in allowed:
            return _errors(422, ("InvalidStatusException", "Unknown fulfilment status", "status"))
        form["fulfillment"] = {"status": status}
        self.fulfilment.append((form_id, status))
        return FakeResponse(204, b"")

    def _shipments(self, request, form_id):
        if form_id not in self.forms:
            return _errors(404, ("NotFoundException", "Checkout form not found", ""))
        return _json(200, {"shipments": self.shipments.get(form_id, [])})

    def _add_shipment(self, request, form_id):
        form = self.forms.get(form_id)
        if form is None:
            return _errors(404, ("NotFoundException", "Checkout form not found", ""))
        body = json.loads(request.body)
        carriers = {
            "INPOST",
            "DPD",
            "DHL",
            "POCZTA_POLSKA",
            "GLS",
            "UPS",
            "FEDEX",
            "ORLEN",
            "ALLEGRO",
            "OTHER",
        }
        if body.get("carrierId") not in carriers:
            return _errors(422, ("InvalidCarrier", "Unknown carrier", "carrierId"))
        if not body.get("waybill") or len(body["waybill"]) > 64:
            return _errors(422, ("InvalidWaybill", "Waybill is required (max 64)", "waybill"))
        if body["carrierId"] == "OTHER" and not body.get("carrierName"):
            return _errors(422, ("MissingCarrierName", "carrierName is required for OTHER", "carrierName"))
        known = {item["id"] for item in form["lineItems"]}
        if any(item.get("id") not in known for item in body.get("lineItems") or []):
            return _errors(422, ("InvalidLineItem", "Unknown line item", "lineItems"))
        shipment = {"id": str(uuid.uuid4()), **body, "createdAt": "2026-11-23T09:00:00.000Z"}
        self.shipments.setdefault(form_id, []).append(shipment)
        return _json(201, shipment)
