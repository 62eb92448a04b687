"""Carriers behind shipping methods: InPost ShipX and Apaczka (docs/shipping.md).

``get_carrier(code)`` gives a carrier's backend (``base.CarrierBackend``; each carrier module
registers its class with ``@base.register``); the services in
``orders.carriers.services`` create shipments, print labels and follow tracking through them,
and ``orders.carriers.tasks`` runs that work in Celery.
"""

from __future__ import annotations

from .base import CarrierBackend, CarrierError, carriers


def get_carrier(code: str) -> CarrierBackend:
    try:
        return carriers.get(code)
    except KeyError as exc:
        raise CarrierError(f"Unknown carrier: {code!r}") from exc


def tracking_url_for(order) -> str:
    """The shopper's tracking link: the shipping method's own pattern, else the link the carrier
    gave for the parcel, else the carrier's public tracking page. Only http(s) links are given
    out (a link from a carrier's answer ends up in shoppers' emails and pages)."""
    url = _tracking_url_for(order)
    return url if url.startswith(("https://", "http://")) else ""


def _tracking_url_for(order) -> str:
    number = order.tracking_number
    if not number:
        return ""
    method = order.shipping_method
    if method is not None and method.tracking_url:
        return method.tracking_url.replace("{number}", number)
    shipment = order.shipments.exclude(status="cancelled").filter(tracking_number=number).first()
    if shipment is not None and shipment.tracking_url:
        return shipment.tracking_url
    carrier = shipment.carrier if shipment is not None else (method.carrier if method is not None else "")
    if carrier:
        return get_carrier(carrier).default_tracking_url.replace("{number}", number)
    return ""


__all__ = ["CarrierBackend", "CarrierError", "get_carrier", "tracking_url_for"]
