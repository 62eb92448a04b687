"""A fake InPost ShipX server that checks what the real one checks.

Bearer token on every call (401 ``token_invalid`` otherwise). ``POST
/v1/organizations/{org}/shipments`` validates the receiver, the parcel and the target point like
ShipX does and answers 422 ``validation_failed`` with field ``details``; a new shipment is
``created`` and becomes ``confirmed`` (with a tracking number) after ``confirm_after`` reads of
``GET /v1/shipments/{id}``, as ShipX prepares labels asynchronously. Labels are real PDFs (one
page per shipment) or ZPL; the batch endpoint refuses more than 100 ids. A test moves a parcel
along with :meth:`advance` and reads what the shop sent in :attr:`requests`.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from pypdf import PdfWriter

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

SERVICES = {
    "inpost_locker_standard",
    "inpost_locker_allegro",
    "inpost_courier_standard",
    "inpost_courier_express_1000",
}
LOCKER = {"inpost_locker_standard", "inpost_locker_allegro"}


def pdf_pages(n: int, *, marker: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(n):
        writer.add_blank_page(width=298, height=420)  # A6 in points
    if marker:
        writer.add_metadata({"/Title": marker})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class FakeShipment:
    id: int
    body: dict
    status: str = "created"
    tracking_number: str | None = None
    reads: int = 0
    details: list = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "href": f"/v1/shipments/{self.id}",
            "id": self.id,
            "status": self.status,
            "tracking_number": self.tracking_number,
            "service": self.body.get("service"),
            "reference": self.body.get("reference"),
            "external_customer_id": self.body.get("external_customer_id"),
            "is_return": False,
            "receiver": self.body.get("receiver"),
            "sender": self.body.get("sender"),
            "parcels": self.body.get("parcels"),
            "custom_attributes": self.body.get("custom_attributes") or {},
            "cod": self.body.get("cod") or {"amount": None, "currency": None},
            "insurance": self.body.get("insurance") or {"amount": None, "currency": None},
            "created_at": "2026-11-23T08:00:00.000+01:00",
            "updated_at": "2026-11-23T08:00:00.000+01:00",
        }


class FakeShipX:
    def __init__(self, *, token: str = "shipx-token", organization_id: str = "1234"):
        self.token = token
        self.organization_id = organization_id
        self.points = {"KRA010", "WAW123A", "POZ08APP"}
        self.confirm_after = 1
        self.shipments: dict[int, FakeShipment] = {}
        self.fail_with: FakeResponse | None = None
        # One-shot misbehaviour of the next create: "timeout" creates the shipment and answers
        # too late, "500" answers an error without creating.
        self.next_create: str = ""
        self.create_delay = 0.0
        self._ids = itertools.count(101)
        self._numbers = itertools.count(1)
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        org = f"/v1/organizations/{organization_id}"
        for method, path, handler in (
            ("GET", org, self._organization),
            ("GET", "/v1/organizations/", self._other_organization),
            ("POST", f"{org}/shipments", self._create),
            ("GET", f"{org}/shipments", self._search),
            ("GET", f"{org}/shipments/labels", self._batch_labels),
            ("GET", "/v1/shipments/", self._shipment_get),
            ("DELETE", "/v1/shipments/", self._cancel),
            ("GET", "/v1/tracking/", self._tracking),
        ):
            self.server.route(method, path, self._guarded(handler))

    def __enter__(self) -> FakeShipX:
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

    def created_bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.calls("POST", "/shipments")]

    def by_reference(self, reference: str) -> FakeShipment | None:
        return next((s for s in self.shipments.values() if s.body.get("reference") == reference), None)

    def advance(self, tracking_number: str, status: str, when: str = "2026-11-23T10:00:00.000+01:00") -> None:
        """The parcel moves: a tracking event and the shipment's new status."""
        shipment = next(s for s in self.shipments.values() if s.tracking_number == tracking_number)
        shipment.status = status
        shipment.details.insert(
            0, {"status": status, "origin_status": status.upper(), "agency": None, "datetime": when}
        )

    # --- plumbing -----------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, data) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, status: int, error: str, message: str, details=None) -> FakeResponse:
        return self._json(
            status, {"status": status, "error": error, "message": message, "details": details or {}}
        )

    def _guarded(self, handler):
        def wrapped(request: RecordedRequest) -> FakeResponse:
            if self.fail_with is not None:
                return self.fail_with
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return self._json(
                    401,
                    {"status": 401, "error": "token_invalid", "description": "Token is missing or invalid."},
                )
            return handler(request)

        return wrapped

    def _id_from(self, request, prefix: str) -> FakeShipment | None:
        match = re.match(rf"^{re.escape(prefix)}(\d+)", request.path)
        return self.shipments.get(int(match.group(1))) if match else None

    # --- endpoints ----------------------------------------------------------------------------

    def _organization(self, request):
        return self._json(
            200, {"id": int(self.organization_id), "name": "Sklep Testowy sp. z o.o.", "status": "confirmed"}
        )

    def _other_organization(self, request):
        return self._error(404, "resource_not_found", "Resource not found")

    def _validate(self, body: dict) -> dict:
        details: dict = {}
        service = body.get("service")
        if service not in SERVICES:
            details["service"] = ["invalid"]
        receiver = body.get("receiver") or {}
        if not receiver.get("email") and not receiver.get("phone"):
            details.setdefault("receiver", []).append({"email": ["required"], "phone": ["required"]})
        if receiver.get("phone") and not re.fullmatch(r"\d{9}", str(receiver["phone"])):
            details.setdefault("receiver", []).append({"phone": ["invalid"]})
        parcels = body.get("parcels") or []
        if not parcels:
            details["parcels"] = ["required"]
        if service in LOCKER:
            point = (body.get("custom_attributes") or {}).get("target_point")
            if not point:
                details["custom_attributes"] = [{"target_point": ["required"]}]
            elif point not in self.points:
                details["custom_attributes"] = [{"target_point": ["does_not_exist"]}]
            for parcel in parcels:
                if parcel.get("template") not in ("small", "medium", "large"):
                    details.setdefault("parcels", []).append({"template": ["invalid"]})
        elif service in SERVICES:
            address = receiver.get("address") or {}
            problems = {}
            for name in ("street", "building_number", "city", "post_code"):
                if not address.get(name):
                    problems[name] = ["required"]
            if address.get("post_code") and not re.fullmatch(r"\d{2}-\d{3}", address["post_code"]):
                problems["post_code"] = ["invalid"]
            if problems:
                details.setdefault("receiver", []).append({"address": [problems]})
            if not (body.get("insurance") or {}).get("amount"):
                details["insurance"] = ["required"]
        cod = body.get("cod") or {}
        if cod.get("amount") is not None:
            insured = (body.get("insurance") or {}).get("amount")
            if insured is None or float(insured) < float(cod["amount"]):
                details["insurance"] = ["insurance_must_cover_cod"]
        return details

    def _create(self, request):
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return self._error(400, "invalid_json", "Request body is not valid JSON")
        mode, self.next_create = self.next_create, ""
        if mode == "500":
            return self._error(500, "internal_error", "Something went wrong")
        details = self._validate(body)
        if details:
            return self._error(
                422,
                "validation_failed",
                "There are some validation errors. Check details object for more info.",
                details,
            )
        shipment = FakeShipment(next(self._ids), body)
        self.shipments[shipment.id] = shipment
        response = self._json(201, shipment.as_json())
        if mode == "timeout":
            response.delay = self.create_delay
        return response

    def _search(self, request):
        query = parse_qs(request.query)
        items = [s.as_json() for s in self.shipments.values()]
        if "reference" in query:
            items = [i for i in items if i["reference"] == query["reference"][0]]
        return self._json(
            200, {"href": request.path, "count": len(items), "page": 1, "per_page": 25, "items": items}
        )

    def _confirm(self, shipment: FakeShipment) -> None:
        shipment.reads += 1
        if shipment.status == "created" and shipment.reads >= self.confirm_after:
            shipment.status = "confirmed"
            shipment.tracking_number = f"6{next(self._numbers):023d}"

    def _shipment_get(self, request):
        shipment = self._id_from(request, "/v1/shipments/")
        if shipment is None:
            return self._error(404, "resource_not_found", "Resource not found")
        if request.path.endswith("/label"):
            return self._label([shipment], request)
        self._confirm(shipment)
        return self._json(200, shipment.as_json())

    def _label(self, shipments: list[FakeShipment], request):
        query = parse_qs(request.query)
        fmt = (query.get("format") or ["Pdf"])[0]
        if any(s.status in ("created", "offers_prepared") for s in shipments):
            return self._error(400, "invalid_action", "Shipment is not confirmed")
        if fmt.lower() == "zpl":
            body = "".join(f"^XA^FO50,50^FD{s.tracking_number}^FS^XZ\n" for s in shipments).encode()
            return FakeResponse(200, body, {"Content-Type": "text/plain"})
        if fmt.lower() != "pdf":
            return self._error(400, "invalid_format", "Unknown label format")
        body = pdf_pages(len(shipments), marker=",".join(str(s.tracking_number) for s in shipments))
        return FakeResponse(200, body, {"Content-Type": "application/pdf"})

    def _batch_labels(self, request):
        query = parse_qs(request.query)
        ids = query.get("shipment_ids[]") or []
        if not ids or len(ids) > 100:
            return self._error(400, "invalid_parameter", "shipment_ids must have 1 to 100 elements")
        shipments = [self.shipments.get(int(i)) if i.isdigit() else None for i in ids]
        if any(s is None for s in shipments):
            return self._error(404, "resource_not_found", "Resource not found")
        return self._label(shipments, request)

    def _cancel(self, request):
        shipment = self._id_from(request, "/v1/shipments/")
        if shipment is None:
            return self._error(404, "resource_not_found", "Resource not found")
        if shipment.status not in ("created", "offers_prepared", "confirmed"):
            return self._error(400, "invalid_action", "Shipment cannot be cancelled")
        shipment.status = "canceled"
        return FakeResponse(204, b"")

    def _tracking(self, request):
        number = request.path.rsplit("/", 1)[-1]
        shipment = next((s for s in self.shipments.values() if s.tracking_number == number), None)
        if shipment is None:
            return self._error(404, "resource_not_found", "Resource not found")
        return self._json(
            200,
            {
                "tracking_number": number,
                "service": shipment.body.get("service"),
                "type": "inpost_locker_standard",
                "status": shipment.status,
                "custom_attributes": shipment.body.get("custom_attributes") or {},
                "tracking_details": shipment.details,
                "expected_flow": [],
                "created_at": "2026-11-23T08:00:00.000+01:00",
                "updated_at": "2026-11-23T08:00:00.000+01:00",
            },
        )
