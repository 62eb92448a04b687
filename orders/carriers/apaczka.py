"""Apaczka API v2: one aggregator for many couriers (InPost, DPD, DHL, UPS, Poczta Polska, ...).

Every call is a form POST to ``/api/v2/<route>`` with ``app_id``, ``request`` (a JSON string),
``expires`` (a Unix time at most 30 minutes ahead) and ``signature`` = hex
HMAC-SHA256(app_secret, ``"app_id:route:request:expires"``), where ``route`` keeps its trailing
slash (``order_send/``, ``order/123/``). Answers are ``{"status": 200, "message": "",
"response": {...}}``; any other ``status`` is an error with a message.

Routes used: ``service_structure/`` (connection test), ``order_send/`` (creates the order
synchronously: the waybill exists at once), ``order/{id}/`` (status), ``orders/`` (finding a
parcel by our reference, kept in the order's ``comment``), ``waybill/{id}/`` (the label, base64
PDF), ``cancel_order/{id}/``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop import phones
from shop.identifiers import clean_polish_account
from shop.money import to_grosze

from ..external_accounts import AccountField
from ..models import Shipment
from .base import (
    CarrierBackend,
    CarrierError,
    CarrierShipment,
    ConnectionCheck,
    LabelDocument,
    Party,
    ShipmentRequest,
    TrackingInfo,
    register,
)
from .client import CarrierClient, json_body
from .labels import merge_labels

log = logging.getLogger("orders.carriers")

S = Shipment.Status
MAX_EXPIRY_SECONDS = 30 * 60
PAGE_SIZE = 25

# Apaczka order statuses -> ours (statuses not listed change nothing and are shown as they came).
STATUS_MAP = {
    "NEW": S.CONFIRMED,
    "READY_TO_SHIP": S.CONFIRMED,
    "WAITING_FOR_PICKUP": S.CONFIRMED,
    "PICKED_UP": S.IN_TRANSIT,
    "SENT": S.IN_TRANSIT,
    "IN_TRANSIT": S.IN_TRANSIT,
    "OUT_FOR_DELIVERY": S.IN_TRANSIT,
    "READY_TO_PICKUP": S.IN_TRANSIT,
    "DELIVERED": S.DELIVERED,
    "RETURNED": S.RETURNED,
    "CANCELLED": S.CANCELLED,
    "CANCELED": S.CANCELLED,
}


def map_status(status: str) -> str:
    return STATUS_MAP.get(status.strip().upper(), "")


def sign(*, app_id: str, app_secret: str, route: str, request: str, expires: int) -> str:
    message = f"{app_id}:{route}:{request}:{expires}"
    return hmac.new(app_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def signed_form(
    *, app_id: str, app_secret: str, route: str, data, now: float | None = None
) -> dict[str, str]:
    """The four form fields of one call; ``expires`` is ``APACZKA_SIGNATURE_TTL_SECONDS`` ahead
    (never more than the 30 minutes Apaczka accepts)."""
    ttl = min(max(1, settings.APACZKA_SIGNATURE_TTL_SECONDS), MAX_EXPIRY_SECONDS)
    expires = int(now if now is not None else time.time()) + ttl
    request = json.dumps(data if data is not None else {}, ensure_ascii=False, separators=(",", ":"))
    return {
        "app_id": app_id,
        "request": request,
        "expires": str(expires),
        "signature": sign(
            app_id=app_id, app_secret=app_secret, route=route, request=request, expires=expires
        ),
    }


def verify(
    form: dict[str, str], *, app_id: str, app_secret: str, route: str, now: float | None = None
) -> bool:
    """Check a signed form the way Apaczka does (used by our fake and by tests)."""
    try:
        expires = int(form.get("expires", ""))
    except ValueError:
        return False
    current = int(now if now is not None else time.time())
    if form.get("app_id") != app_id or expires < current or expires > current + MAX_EXPIRY_SECONDS:
        return False
    expected = sign(
        app_id=app_id, app_secret=app_secret, route=route, request=form.get("request", ""), expires=expires
    )
    return hmac.compare_digest(expected, str(form.get("signature", "")))


def _address(party: Party, *, point: str = "") -> dict:
    address = {
        "country_code": party.country or "PL",
        "name": (party.company or party.name)[:50],
        "line1": party.street[:50],
        "line2": "",
        "postal_code": party.postal_code,
        "city": party.city[:50],
        "is_residential": 0 if party.company else 1,
        "contact_person": party.name[:50],
        "email": party.email,
        "phone": phones.carrier_digits(party.phone),
    }
    if point:
        address["foreign_address_id"] = point
    return address


def order_payload(request: ShipmentRequest) -> dict:
    if not request.service.isdigit():
        raise CarrierError(_("The Apaczka service must be its numeric id (see the service list)."))
    if request.sender is None or not request.sender.street:
        raise CarrierError(_("Apaczka needs the sender address: fill it in the carrier account."))
    parcel = request.parcel
    if not (parcel.length_mm and parcel.width_mm and parcel.height_mm and parcel.weight_grams):
        raise CarrierError(_("An Apaczka parcel needs its length, width, height and weight."))
    config = request.account_config
    order: dict = {
        "service_id": int(request.service),
        "address": {
            "sender": _address(request.sender),
            "receiver": _address(request.receiver, point=request.target_point),
        },
        "option": {},
        "notification": {
            "new": {"isReceiverEmail": 1, "isReceiverSms": 0, "isSenderEmail": 0},
            "sent": {"isReceiverEmail": 1, "isReceiverSms": 0, "isSenderEmail": 0},
            "exception": {"isReceiverEmail": 0, "isReceiverSms": 0, "isSenderEmail": 1},
            "delivered": {"isReceiverEmail": 1, "isReceiverSms": 0, "isSenderEmail": 0},
        },
        "shipment_value": to_grosze(request.insurance_amount or Decimal("0")),
        "shipment_currency": request.currency,
        "pickup": {"type": config.get("pickup_type") or "SELF", "date": "", "hours_from": "", "hours_to": ""},
        "shipment": [
            {
                # Apaczka wants centimetres and kilograms.
                "dimension1": max(1, round(parcel.length_mm / 10)),
                "dimension2": max(1, round(parcel.width_mm / 10)),
                "dimension3": max(1, round(parcel.height_mm / 10)),
                "weight": float(Decimal(parcel.weight_grams) / 1000),
                "is_nstd": 0,
                "shipment_type_code": "PACZKA",
            }
        ],
        "comment": request.reference,
        "content": (_("Order %(number)s") % {"number": request.order_number})[:35],
    }
    if request.cod_amount and request.cod_amount > 0:
        bank_account = "".join(str(config.get("cod_bank_account") or "").split())
        if not bank_account:
            raise CarrierError(
                _(
                    "Cash on delivery at Apaczka needs the bank account for the money: set it in the carrier account."
                )
            )
        order["cod"] = {"amount": to_grosze(request.cod_amount), "bankaccount": bank_account}
        if order["shipment_value"] < order["cod"]["amount"]:
            order["shipment_value"] = order["cod"]["amount"]
    return order


@register
class Apaczka(CarrierBackend):
    code = "apaczka"
    url_settings = ("APACZKA_URL", "APACZKA_SANDBOX_URL")  # (production, sandbox)
    account_fields = (
        AccountField("app_id", gettext_lazy("Apaczka app id"), required=True, max_length=100),
        AccountField(
            "pickup_type",
            gettext_lazy("Apaczka pickup"),
            choices=(
                ("SELF", gettext_lazy("I take parcels to the carrier")),
                ("COURIER", gettext_lazy("a courier picks them up")),
                ("BOX_MACHINE", gettext_lazy("dropped at a parcel locker")),
            ),
        ),
        AccountField(
            "cod_bank_account",
            gettext_lazy("bank account for cash on delivery"),
            max_length=40,
            validators=(clean_polish_account,),
        ),
        AccountField(
            "app_secret", gettext_lazy("Apaczka app secret"), secret=True, required=True, max_length=500
        ),
    )

    def account_errors(self, data: dict) -> dict:
        address = ("sender_street", "sender_postal_code", "sender_city")
        return {name: _("Apaczka needs the sender address.") for name in address if not data.get(name)}

    label_formats = ("pdf",)
    batch_label_limit = 1
    # Apaczka sends each order's own link; this is the fallback page.
    default_tracking_url = "https://www.apaczka.pl/sledz-przesylke/?waybill_number={number}"

    def call(self, account, route: str, data=None, *, retry: bool) -> dict:
        app_id, secret = account.get("app_id").strip(), account.secret("app_secret")
        if not app_id or not secret:
            raise CarrierError(_("The Apaczka app id or secret is missing; check the carrier account."))
        form = signed_form(app_id=app_id, app_secret=secret, route=route, data=data)
        with CarrierClient(
            name=f"apaczka-{account.pk}", base_url=account.base_url, headers={"Accept": "application/json"}
        ) as client:
            response = client.request("POST", f"/api/v2/{route}", data=form, retry=retry)
        if response.status_code in (401, 403):
            raise CarrierError(
                _("Apaczka refused the app id or secret (HTTP %(code)d).") % {"code": response.status_code},
                status=response.status_code,
            )
        body = json_body(response, carrier=self.code)
        status = body.get("status")
        message = str(body.get("message") or "")[:300]
        if status != 200:
            code = status if isinstance(status, int) else response.status_code
            if code in (401, 403) or "signature" in message.lower() or "app_id" in message.lower():
                raise CarrierError(
                    _("Apaczka refused the credentials: %(message)s") % {"message": message}, status=code
                )
            raise CarrierError(
                _("Apaczka refused the request: %(message)s") % {"message": message or code},
                status=code,
                retryable=isinstance(code, int) and code >= 500,
            )
        result = body.get("response")
        return result if isinstance(result, dict) else {}

    def _shipment(self, order: dict) -> CarrierShipment:
        carrier_status = str(order.get("status") or "")
        waybill = str(order.get("waybill_number") or "")
        url = str(order.get("tracking_url") or "")
        if not url and waybill:
            url = self.default_tracking_url.format(number=waybill)
        return CarrierShipment(
            carrier_id=str(order.get("id") or ""),
            status=map_status(carrier_status) or S.CONFIRMED,
            carrier_status=carrier_status,
            tracking_number=waybill,
            tracking_url=url[:500],
            raw=order,
        )

    def test_connection(self, account) -> ConnectionCheck:
        try:
            result = self.call(account, "service_structure/", retry=True)
        except CarrierError as exc:
            return ConnectionCheck(False, exc.message)
        services = result.get("services") or []
        return ConnectionCheck(
            True, _("Connected to Apaczka: %(n)d services available.") % {"n": len(services)}
        )

    def validate(self, request: ShipmentRequest) -> None:
        order_payload(request)

    def create(self, account, request: ShipmentRequest) -> CarrierShipment:
        result = self.call(account, "order_send/", {"order": order_payload(request)}, retry=False)
        order = result.get("order")
        if not isinstance(order, dict) or not order.get("id"):
            raise CarrierError(
                _("Apaczka accepted the order but sent no id."), retryable=True, maybe_created=True
            )
        return self._shipment(order)

    def find_by_reference(self, account, reference: str) -> CarrierShipment | None:
        for page in range(1, settings.APACZKA_LOOKUP_PAGES + 1):
            result = self.call(account, "orders/", {"page": page, "limit": PAGE_SIZE}, retry=True)
            orders = [o for o in result.get("orders") or [] if isinstance(o, dict)]
            for order in orders:
                if str(order.get("comment") or "").strip() == reference:
                    return self._shipment(order)
            if len(orders) < PAGE_SIZE:
                break
        return None

    def fetch(self, account, carrier_id: str) -> CarrierShipment:
        order = self.call(account, f"order/{carrier_id}/", retry=True).get("order")
        if not isinstance(order, dict):
            raise CarrierError(_("Apaczka does not know order %(id)s.") % {"id": carrier_id})
        return self._shipment(order)

    def labels(self, account, carrier_ids: list[str], fmt: str) -> LabelDocument:
        if fmt != "pdf":
            raise CarrierError(_("Apaczka labels are PDF only."))
        documents = []
        for carrier_id in carrier_ids:
            result = self.call(account, f"waybill/{carrier_id}/", retry=True)
            try:
                pdf = base64.b64decode(str(result.get("waybill") or ""), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CarrierError(_("Apaczka sent a label we cannot read."), retryable=True) from exc
            if not pdf.startswith(b"%PDF"):
                raise CarrierError(_("Apaczka sent a label that is not a PDF."), retryable=True)
            documents.append(pdf)
        return merge_labels(documents, fmt)

    def track(self, account, shipment) -> TrackingInfo:
        fetched = self.fetch(account, shipment.carrier_shipment_id)
        return TrackingInfo(status=map_status(fetched.carrier_status), carrier_status=fetched.carrier_status)

    def cancel(self, account, carrier_id: str) -> None:
        self.call(account, f"cancel_order/{carrier_id}/", retry=False)

    supports_handover = True

    def handover(self, account, carrier_ids: list[str]) -> LabelDocument:
        result = self.call(account, "turn_in/", {"order_ids": [int(i) for i in carrier_ids]}, retry=True)
        try:
            pdf = base64.b64decode(str(result.get("turn_in") or ""), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CarrierError(_("Apaczka sent a handover list we cannot read."), retryable=True) from exc
        if not pdf.startswith(b"%PDF"):
            raise CarrierError(_("Apaczka sent a handover list that is not a PDF."), retryable=True)
        return merge_labels([pdf], "pdf")
