"""Helpers to build abandoned carts for recovery tests (orders' models used directly)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from orders.models import Cart, CartLine, ConsentRecord, Order
from tests.catalog.factories import VariantFactory


def make_variant(store, *, price="100.00", stock=10, **kwargs):
    return VariantFactory(store=store, price=Decimal(price), stock=stock, **kwargs)


def make_cart(
    store,
    *,
    email="anna@example.com",
    consent=True,
    idle_minutes=45,
    variants=None,
    quantity=1,
    language="pl",
    user=None,
    first_name="Anna",
):
    now = timezone.now()
    cart = Cart.objects.create(
        store=store,
        email=email,
        user=user,
        email_captured_at=now if email else None,
        marketing_consent=consent,
        consent_at=now if email else None,
        consent_text="Zgoda" if email else "",
        consent_version="t1",
        language=language,
        checkout={"address": {"first_name": first_name}} if first_name else {},
        last_activity_at=now - timedelta(minutes=idle_minutes),
    )
    for variant in variants if variants is not None else [make_variant(store)]:
        CartLine.objects.create(cart=cart, variant=variant, quantity=quantity, price_when_added=variant.price)
    if email:
        ConsentRecord.objects.create(
            store=store, email=email, granted=consent, text="Zgoda", version="t1", cart=cart
        )
    return cart


_numbers = iter(range(1, 10**6))


def make_order(store, *, email="anna@example.com", cart=None, total="100.00", created_at=None, status="new"):
    order = Order.objects.create(
        store=store,
        number=f"T/{next(_numbers)}",
        email=email,
        cart=cart,
        total=Decimal(total),
        subtotal=Decimal(total),
        status=status,
        created_at=created_at or timezone.now(),
    )
    if cart is not None:
        Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED, ordered_at=order.created_at)
    return order
