"""InPost ShipX (REST, bearer token): parcel lockers and courier.

- ``POST /v1/organizations/{org}/shipments`` creates a shipment asynchronously: the answer says
  ``created``; the label exists once ``GET /v1/shipments/{id}`` says ``confirmed``.
- Our reference goes in ``reference`` (and the order number in ``external_customer_id``), so
  ``GET /v1/organizations/{org}/shipments?reference=..`` finds a parcel a timed-out call created.
- Labels: ``GET /v1/shipments/{id}/label?format=Pdf|Zpl``; up to 100 at once with
  ``GET /v1/organizations/{org}/shipments/labels?format=Pdf&shipment_ids[]=..``.
- Tracking: ``GET /v1/tracking/{tracking_number}``; faults: 401 ``token_invalid``, 404, 422
  ``validation_failed`` with field ``details``.
"""

from __future__ import annotations

import io
import logging
import zipfile
from decimal import Decimal

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shop import phones
from shop.money import round_money

from ..external_accounts import AccountField, digits_only
from ..models import Shipment
from .base import (
    CarrierBackend,
    CarrierError,
    CarrierShipment,
    ConnectionCheck,
    LabelDocument,
    Party,
    ShipmentRequest,
    TrackingEvent,
    TrackingInfo,
    describe_details,
    register,
    split_street,
)
from .client import CarrierClient, json_body
from .labels import merge_labels

log = logging.getLogger("orders.carriers")

S = Shipment.Status
LOCKER_SERVICES = ("inpost_locker_standard", "inpost_locker_allegro", "inpost_locker_economy")
COURIER_SERVICES = ("inpost_courier_standard", "inpost_courier_express_1000", "inpost_courier_c2c")

# ShipX shipment statuses -> ours. Everything between "the courier took it" and "delivered" is
# in transit; statuses not listed change nothing (kept as the carrier's status for the merchant).
PRE_CONFIRMATION = {"created", "offers_prepared", "offer_selected"}
STATUS_MAP = {
    "confirmed": S.CONFIRMED,
    "dispatched_by_sender": S.IN_TRANSIT,
    "dispatched_by_sender_to_pok": S.IN_TRANSIT,
    "collected_from_sender": S.IN_TRANSIT,
    "taken_by_courier": S.IN_TRANSIT,
    "taken_by_courier_from_pok": S.IN_TRANSIT,
    "adopted_at_source_branch": S.IN_TRANSIT,
    "sent_from_source_branch": S.IN_TRANSIT,
    "adopted_at_sorting_center": S.IN_TRANSIT,
    "sent_from_sorting_center": S.IN_TRANSIT,
    "adopted_at_target_branch": S.IN_TRANSIT,
    "out_for_delivery": S.IN_TRANSIT,
    "out_for_delivery_to_address": S.IN_TRANSIT,
    "ready_to_pickup": S.IN_TRANSIT,
    "ready_to_pickup_from_pok": S.IN_TRANSIT,
    "ready_to_pickup_from_branch": S.IN_TRANSIT,
    "pickup_reminder_sent": S.IN_TRANSIT,
    "avizo": S.IN_TRANSIT,
    "stack_in_box_machine": S.IN_TRANSIT,
    "stack_in_customer_service_point": S.IN_TRANSIT,
    "redirect_to_box": S.IN_TRANSIT,
    "delivered": S.DELIVERED,
    "returned_to_sender": S.RETURNED,
    "canceled": S.CANCELLED,
    "cancelled": S.CANCELLED,
}


def map_status(status: str) -> str:
    if status in PRE_CONFIRMATION:
        return S.SUBMITTED
    return STATUS_MAP.get(status, "")


def _money(amount: Decimal | None, currency: str) -> dict | None:
    if amount is None or amount <= 0:
        return None
    return {"amount": str(round_money(amount)), "currency": currency}


