"""The carrier interface, the data that crosses it, and the errors a carrier call can end in.

A carrier module (``inpost``, ``apaczka``) turns a :class:`ShipmentRequest` into the carrier's
API calls and the carrier's answers back into :class:`CarrierShipment` / :class:`TrackingInfo`,
whose ``status`` is always one of ``Shipment.Status``. Everything else (rows, locks, retries,
order statuses) lives in ``orders.carriers.services``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from ..external_accounts import AccountProvider, ProviderRegistry


class CarrierError(Exception):
    """A carrier call failed. ``message`` is for the merchant (shown on the shipment);
    ``retryable`` says whether trying again later can help (timeouts, 5xx, rate limits) or the
    input must change first (a rejected address, a bad token); ``details`` is the carrier's own
    field-by-field explanation, when it gave one. ``maybe_created``: the create call may have
    reached the carrier (timeout after sending), so the next attempt looks it up first."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        details: dict | None = None,
        status: int | None = None,
        maybe_created: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.details = details or {}
        self.status = status
        self.maybe_created = maybe_created


@dataclass
class Party:
    """A sender or receiver as carriers want it."""

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "PL"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.company


@dataclass
class Parcel:
    template: str = ""
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    weight_grams: int | None = None


@dataclass
class ShipmentRequest:
    reference: str
    order_number: str
    service: str
    receiver: Party
    sender: Party | None
    parcel: Parcel
    currency: str = "PLN"
    target_point: str = ""
    cod_amount: Decimal | None = None
    insurance_amount: Decimal | None = None
    account_config: dict = field(default_factory=dict)


@dataclass
class CarrierShipment:
    """The carrier's view of one parcel."""

    carrier_id: str
    status: str
    carrier_status: str = ""
    tracking_number: str = ""
    tracking_url: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class TrackingEvent:
    status: str
    carrier_status: str
    occurred_at: datetime
    description: str = ""


@dataclass
class TrackingInfo:
    status: str  # a Shipment.Status value, or "" when the carrier said nothing we act on
    carrier_status: str = ""
    events: list[TrackingEvent] = field(default_factory=list)


@dataclass
class ConnectionCheck:
    ok: bool
    message: str = ""


@dataclass
class LabelDocument:
    content: bytes
    content_type: str
    extension: str


# Every carrier module registers its class with ``@register`` (see ``orders.external_accounts``).
carriers = ProviderRegistry("orders.carriers")
register = carriers.register


class CarrierBackend(AccountProvider):
    code: str = ""
    label_formats: tuple[str, ...] = ("pdf",)
    batch_label_limit: int = 1
    default_tracking_url: str = ""

    def test_connection(self, account) -> ConnectionCheck:
        raise NotImplementedError

    def validate(self, request: ShipmentRequest) -> None:
        """Raise :class:`CarrierError` for what the carrier would refuse, before any call."""

    def create(self, account, request: ShipmentRequest) -> CarrierShipment:
        raise NotImplementedError

    def find_by_reference(self, account, reference: str) -> CarrierShipment | None:
        raise NotImplementedError

    def fetch(self, account, carrier_id: str) -> CarrierShipment:
        raise NotImplementedError

    def labels(self, account, carrier_ids: list[str], fmt: str) -> LabelDocument:
        raise NotImplementedError

    def track(self, account, shipment) -> TrackingInfo:
        raise NotImplementedError

    def cancel(self, account, carrier_id: str) -> None:
        raise NotImplementedError

    supports_handover = False

    def handover(self, account, carrier_ids: list[str]) -> LabelDocument:
        """The handover list (protokół nadania) the courier signs when taking the parcels."""
        raise CarrierError(_("This carrier has no handover list."))


# --- shared helpers ---------------------------------------------------------------------------------

_STREET = re.compile(r"^(?P<street>.*?\D)[\s,]+(?P<number>\d+[A-Za-z]?(?:\s*[/\\-]\s*\w+)?)$")


def split_street(street: str) -> tuple[str, str]:
    """``"ul. Długa 5/3"`` -> ``("ul. Długa", "5/3")``. Carriers such as InPost want the
    building number apart; an address without one cannot be delivered by a courier."""
    text = " ".join(street.split())
    match = _STREET.match(text)
    if not match:
        raise CarrierError(
            _("The street “%(street)s” has no building number: correct the shipping address.")
            % {"street": text[:100]}
        )
    return match["street"].strip(" ,"), match["number"].replace(" ", "")


def describe_details(details, *, limit: int = 6) -> str:
    """A carrier's nested field errors as short ``field: problem`` text for the merchant."""
    parts: list[str] = []

    def walk(prefix: str, value) -> None:
        if len(parts) >= limit:
            return
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if value and all(isinstance(v, str | int | float) for v in value):
                parts.append(f"{prefix}: {', '.join(str(v) for v in value)}")
            else:
                for item in value:
                    walk(prefix, item)
        elif value not in (None, ""):
            parts.append(f"{prefix}: {value}")

    walk("", details)
    return "; ".join(parts)[:500]
