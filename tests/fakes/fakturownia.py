"""A fake Fakturownia account that checks what the real API checks.

``POST /invoices.json`` needs the account's ``api_token`` in the JSON body (401 otherwise),
validates the invoice (kind, positions, a correction's ``invoice_id`` and its before/after
attributes) and answers 201 with the stored document (``id``, ``number``); ``oid_unique: "yes"``
refuses a second document with the same ``oid`` (422 ``{"code": "error", "message": {"oid": [...]}}``).
``GET /invoices.json`` lists (``api_token`` in the query or ``Authorization: Bearer``, ``oid``, ``page``, ``per_page`` ≤ 100),
``GET /invoices/{id}.json`` / ``.pdf`` return one, ``POST /invoices/{id}/send_by_email.json`` records
an email. ``script`` queues misbehaviour for the next create calls: a status code, a delay longer
than the client's timeout (the invoice is still created: the answer is what gets lost), or a
malformed body.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

VALID_TAX = {23, 8, 5, 0, "zw", "np"}


@dataclass
class Misbehaviour:
    status: int = 200
    delay: float = 0.0
    body: bytes | None = None
    create: bool = True  # whether the invoice is stored although the answer is bad


class FakeFakturownia:
    def __init__(self, *, token: str = "tok-123"):
        self.token = token
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.invoices: dict[int, dict] = {}
        self.emails: list[int] = []
        self.script: list[Misbehaviour] = []
        self._ids = itertools.count(1001)
        self.server.route("POST", "/invoices.json", self._create)
        self.server.route("GET", "/invoices.json", self._list)
        self.server.route("GET", "/invoices/", self._get)
        self.server.route("POST", "/invoices/", self._email)

    def __enter__(self) -> FakeFakturownia:
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

    def creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/invoices.json"]

    @staticmethod
    def _json(status: int, data, delay: float = 0.0) -> FakeResponse:
        return FakeResponse(
            status, json.dumps(data).encode(), {"Content-Type": "application/json"}, delay=delay
        )

    def _authorised(self, request: RecordedRequest) -> bool:
        """The token in the query (``api_token=``) or as ``Authorization: Bearer``."""
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        return (
            query.get("api_token") == self.token
            or request.headers.get("authorization") == f"Bearer {self.token}"
        )

    def _unauthorised(self) -> FakeResponse:
        return self._json(
            401, {"code": "error", "message": "You must be logged in to gain access to the site"}
        )

    # --- endpoints --------------------------------------------------------------------------------

    def _create(self, request: RecordedRequest) -> FakeResponse:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return self._json(400, {"code": "error", "message": "invalid JSON"})
        if data.get("api_token") != self.token:
            return self._unauthorised()
        invoice = data.get("invoice")
        if not isinstance(invoice, dict):
            return self._json(422, {"code": "error", "message": {"invoice": ["is missing"]}})
        errors = self._validate(invoice)
        if errors:
            return self._json(422, {"code": "error", "message": errors})
        oid = invoice.get("oid")
        if (
            invoice.get("oid_unique") == "yes"
            and oid
            and any(i.get("oid") == oid for i in self.invoices.values())
        ):
            return self._json(422, {"code": "error", "message": {"oid": ["jest już zajęte"]}})
        trouble = self.script.pop(0) if self.script else None
        stored = None
        if trouble is None or trouble.create:
            stored = self._store(invoice)
        if trouble is not None:
            body = trouble.body if trouble.body is not None else json.dumps(stored or {}).encode()
            return FakeResponse(
                trouble.status, body, {"Content-Type": "application/json"}, delay=trouble.delay
            )
        return self._json(201, stored)

    def _validate(self, invoice: dict) -> dict:
        errors: dict[str, list[str]] = {}
        kind = invoice.get("kind")
        if kind not in ("vat", "correction"):
            errors["kind"] = ["is not included in the list"]
        positions = invoice.get("positions")
        if not isinstance(positions, list) or not positions:
            errors["positions"] = ["can't be blank"]
            return errors
        if not invoice.get("buyer_name") and not invoice.get("client_id"):
            errors["buyer_name"] = ["can't be blank"]
        for i, position in enumerate(positions):
            if position.get("tax") not in VALID_TAX:
                errors[f"positions[{i}].tax"] = ["is invalid"]
            try:
                Decimal(str(position.get("total_price_gross")))
            except InvalidOperation:
                errors[f"positions[{i}].total_price_gross"] = ["is not a number"]
            if kind == "correction":
                for key in ("correction_before_attributes", "correction_after_attributes"):
                    if not isinstance(position.get(key), dict):
                        errors[f"positions[{i}].{key}"] = ["can't be blank"]
        if kind == "correction":
            source = invoice.get("invoice_id")
            if not source or int(source) not in self.invoices:
                errors["invoice_id"] = ["must point to an existing invoice"]
        return errors

    def _store(self, invoice: dict) -> dict:
        pk = next(self._ids)
        prefix = "KOR" if invoice.get("kind") == "correction" else "FV"
        number = (
            f"{prefix} {len([i for i in self.invoices.values() if i['kind'] == invoice['kind']]) + 1}/11/2026"
        )
        stored = {**invoice, "id": pk, "number": number, "token": f"t{pk}"}
        self.invoices[pk] = stored
        return stored

    def _list(self, request: RecordedRequest) -> FakeResponse:
        query = {k: v[0] for k, v in parse_qs(request.query).items()}
        if not self._authorised(request):
            return self._unauthorised()
        per_page = min(int(query.get("per_page", 25)), 100)
        page = max(1, int(query.get("page", 1)))
        rows = list(self.invoices.values())
        if query.get("oid"):
            rows = [r for r in rows if r.get("oid") == query["oid"]]
        start = (page - 1) * per_page
        return self._json(200, rows[start : start + per_page])

    def _get(self, request: RecordedRequest) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        name = request.path.rsplit("/", 1)[-1]
        pk, _, ext = name.partition(".")
        invoice = self.invoices.get(int(pk)) if pk.isdigit() else None
        if invoice is None:
            return self._json(404, {"code": "error", "message": "not found"})
        if ext == "pdf":
            return FakeResponse(
                200, b"%PDF-1.4 fake " + invoice["number"].encode(), {"Content-Type": "application/pdf"}
            )
        return self._json(200, invoice)

    def _email(self, request: RecordedRequest) -> FakeResponse:
        if not self._authorised(request):
            return self._unauthorised()
        parts = request.path.strip("/").split("/")
        if (
            len(parts) == 3
            and parts[2] == "send_by_email.json"
            and parts[1].isdigit()
            and int(parts[1]) in self.invoices
        ):
            self.emails.append(int(parts[1]))
            return self._json(200, {"status": "ok"})
        return self._json(404, {"code": "error", "message": "not found"})


def slow(seconds: float) -> Misbehaviour:
    """The invoice is created, but the answer comes after the client gave up."""
    return Misbehaviour(status=201, delay=seconds, create=True)
