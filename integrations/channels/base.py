"""The sales-channel connector interface: what a marketplace or hub connector implements.

A channel connector is a :class:`~integrations.connectors.base.Connector` (so its configuration
form, encrypted secrets, SyncRun logging, run lock and schedules come from the framework) with
two scheduled directions and a few methods the shared layer (:mod:`integrations.channels.services`)
calls::

    from integrations.channels.base import ChannelConnector, ExternalOrder, PushResult
    from integrations.connectors import register

    @register
    class ExampleConnector(ChannelConnector):
        type = "example"
        label = "Example marketplace"
        max_batch_size = 500                      # items per push call the partner accepts
        config_schema = (*ChannelConnector.common_fields(), ConfigField("api_key", "API key", secret=True))

        def push_stock_prices(self, batch):       # list[ListingUpdate] -> list[PushResult]
            ...one or two HTTP calls for the whole batch...
            return [PushResult(listing_id=item.listing_id, ok=True) for item in batch]

        def fetch_orders(self, cursor):           # dict -> (list[ExternalOrder], dict)
            ...new orders and status updates since ``cursor``...
            return orders, {"since": last_seen}

        def parse_order(self, raw):               # the partner's order JSON -> ExternalOrder
            ...

        def send_fulfilment(self, *, channel_order, status, order):   # tell the partner
            ...

Directions: ``push`` (capability ``stock_price_sink``) runs
:func:`~integrations.channels.services.push_due_listings` every ``push_every_seconds`` -- the
debounce interval: stock and price changes in the shop only mark listings ``push_due`` and wait
for it -- and ``orders`` (capability ``order_source``) runs
:func:`~integrations.channels.services.import_orders` every ``orders_every_seconds``. Both run
inside the framework's locked :class:`~integrations.models.SyncRun`; per-item problems go to its
error log (``SyncRunError``), the rest of the batch goes on.

Fulfilment goes back to the partner when the shop order changes status (``order.status_changed``
event): :meth:`ChannelConnector.fulfilment_status_for` maps the shop status to the partner's (by
default through the ``status_map`` option), then :meth:`send_fulfilment` is called once per new
mapped status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.services.external import ExternalAddress, ExternalLine

from ..connectors.base import Capability, ConfigField, Connector, RunContext

if TYPE_CHECKING:  # pragma: no cover
    from orders.models import Order

    from ..models import ConnectorConfig
    from .models import ChannelOrder

__all__ = [
    "ChannelConnector",
    "ExternalAddress",
    "ExternalLine",
    "ExternalOrder",
    "ListingUpdate",
    "PushResult",
]


@dataclass
class ListingUpdate:
    """One listing of a push batch: the values to send now and which of them changed since the
    last successful push (connectors with separate stock and price calls send only those)."""

    listing_id: int
    variant_id: int
    sku: str
    ean: str
    external_id: str
    quantity: int
    price: Decimal
    quantity_changed: bool
    price_changed: bool
    data: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    product_id: int | None = None


@dataclass
class PushResult:
    """What the partner said about one item. ``ok=False`` keeps the listing due with ``error``
    (retried next run); ``external_id`` / ``data`` update the listing when given; ``pending``
    marks an item accepted for asynchronous validation (the listing stays ``pending``)."""

    listing_id: int
    ok: bool
    error: str = ""
    external_id: str = ""
    data: dict[str, Any] | None = None
    pending: bool = False


@dataclass
class ExternalOrder:
    """One partner order, parsed. ``raw`` is kept on the ChannelOrder so a failed import can be
    retried (through :meth:`ChannelConnector.parse_order`) without fetching it again."""

    external_id: str
    status: str
    lines: list[ExternalLine]
    raw: dict[str, Any]
    paid: bool = False
    cancelled: bool = False
    email: str = ""
    phone: str = ""
    language: str = ""
    currency: str = ""
    shipping_address: ExternalAddress | None = None
    billing_address: ExternalAddress | None = None
    wants_invoice: bool = False
    pickup_point: str = ""
    shipping_method_name: str = ""
    shipping_cost: Decimal = Decimal("0")
    payment_method_name: str = ""
    cash_on_delivery: bool = False
    payment_reference: str = ""
    placed_at: datetime | None = None
    paid_at: datetime | None = None
    note: str = ""
    #: Set when the partner's data cannot become an order (malformed): logged, retried next run.
    problem: str = ""


def _status_map_choices() -> tuple[tuple[str, str], ...]:
    from orders.models import Order

    return tuple(Order.Status.choices)


class ChannelConnector(Connector):
    """Base class of marketplace and hub connectors (see the module docstring)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.STOCK_PRICE_SINK, Capability.ORDER_SOURCE}
    )
    #: The most items the partner takes in one push call.
    max_batch_size: ClassVar[int] = 1000
    #: The ``source`` written on imported orders (payment provider, idempotency key).
    order_source: ClassVar[str] = ""

    @classmethod
    def common_fields(cls) -> tuple[ConfigField, ...]:
        """Options every channel shares; put them first in ``config_schema``."""
        return (
            ConfigField(
                "push_every_seconds",
                gettext_lazy("Push stock and prices every (seconds)"),
                "int",
                default=settings.CHANNELS_PUSH_EVERY_SECONDS,
                min_value=0,
                max_value=86400,
                help=gettext_lazy(
                    "Changes in the shop are collected and pushed together at this interval; 0 turns "
                    "pushing off."
                ),
            ),
            ConfigField(
                "orders_every_seconds",
                gettext_lazy("Import orders every (seconds)"),
                "int",
                default=settings.CHANNELS_ORDERS_EVERY_SECONDS,
                min_value=0,
                max_value=86400,
                help=gettext_lazy("0 turns the order import off."),
            ),
            ConfigField(
                "batch_size",
                gettext_lazy("Items per push call"),
                "int",
                default=cls.max_batch_size,
                min_value=1,
                max_value=cls.max_batch_size,
            ),
            ConfigField(
                "list_all_variants",
                gettext_lazy("Offer every active variant"),
                "bool",
                default=True,
                help=gettext_lazy(
                    "On: every active variant of the store gets a listing. Off: only listings "
                    "added by hand are pushed."
                ),
            ),
            ConfigField(
                "max_quantity",
                gettext_lazy("Highest stock shown"),
                "int",
                default=settings.CHANNELS_MAX_PUSHED_QUANTITY,
                min_value=0,
                max_value=1_000_000,
                help=gettext_lazy("Untracked and backordered variants are pushed with this quantity."),
            ),
            ConfigField(
                "send_shop_emails",
                gettext_lazy("Send the shop's order emails to buyers"),
                "bool",
                default=False,
                help=gettext_lazy("Off: the marketplace informs its buyers, the shop does not mail them."),
            ),
            ConfigField(
                "status_map",
                gettext_lazy("Fulfilment statuses sent back"),
                "json",
                default={},
                help=gettext_lazy(
                    'Shop status -> the partner\'s status, e.g. {"shipped": "SENT", "cancelled": '
                    '"CANCELLED"}. Statuses not listed are not sent.'
                ),
            ),
        )

    @classmethod
    def validate_settings(cls, settings_: dict[str, Any]) -> None:
        status_map = settings_.get("status_map")
        if status_map in (None, ""):
            return
        if not isinstance(status_map, dict):
            raise ValidationError({"status_map": _("Give an object: shop status -> partner status.")})
        known = {value for value, _label in _status_map_choices()}
        unknown = sorted(str(k) for k in status_map if k not in known)
        if unknown:
            raise ValidationError(
                {"status_map": _("Unknown shop statuses: %(names)s") % {"names": ", ".join(unknown)}}
            )
        for value in status_map.values():
            if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
                raise ValidationError({"status_map": _("Every partner status must be a text or a number.")})

    @classmethod
    def schedule_seconds(cls, config: ConnectorConfig, direction: str) -> int | None:
        options = cls.typed_options(config.settings)
        if direction == "push":
            return options.get("push_every_seconds") or 0
        if direction == "orders":
            return options.get("orders_every_seconds") or 0
        return None

    @property
    def batch_size(self) -> int:
        return max(1, min(self.max_batch_size, self.options.get("batch_size") or self.max_batch_size))

    @property
    def source(self) -> str:
        return self.order_source or self.type

    # --- what the shared layer calls ------------------------------------------------------------

    def run(self, *, direction: str, context: RunContext) -> None:
        from . import services

        if direction == "push":
            services.push_due_listings(config=self.config, connector=self, run=context.run)
        elif direction == "orders":
            services.import_orders(config=self.config, connector=self, run=context.run)
        else:
            super().run(direction=direction, context=context)

    def prepare_listings(self, listings: list, *, run) -> None:
        """Give listings without a partner id one (match or create the product at the partner)
        before they are pushed; set ``listing.external_id`` / ``listing.error`` on each and the
        caller saves them. The default uses the SKU."""
        for listing in listings:
            listing.external_id = listing.variant.sku

    def push_stock_prices(self, batch: list[ListingUpdate]) -> list[PushResult]:
        """Send the batch (at most :attr:`batch_size` items); one result per item, in any order.
        Raise :class:`~integrations.connector_client.IntegrationHTTPError` when the whole call failed."""
        raise NotImplementedError

    def fetch_orders(self, cursor: dict[str, Any]) -> tuple[list[ExternalOrder], dict[str, Any]]:
        """New and changed orders since ``cursor`` (what the previous call returned; ``{}`` the
        first time) and the cursor to store. Called in a loop until it returns no orders."""
        raise NotImplementedError

    def parse_order(self, raw: dict[str, Any]) -> ExternalOrder:
        """The partner's order JSON -> :class:`ExternalOrder`; raises ``ValueError`` when the
        payload is unusable."""
        raise NotImplementedError

    def fulfilment_status_for(self, status: str) -> str | None:
        """The partner's status for a shop status, or None to send nothing."""
        value = (self.options.get("status_map") or {}).get(status)
        return str(value) if value not in (None, "") else None

    def send_fulfilment(self, *, channel_order: ChannelOrder, status: str, order: Order) -> None:
        """Tell the partner the order reached ``status`` (already mapped). Raise on failure: the
        event is delivered again later."""
        raise NotImplementedError
