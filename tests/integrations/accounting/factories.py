"""Factories for the accounting tests: connector configurations saved through the service (so
options are validated and secrets encrypted like in the admin), paid orders with the buyers the
tests need, and external documents."""

from __future__ import annotations

from decimal import Decimal

import factory

from integrations import services as integration_services
from integrations.accounting.models import ExternalDocument
from integrations.models import ConnectorConfig
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order


def save_connector(store, connector_type: str, *, name: str | None = None, **options) -> ConnectorConfig:
    config = ConnectorConfig(store=store, connector_type=connector_type, name=name or connector_type)
    return integration_services.save_config(config=config, raw_settings=options)


def fakturownia_config(store, fake=None, *, name: str = "Fakturownia", **options) -> ConnectorConfig:
    raw = {"account": "sklep", "api_token": fake.token if fake else "tok-123", "invoice_mode": "in_addition"}
    if fake is not None:
        raw["api_url"] = fake.url
    raw.update(options)
    return save_connector(store, "fakturownia", name=name, **raw)


def ifirma_config(store, fake=None, *, name: str = "iFirma", **options) -> ConnectorConfig:
    raw = {
        "login": fake.login if fake else "sklep_demo",
        "api_key": fake.key_hex if fake else "A1B2C3D4E5F60718",
        "invoice_mode": "in_addition",
    }
    if fake is not None:
        raw["api_url"] = fake.api_url
    raw.update(options)
    return save_connector(store, "ifirma", name=name, **raw)


def pos_config(store, **options) -> ConnectorConfig:
    raw = {"target": "directory", "directory": "kasa-1", "only_without_invoice": True}
    raw.update(options)
    return save_connector(store, "pos_drop", name="Kasa", **raw)


def goods(store, *specs):
    """Variants priced and taxed as given: ``goods(store, ("100.00", "23"), ("30.00", "zw"))``."""
    return [
        VariantFactory(
            store=store, price=Decimal(price), product__vat_rate=rate, product__name=f"Towar {rate}% {i}"
        )
        for i, (price, rate) in enumerate(specs)
    ]


def paid_order(store, lines, *, buyer=None, wants_invoice=False, status="paid", **kwargs):
    """A paid order of ``lines`` ((variant, qty)); ``buyer`` overrides the billing address fields."""
    address = AddressFactory(**(buyer or {}))
    return make_order(
        store=store,
        lines=lines,
        status=status,
        sold=False,
        shipping_address=address,
        billing_address=address,
        wants_invoice=wants_invoice,
        payment_provider=kwargs.pop("payment_provider", "przelewy24"),
        **kwargs,
    )


class ExternalDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalDocument

    store = factory.LazyAttribute(lambda o: o.order.store)
    kind = ExternalDocument.Kind.INVOICE
