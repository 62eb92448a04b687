"""Factories for the Allegro connector tests: a configured connector pointing at a running
:class:`tests.fakes.allegro.FakeAllegro`, connected or not, and offerable variants.

    config = allegro_config(store, fake)                  # connected (tokens from the fake)
    variant = offerable_variant(store, stock=5)           # category, image, price, stock
    listing = ChannelListingFactory(config=config, variant=variant, external_id="")
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Category
from integrations.channels.allegro import oauth
from tests.catalog.factories import CategoryFactory, ProductFactory, ProductImageFactory, VariantFactory

from .factories import ChannelListingFactory, channel_config

ALLEGRO_CATEGORY = "257931"

__all__ = [
    "ALLEGRO_CATEGORY",
    "ChannelListingFactory",
    "allegro_config",
    "connect",
    "fast_allegro",
    "offerable_variant",
]


@pytest.fixture
def fast_allegro(settings):
    """Retries, polls and breakers in milliseconds: tests never wait for real."""
    settings.INTEGRATIONS_HTTP_RETRIES = 2
    settings.INTEGRATIONS_HTTP_BACKOFF_SECONDS = 0.01
    settings.INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS = 0.05
    settings.INTEGRATIONS_HTTP_TIMEOUT = 2
    settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT = 2
    settings.INTEGRATIONS_RATE_PER_SECOND = 0
    settings.INTEGRATIONS_BREAKER_THRESHOLD = 50
    settings.INTEGRATIONS_BREAKER_COOLDOWN_SECONDS = 0.2
    settings.ALLEGRO_COMMAND_POLL_SECONDS = 0
    settings.ALLEGRO_OPERATION_POLL_SECONDS = 0
    return settings


def allegro_config(store, fake, *, connected: bool = True, **options):
    """An Allegro connector for ``store`` talking to ``fake``; ``options`` override the defaults."""
    values = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "api_url": fake.url,
        "auth_url": fake.url,
        "category_map": {"buty": ALLEGRO_CATEGORY},
        "shipping_rates_id": "ship-1",
        "return_policy_id": "ret-1",
        "implied_warranty_id": "war-1",
        "list_all_variants": False,
        "push_every_seconds": 60,
        "orders_every_seconds": 60,
        **options,
    }
    secret = {"client_secret": values.pop("client_secret")}
    config = channel_config(store, "allegro", secrets=secret, **values)
    if connected:
        connect(config, fake)
    return config


def connect(config, fake, *, expires_in_seconds: int = 43199) -> tuple[str, str]:
    """Store a token pair the fake accepts, as the device flow would have."""
    access, refresh = fake.issue_tokens()

    def change(section, secrets):
        oauth._store_tokens(
            section,
            secrets,
            {"access_token": access, "refresh_token": refresh, "expires_in": expires_in_seconds},
        )

    oauth.update_state(config, change, secrets=True)
    return access, refresh


def offerable_variant(store, *, stock: int = 5, price: str = "199.00", sku: str | None = None, **kwargs):
    """A variant Allegro accepts: in the mapped category "buty", with an image and a price."""
    category = Category.objects.filter(store=store, slug="buty").first() or CategoryFactory(
        store=store, name="Buty", slug="buty"
    )
    product = ProductFactory(
        store=store, category=category, name=kwargs.pop("name", "Buty trekkingowe Góral")
    )
    ProductImageFactory(product=product)
    extra = {"sku": sku} if sku else {}
    return VariantFactory(product=product, price=Decimal(price), stock=stock, **extra, **kwargs)