def _party(party: Party, *, with_address: bool) -> dict:
    data = {
        "first_name": party.first_name[:50],
        "last_name": party.last_name[:50],
        "email": party.email,
        "phone": phones.carrier_digits(party.phone),
    }
    if party.company:
        data["company_name"] = party.company[:100]
    if not party.first_name and not party.last_name:
        data["name"] = party.company[:100]
    if with_address:
        street, number = split_street(party.street)
        data["address"] = {
            "street": street[:100],
            "building_number": number[:20],
            "city": party.city[:50],
            "post_code": party.postal_code,
            "country_code": party.country or "PL",
        }
    return data


def shipment_payload(request: ShipmentRequest) -> dict:
    is_locker = request.service in LOCKER_SERVICES
    if is_locker and not request.target_point:
        raise CarrierError(_("A parcel locker shipment needs the shopper's parcel locker."))
    parcel = request.parcel
    if is_locker:
        if not parcel.template:
            raise CarrierError(_("Choose the parcel size (small, medium or large) for a parcel locker."))
        parcels = [{"template": parcel.template}]
    else:
        if not (parcel.length_mm and parcel.width_mm and parcel.height_mm and parcel.weight_grams):
            raise CarrierError(_("A courier parcel needs its length, width, height and weight."))
        parcels = [
            {
                "dimensions": {
                    "length": parcel.length_mm,
                    "width": parcel.width_mm,
                    "height": parcel.height_mm,
                    "unit": "mm",
                },
                "weight": {"amount": float(Decimal(parcel.weight_grams) / 1000), "unit": "kg"},
            }
        ]
    payload: dict = {
        "receiver": _party(request.receiver, with_address=not is_locker),
        "parcels": parcels,
        "service": request.service,
        "reference": request.reference,
        "external_customer_id": request.order_number[:40],
        "custom_attributes": {},
    }
    if request.sender is not None:
        payload["sender"] = _party(request.sender, with_address=bool(request.sender.street))
    if is_locker:
        payload["custom_attributes"]["target_point"] = request.target_point
    sending_method = request.account_config.get("sending_method")
    if sending_method:
        payload["custom_attributes"]["sending_method"] = sending_method
    if not payload["custom_attributes"]:
        del payload["custom_attributes"]
    cod = _money(request.cod_amount, request.currency)
    insurance = _money(request.insurance_amount, request.currency)
    if cod:
        payload["cod"] = cod
        # InPost requires insurance of at least the collected amount.
        if insurance is None or Decimal(insurance["amount"]) < Decimal(cod["amount"]):
            insurance = dict(cod)
    if insurance:
        payload["insurance"] = insurance
    elif request.service in COURIER_SERVICES:
        raise CarrierError(_("InPost courier parcels must be insured: enter the insurance amount."))
    return payload


