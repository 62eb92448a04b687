"""Allegro orders into the shop: ``GET /order/events`` from a stored cursor, then
``GET /order/checkout-forms/{id}`` per order, parsed into the channel layer's ``ExternalOrder``.

Which events matter:

- ``READY_FOR_PROCESSING``: the buyer finished checkout (paid, or chose cash on delivery): the
  order is imported. ``BOUGHT`` and ``FILLED_IN`` come earlier and may never be paid; Allegro
  cancels those itself (``AUTO_CANCELLED``), so they are not imported.
- ``BUYER_CANCELLED`` / ``AUTO_CANCELLED``: an imported order is cancelled in the shop (its stock
  goes back); one never imported is only recorded.

The cursor is the last event id of a page the shared layer finished (``import_orders`` stores it
after each page), so a run that dies in the middle of a page reads that page again and the orders
it already imported are recognised by their checkout-form id.

Line items are matched by ``offer.external.id`` (our SKU, sent when the offer was created) or,
for offers made on Allegro by hand, by the listing that holds the offer id.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integrations.channels.base import ExternalAddress, ExternalLine, ExternalOrder
from integrations.channels.models import ChannelListing
from shop import phones

from .client import AllegroAPIError, AllegroClient

log = logging.getLogger(__name__)

EVENT_TYPES = ("READY_FOR_PROCESSING", "BUYER_CANCELLED", "AUTO_CANCELLED")
IMPORTED_FORM_STATUSES = ("READY_FOR_PROCESSING", "CANCELLED")

# Shop status -> Allegro fulfilment status, when the merchant set no map of their own.
DEFAULT_STATUS_MAP = {
    "paid": "PROCESSING",
    "packed": "READY_FOR_SHIPMENT",
    "shipped": "SENT",
    "cancelled": "CANCELLED",
    "returned": "RETURNED",
}
FULFILMENT_STATUSES = (
    "NEW",
    "PROCESSING",
    "READY_FOR_SHIPMENT",
    "READY_FOR_PICKUP",
    "SENT",
    "PICKED_UP",
    "CANCELLED",
    "SUSPENDED",
    "RETURNED",
)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = 200) -> str:
    return (
        str(value).strip()[:limit]
        if isinstance(value, str | int | float) and not isinstance(value, bool)
        else ""
    )


def _amount(value: Any, what: str) -> Decimal:
    raw = _dict(value).get("amount")
    try:
        number = Decimal(str(raw))
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(
            _("%(what)s is not an amount: %(value)r") % {"what": what, "value": str(raw)[:40]}
        ) from None
    if not number.is_finite() or number < 0:
        raise ValueError(_("%(what)s is not an amount: %(value)r") % {"what": what, "value": str(raw)[:40]})
    return number


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _address(raw: dict, *, phone: str = "") -> ExternalAddress | None:
    if not raw:
        return None
    natural = _dict(raw.get("naturalPerson"))
    company = _dict(raw.get("company"))
    country = (_text(raw.get("countryCode"), 2) or "PL").upper()
    return ExternalAddress(
        first_name=_text(raw.get("firstName") or natural.get("firstName"), 100),
        last_name=_text(raw.get("lastName") or natural.get("lastName"), 100),
        company_name=_text(raw.get("companyName") or company.get("name"), 200),
        tax_id=_text(company.get("taxId") or raw.get("taxId"), 20),
        street=_text(raw.get("street"), 200),
        postal_code=_text(raw.get("zipCode") or raw.get("postCode"), 10),
        city=_text(raw.get("city"), 100),
        country=country,
        phone=phones.normalise_lenient(_text(raw.get("phoneNumber"), 64), country=country) or phone,
    )


def parse_checkout_form(raw: dict, *, offer_skus: dict[str, str] | None = None) -> ExternalOrder:
    """One checkout form -> :class:`ExternalOrder`; ``ValueError`` when it cannot be read.

    ``offer_skus`` maps offer ids to SKUs for items whose offer carries no ``external.id``.
    """
    if not isinstance(raw, dict):
        raise ValueError(_("The checkout form is not an object."))
    form_id = _text(raw.get("id"), 100)
    if not form_id:
        raise ValueError(_("The checkout form has no id."))
    status = _text(raw.get("status"), 60)
    items = raw.get("lineItems")
    if not isinstance(items, list):
        raise ValueError(_("Checkout form %(id)s has no line items.") % {"id": form_id})
    offer_skus = offer_skus or {}
    lines = []
    for item in items:
        item = _dict(item)
        offer = _dict(item.get("offer"))
        offer_id = _text(offer.get("id"), 100)
        sku = _text(_dict(offer.get("external")).get("id"), 64) or offer_skus.get(offer_id, "")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            try:
                quantity = int(str(quantity))
            except (TypeError, ValueError):
                raise ValueError(
                    _("Item %(offer)s of %(id)s has no valid quantity.")
                    % {"offer": offer_id or "?", "id": form_id}
                ) from None
        lines.append(
            ExternalLine(
                quantity=quantity,
                unit_price=_amount(
                    item.get("price"), _("The price of offer %(offer)s") % {"offer": offer_id}
                ),
                sku=sku,
                name=_text(offer.get("name"), 200),
                external_id=offer_id,
            )
        )
    buyer = _dict(raw.get("buyer"))
    payment = _dict(raw.get("payment"))
    delivery = _dict(raw.get("delivery"))
    summary = _dict(raw.get("summary"))
    invoice = _dict(raw.get("invoice"))
    to_pay = _amount(summary.get("totalToPay"), _("The order total")) if summary.get("totalToPay") else None
    currency = _text(_dict(summary.get("totalToPay")).get("currency"), 3)
    payment_type = _text(payment.get("type"), 40)
    cash_on_delivery = payment_type == "CASH_ON_DELIVERY"
    paid_amount = (
        _amount(payment.get("paidAmount"), _("The paid amount"))
        if payment.get("paidAmount")
        else Decimal("0")
    )
    paid = (
        not cash_on_delivery
        and status == "READY_FOR_PROCESSING"
        and paid_amount > 0
        and (to_pay is None or paid_amount >= to_pay)
    )
    buyer_phone = phones.normalise_lenient(_text(buyer.get("phoneNumber"), 64))
    shipping = _address(_dict(delivery.get("address")), phone=buyer_phone)
    pickup = _dict(delivery.get("pickupPoint"))
    pickup_id = _text(pickup.get("id"), 32)
    if pickup and shipping is None:
        # A parcel locker order has no delivery address: the buyer's own address is the one we have.
        shipping = _address(
            _dict(buyer.get("address"))
            | {"firstName": buyer.get("firstName"), "lastName": buyer.get("lastName")},
            phone=buyer_phone,
        )
    wants_invoice = bool(invoice.get("required"))
    billing = _address(_dict(invoice.get("address"))) if wants_invoice else None
    method = _dict(delivery.get("method"))
    shipping_name = _text(method.get("name"), 120)
    if pickup:
        where = ", ".join(
            x
            for x in (
                _text(pickup.get("name"), 60),
                _text(_dict(pickup.get("address")).get("street"), 80),
                _text(_dict(pickup.get("address")).get("city"), 60),
            )
            if x
        )
        if where:
            shipping_name = f"{shipping_name} ({where})"[:120] if shipping_name else where[:120]
    notes = []
    if _text(raw.get("messageToSeller"), 2000):
        notes.append(_text(raw.get("messageToSeller"), 2000))
    if pickup_id:
        notes.append(_("Allegro pickup point: %(id)s") % {"id": pickup_id})
    first_bought = next(
        (_when(_dict(i).get("boughtAt")) for i in items if _when(_dict(i).get("boughtAt"))), None
    )
    provider = _text(payment.get("provider"), 40)
    return ExternalOrder(
        external_id=form_id,
        status=status,
        lines=lines,
        raw=raw,
        paid=paid,
        cancelled=status == "CANCELLED",
        email=_text(buyer.get("email"), 254),
        phone=buyer_phone or (shipping.phone if shipping else ""),
        language="pl",
        currency=currency,
        shipping_address=shipping,
        billing_address=billing,
        wants_invoice=wants_invoice,
        pickup_point=pickup_id,
        shipping_method_name=shipping_name,
        shipping_cost=_amount(delivery.get("cost"), _("The delivery cost"))
        if delivery.get("cost")
        else Decimal("0"),
        payment_method_name=" ".join(x for x in ("Allegro", payment_type, provider and f"({provider})") if x)[
            :120
        ],
        cash_on_delivery=cash_on_delivery,
        payment_reference=_text(payment.get("id"), 100),
        placed_at=first_bought or _when(raw.get("updatedAt")),
        paid_at=_when(payment.get("finishedAt")) if paid else None,
        note="\n".join(notes),
    )


def offer_skus(config, forms: list[dict]) -> dict[str, str]:
    """Offer id -> SKU of our listings, for items whose offer has no ``external.id`` (one query)."""
    ids = set()
    for form in forms:
        for item in form.get("lineItems") or [] if isinstance(form, dict) else []:
            offer = _dict(_dict(item).get("offer"))
            if offer.get("id") and not _dict(offer.get("external")).get("id"):
                ids.add(_text(offer["id"], 100))
    if not ids:
        return {}
    return dict(
        ChannelListing.objects.filter(config=config, external_id__in=ids).values_list(
            "external_id", "variant__sku"
        )
    )


def fetch_events(client: AllegroClient, cursor: dict) -> tuple[list[dict], str]:
    """One page of order events after ``cursor["from"]``; returns (events, last event id)."""
    params: list[tuple[str, Any]] = [("type", t) for t in EVENT_TYPES]
    params.append(("limit", max(1, min(1000, settings.ALLEGRO_EVENTS_PAGE_SIZE))))
    if cursor.get("from"):
        try:
            data = client.get("/order/events", params=[*params, ("from", str(cursor["from"]))])
        except AllegroAPIError as exc:
            if exc.status not in (400, 422) or not any("from" in (i.path or i.message) for i in exc.items):
                raise
            # Allegro no longer knows our last event (it keeps events for a limited time): read
            # from the oldest event it still has; orders seen before are recognised by their id.
            log.warning("Allegro refused the order event cursor %s: %s", cursor["from"], exc)
            data = client.get("/order/events", params=params)
    else:
        data = client.get("/order/events", params=params)
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        from .client import AllegroMalformedResponse

        raise AllegroMalformedResponse(_("Allegro's order events answer has no event list."))
    good = [e for e in events if isinstance(e, dict) and _text(e.get("id"), 100)]
    last = _text(good[-1]["id"], 100) if good else str(cursor.get("from") or "")
    return good, last


def fetch_checkout_form(client: AllegroClient, form_id: str) -> dict | None:
    """The checkout form (None when Allegro no longer knows it)."""
    try:
        data = client.get(f"/order/checkout-forms/{form_id}")
    except AllegroAPIError as exc:
        if exc.status == 404:
            return None
        raise
    return data if isinstance(data, dict) else None


def form_id_of(event: dict) -> str:
    return _text(_dict(_dict(event.get("order")).get("checkoutForm")).get("id"), 100)


# Carrier ids of ``POST /order/checkout-forms/{id}/shipments``, found in the shipping method's name.
CARRIERS = (
    ("paczkomat", "INPOST"),
    ("inpost", "INPOST"),
    ("dpd", "DPD"),
    ("dhl", "DHL"),
    ("poczta", "POCZTA_POLSKA"),
    ("pocztex", "POCZTA_POLSKA"),
    ("gls", "GLS"),
    ("ups", "UPS"),
    ("fedex", "FEDEX"),
    ("orlen", "ORLEN"),
)


def carrier_for(shipping_method_name: str) -> str:
    name = (shipping_method_name or "").lower()
    for word, carrier in CARRIERS:
        if word in name:
            return carrier
    return "OTHER"


def send_tracking(
    client: AllegroClient, *, form_id: str, waybill: str, shipping_method_name: str, line_item_ids
):
    """Add the parcel number to the order on Allegro unless it is there already (the buyer sees
    it and Allegro tracks it). Returns True when it was added now."""
    waybill = (waybill or "").strip()[:64]
    if not waybill:
        return False
    known = client.get(f"/order/checkout-forms/{form_id}/shipments")
    shipments = known.get("shipments") if isinstance(known, dict) else None
    if isinstance(shipments, list) and any(
        isinstance(s, dict) and str(s.get("waybill") or "").strip() == waybill for s in shipments
    ):
        return False
    carrier = carrier_for(shipping_method_name)
    body: dict[str, Any] = {"carrierId": carrier, "waybill": waybill}
    if carrier == "OTHER":
        body["carrierName"] = (shipping_method_name or _("Courier"))[:30]
    ids = [str(i) for i in line_item_ids if i]
    if ids:
        body["lineItems"] = [{"id": i} for i in ids]
    client.post(f"/order/checkout-forms/{form_id}/shipments", body, ok=(200, 201))
    return True
