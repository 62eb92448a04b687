"""Factories for the sales-channel models, and an in-memory channel connector for the tests of
the shared layer (``MemoryChannel``: records pushes and fulfilments, serves queued orders).

    config = channel_config(store, "memory_channel", status_map={"shipped": "SENT"})
    listing = ChannelListingFactory(config=config, variant=variant, external_id="X1")
    order = external_order("A-1", [line("SKU-1", 2, "19.99")], paid=True)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

import factory

from integrations import services
from integrations.channels.base import (
    ChannelConnector,
    ExternalAddress,
    ExternalLine,
    ExternalOrder,
    PushResult,
)
from integrations.channels.models import ChannelListing, ChannelOrder
from integrations.connectors import ConfigField, register
from integrations.models import ConnectorConfig


def channel_config(store, connector_type: str, *, name: str = "", secrets: dict | None = None, **options):
    """A saved connector configuration (validated by the framework, schedules created)."""
    config = ConnectorConfig(
        store=store,
        connector_type=connector_type,
        name=name or f"{connector_type} {ConnectorConfig.objects.count() + 1}",
        full_sync_time=dt.time(3, 0),
        stock_sync_minutes=0,
    )
    return services.save_config(config=config, raw_settings={**options, **(secrets or {})})


class ChannelListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelListing

    config = None
    variant = None
    external_id = factory.Sequence(lambda n: f"EXT-{n}")
    push_due = True


class ChannelOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelOrder

    config = None
    external_id = factory.Sequence(lambda n: f"ORDER-{n}")
    payload = factory.LazyFunction(dict)


def line(sku: str, quantity: int = 1, price: str = "10.00", **kwargs) -> ExternalLine:
    return ExternalLine(sku=sku, quantity=quantity, unit_price=Decimal(price), **kwargs)


def address(**kwargs) -> ExternalAddress:
    values = {
        "first_name": "Jan",
        "last_name": "Kowalski",
        "street": "Marszałkowska 1",
        "postal_code": "00-001",
        "city": "Warszawa",
        "phone": "+48600100200",
    }
    return ExternalAddress(**{**values, **kwargs})


def external_order(external_id: str, lines: list[ExternalLine], **kwargs) -> ExternalOrder:
    raw = {
        "id": external_id,
        "lines": [
            {"sku": x.sku, "ean": x.ean, "quantity": x.quantity, "price": str(x.unit_price)} for x in lines
        ],
        **{k: v for k, v in kwargs.items() if isinstance(v, str | bool | int)},
    }
    values: dict[str, Any] = {
        "status": "new",
        "email": "kupujacy@example.com",
        "shipping_address": address(),
        "shipping_cost": Decimal("12.00"),
        "shipping_method_name": "Kurier",
    }
    values.update(kwargs)
    return ExternalOrder(external_id=external_id, lines=lines, raw=raw, **values)


@register
class MemoryChannel(ChannelConnector):
    """A channel whose partner is this process: pushes and fulfilments are recorded, orders
    come from ``pages`` (a list of lists), failures are scripted per SKU."""

    type = "memory_channel"
    label = "Memory channel"
    max_batch_size = 3
    config_schema = (*ChannelConnector.common_fields(), ConfigField("note", "Note"))

    pushed: ClassVar[list[list]] = []
    fail_skus: ClassVar[set[str]] = set()
    raise_on_push: ClassVar[Exception | None] = None
    pages: ClassVar[list[list[ExternalOrder]]] = []
    fulfilments: ClassVar[list[tuple[str, str]]] = []
    fail_fulfilment: ClassVar[bool] = False

    @classmethod
    def reset(cls) -> None:
        cls.pushed, cls.fail_skus, cls.raise_on_push = [], set(), None
        cls.pages, cls.fulfilments, cls.fail_fulfilment = [], [], False

    def push_stock_prices(self, batch):
        if MemoryChannel.raise_on_push is not None:
            raise MemoryChannel.raise_on_push
        MemoryChannel.pushed.append(list(batch))
        return [
            PushResult(listing_id=u.listing_id, ok=u.sku not in MemoryChannel.fail_skus, error="refused")
            if u.sku in MemoryChannel.fail_skus
            else PushResult(listing_id=u.listing_id, ok=True)
            for u in batch
        ]

    def fetch_orders(self, cursor):
        page = int(cursor.get("page", 0))
        if page >= len(MemoryChannel.pages):
            return [], cursor
        return MemoryChannel.pages[page], {"page": page + 1}

    def parse_order(self, raw):
        if "lines" not in raw:
            raise ValueError("no lines")
        return external_order(
            raw["id"],
            [line(x["sku"], x["quantity"], x["price"], ean=x.get("ean", "")) for x in raw["lines"]],
            paid=bool(raw.get("paid")),
        )

    def send_fulfilment(self, *, channel_order, status, order):
        if MemoryChannel.fail_fulfilment:
            raise RuntimeError("partner down")
        MemoryChannel.fulfilments.append((channel_order.external_id, status))