@register
class InPostShipX(CarrierBackend):
    code = "inpost"
    url_settings = ("INPOST_SHIPX_URL", "INPOST_SHIPX_SANDBOX_URL")  # (production, sandbox)
    account_fields = (
        AccountField(
            "organization_id",
            gettext_lazy("InPost organization id"),
            required=True,
            max_length=20,
            validators=(
                digits_only(gettext_lazy("The organization id is a number (InPost Manager → API).")),
            ),
        ),
        AccountField(
            "sending_method",
            gettext_lazy("InPost sending method"),
            choices=(
                ("", gettext_lazy("organization default")),
                ("dispatch_order", gettext_lazy("courier picks up (dispatch order)")),
                ("parcel_locker", gettext_lazy("dropped at a parcel locker")),
                ("pop", gettext_lazy("dropped at a service point")),
                ("branch", gettext_lazy("dropped at a branch")),
            ),
        ),
        AccountField(
            "label_type",
            gettext_lazy("InPost label type"),
            choices=(("normal", gettext_lazy("A4")), ("A6", gettext_lazy("A6 (label printer)"))),
        ),
        AccountField(
            "api_token", gettext_lazy("InPost API token"), secret=True, required=True, max_length=4000
        ),
    )
    label_formats = ("pdf", "zpl")
    batch_label_limit = 100
    default_tracking_url = "https://inpost.pl/sledzenie-przesylek?number={number}"

    def _client(self, account) -> CarrierClient:
        token = account.secret("api_token")
        return CarrierClient(
            name=f"inpost-{account.pk}",
            base_url=account.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    @staticmethod
    def _org(account) -> str:
        org = account.get("organization_id").strip()
        if not org.isdigit():
            raise CarrierError(_("The InPost organization id must be a number; check the carrier account."))
        return org

    # --- errors -------------------------------------------------------------------------------

    def _fail(self, response, *, what: str) -> CarrierError:
        try:
            data = response.json()
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        code = response.status_code
        error = str(data.get("error") or "")
        details = data.get("details") if isinstance(data.get("details"), dict) else {}
        if code in (401, 403):
            return CarrierError(
                _("InPost refused the API token (%(error)s): check the carrier account.")
                % {"error": error or code},
                status=code,
            )
        if code == 404:
            return CarrierError(_("InPost does not know %(what)s (HTTP 404).") % {"what": what}, status=code)
        if code == 422 or error == "validation_failed":
            explained = describe_details(details) or str(data.get("message") or data.get("description") or "")
            return CarrierError(
                _("InPost rejected the shipment: %(details)s") % {"details": explained},
                details=details,
                status=code,
            )
        message = str(data.get("message") or data.get("description") or error or response.text[:200])
        return CarrierError(
            _("InPost answered HTTP %(code)d: %(message)s") % {"code": code, "message": message},
            status=code,
            retryable=code == 409,
        )

    def _shipment(self, data: dict) -> CarrierShipment:
        carrier_status = str(data.get("status") or "")
        tracking = str(data.get("tracking_number") or "")
        return CarrierShipment(
            carrier_id=str(data.get("id") or ""),
            status=map_status(carrier_status),
            carrier_status=carrier_status,
            tracking_number=tracking,
            tracking_url=self.default_tracking_url.format(number=tracking) if tracking else "",
            raw=data,
        )

    # --- calls --------------------------------------------------------------------------------

    def test_connection(self, account) -> ConnectionCheck:
        try:
            org = self._org(account)
            with self._client(account) as client:
                response = client.request("GET", f"/v1/organizations/{org}", retry=True)
            if response.status_code != 200:
                raise self._fail(response, what=_("organization %(org)s") % {"org": org})
            data = json_body(response, carrier=self.code)
        except CarrierError as exc:
            return ConnectionCheck(False, exc.message)
        return ConnectionCheck(
            True, _("Connected to InPost organization “%(name)s”.") % {"name": data.get("name") or org}
        )

    def validate(self, request: ShipmentRequest) -> None:
        shipment_payload(request)

    def create(self, account, request: ShipmentRequest) -> CarrierShipment:
        payload = shipment_payload(request)
        org = self._org(account)
        with self._client(account) as client:
            response = client.request("POST", f"/v1/organizations/{org}/shipments", json=payload, retry=False)
        if response.status_code not in (200, 201):
            raise self._fail(response, what=_("organization %(org)s") % {"org": org})
        shipment = self._shipment(json_body(response, carrier=self.code))
        if not shipment.carrier_id:
            raise CarrierError(
                _("InPost accepted the shipment but sent no id."), retryable=True, maybe_created=True
            )
        return shipment

    def find_by_reference(self, account, reference: str) -> CarrierShipment | None:
        org = self._org(account)
        with self._client(account) as client:
            response = client.request(
                "GET", f"/v1/organizations/{org}/shipments", params={"reference": reference}, retry=True
            )
        if response.status_code != 200:
            raise self._fail(response, what=_("organization %(org)s") % {"org": org})
        items = json_body(response, carrier=self.code).get("items") or []
        for item in items:
            if isinstance(item, dict) and item.get("reference") == reference:
                return self._shipment(item)
        return None

    def fetch(self, account, carrier_id: str) -> CarrierShipment:
        with self._client(account) as client:
            response = client.request("GET", f"/v1/shipments/{carrier_id}", retry=True)
        if response.status_code != 200:
            raise self._fail(response, what=_("shipment %(id)s") % {"id": carrier_id})
        return self._shipment(json_body(response, carrier=self.code))

    def labels(self, account, carrier_ids: list[str], fmt: str) -> LabelDocument:
        shipx_format = {"pdf": "Pdf", "zpl": "Zpl"}[fmt]
        label_type = account.get("label_type", "normal")
        documents: list[bytes] = []
        with self._client(account) as client:
            if len(carrier_ids) == 1:
                response = client.request(
                    "GET",
                    f"/v1/shipments/{carrier_ids[0]}/label",
                    params={"format": shipx_format, "type": label_type},
                    retry=True,
                )
                documents.append(self._label_body(response, fmt, what=carrier_ids[0]))
            else:
                org = self._org(account)
                for start in range(0, len(carrier_ids), self.batch_label_limit):
                    chunk = carrier_ids[start : start + self.batch_label_limit]
                    params = [("format", shipx_format), ("type", label_type)]
                    params += [("shipment_ids[]", cid) for cid in chunk]
                    response = client.request(
                        "GET", f"/v1/organizations/{org}/shipments/labels", params=params, retry=True
                    )
                    documents.extend(self._unzip(self._label_body(response, fmt, what=", ".join(chunk))))
        return merge_labels(documents, fmt)

    def _label_body(self, response, fmt: str, *, what: str) -> bytes:
        if response.status_code != 200:
            raise self._fail(response, what=_("the label of %(what)s") % {"what": what})
        body = response.content
        if fmt == "pdf" and not (body.startswith(b"%PDF") or body.startswith(b"PK")):
            raise CarrierError(_("InPost sent a label that is not a PDF."), retryable=True)
        return body

    @staticmethod
    def _unzip(body: bytes) -> list[bytes]:
        """ShipX may pack several labels as a ZIP archive; one document otherwise."""
        if not body.startswith(b"PK"):
            return [body]
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                return [archive.read(name) for name in sorted(archive.namelist())]
        except zipfile.BadZipFile as exc:
            raise CarrierError(_("InPost sent a damaged label archive."), retryable=True) from exc

    def track(self, account, shipment) -> TrackingInfo:
        if not shipment.tracking_number:
            fetched = self.fetch(account, shipment.carrier_shipment_id)
            return TrackingInfo(status=fetched.status, carrier_status=fetched.carrier_status)
        with self._client(account) as client:
            response = client.request("GET", f"/v1/tracking/{shipment.tracking_number}", retry=True)
        if response.status_code != 200:
            raise self._fail(response, what=_("parcel %(n)s") % {"n": shipment.tracking_number})
        data = json_body(response, carrier=self.code)
        events = []
        for item in data.get("tracking_details") or []:
            if not isinstance(item, dict):
                continue
            when = parse_datetime(str(item.get("datetime") or ""))
            status = str(item.get("status") or "")[:64]
            if when is None or not status:
                continue
            events.append(
                TrackingEvent(
                    status=map_status(status) or S.IN_TRANSIT,
                    carrier_status=status,
                    occurred_at=when,
                    description=str(item.get("agency") or item.get("origin_status") or "")[:255],
                )
            )
        carrier_status = str(data.get("status") or "")
        return TrackingInfo(status=map_status(carrier_status), carrier_status=carrier_status, events=events)

    def cancel(self, account, carrier_id: str) -> None:
        with self._client(account) as client:
            response = client.request("DELETE", f"/v1/shipments/{carrier_id}", retry=False)
        if response.status_code not in (200, 202, 204):
            raise self._fail(response, what=_("shipment %(id)s") % {"id": carrier_id})
