"""Shared by the gateway tests: an order placed with a real gateway's payment method and that
store's gateway account pointed at a fake server."""

from __future__ import annotations

from decimal import Decimal

from orders import services
from orders.models import GatewayAccount, PaymentMethod
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ready_cart


def gateway_account(
    store, provider: str, *, config: dict, secrets: dict, sandbox: bool = True
) -> GatewayAccount:
    account = GatewayAccount(store=store, provider=provider, is_sandbox=sandbox, config=config)
    account.set_secrets(**secrets)
    account.save()
    return account


def place_online_order(
    store, provider: str, *, price=Decimal("61.50"), quantity: int = 2, email="anna@example.com"
):
    """An order awaiting payment through ``provider`` and its open Payment."""
    method, _ = PaymentMethod.objects.get_or_create(
        store=store, provider=provider, defaults={"name": provider}
    )
    variant = VariantFactory(store=store, stock=5, price=price)
    cart = ready_cart(store, [(variant, quantity)], email=email)
    services.set_checkout_choices(cart=cart, shipping_method=cart.shipping_method, payment_method=method)
    cart.refresh_from_db()
    order = services.place_order(cart=cart)
    payment = services.open_payment(order)
    assert payment is not None and payment.provider == provider
    order.variant = variant
    return order, payment


def isolate_cache(settings) -> None:
    """A cache of this process only, emptied for each test: the default file cache is shared
    with other test runs, whose ``cache.clear()`` would drop a cached OAuth token mid-test, and
    a store cached by host in an earlier test would point at a row rolled back since."""
    import os

    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"gw-{os.getpid()}",
        }
    }
    cache.clear()
