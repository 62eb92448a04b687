"""Factories for after-sales tests: orders as checkout leaves them (placed, paid, shipped...).

``make_order(store=..., lines=[(variant, qty), ...], status=..., sold=True)`` builds an order with
frozen lines priced from the variants, totals that add up, and -- with ``sold`` -- the stock
taken off the shelves through ``catalog.stock`` exactly as a paid checkout does, so restocking a
return can be checked against real movements.
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from catalog import stock
from orders import vat
from orders.models import Address, Order, OrderLine, money
from tests.shop.factories import StoreFactory, UserFactory

_guests = itertools.count(1)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    first_name = "Jan"
    last_name = "Kowalski"
    street = "ul. Długa 5/7"
    postal_code = "00-950"
    city = "Warszawa"
    country = "PL"
    phone = "+48 600 100 200"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    number = factory.Sequence(lambda n: f"KS-2611-{n:05d}")
    email = factory.Sequence(lambda n: f"klient{n}@example.com")
    phone = "+48 600 100 200"
    language = "pl"
    currency = "PLN"
    status = Order.Status.PAID
    payment_status = Order.PaymentStatus.PAID
    shipping_address = factory.SubFactory(AddressFactory)
    billing_address = factory.SelfAttribute("shipping_address")
    shipping_method_name = "Kurier"
    payment_method_name = "Przelew"
    paid_at = factory.LazyFunction(timezone.now)


def _net(gross: Decimal, rate: str) -> Decimal:
    pct = Decimal("0") if rate == "zw" else Decimal(rate)
    return money(gross / (1 + pct / 100)) if pct else money(gross)


def make_order(
    *,
    store,
    lines,
    status: str = Order.Status.DELIVERED,
    user=None,
    shipping: Decimal = Decimal("15.00"),
    discount: Decimal = Decimal("0.00"),
    sold: bool = True,
    delivered_days_ago: int = 2,
    language: str = "pl",
    **kwargs,
) -> Order:
    """An order of ``lines`` ((variant, quantity) pairs) in ``status``; ``discount`` is spread
    over the lines like a voucher (last line takes the remainder)."""
    now = timezone.now()
    dates = {}
    if status in (Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.RETURNED):
        dates["shipped_at"] = now - timedelta(days=delivered_days_ago + 1)
    if status in (Order.Status.DELIVERED, Order.Status.RETURNED):
        dates["delivered_at"] = now - timedelta(days=delivered_days_ago)
    unpaid = status in (Order.Status.NEW, Order.Status.AWAITING_PAYMENT)
    kwargs.setdefault("email", user.email if user is not None else f"gosc{next(_guests)}@example.com")
    order = OrderFactory(
        store=store,
        user=user,
        status=status,
        payment_status=Order.PaymentStatus.UNPAID if unpaid else Order.PaymentStatus.PAID,
        paid_at=None if unpaid else now - timedelta(days=delivered_days_ago + 2),
        language=language,
        shipping_total=shipping,
        **dates,
        **kwargs,
    )
    subtotal = Decimal("0.00")
    gross_lines = []
    for variant, quantity in lines:
        gross_lines.append((variant, quantity, money(variant.price * quantity)))
        subtotal += money(variant.price * quantity)
    left = discount
    created = []
    for i, (variant, quantity, total) in enumerate(gross_lines):
        share = left if i == len(gross_lines) - 1 else min(total, money(discount * total / subtotal))
        left -= share
        rate = variant.product.vat_rate
        created.append(
            OrderLine.objects.create(
                order=order,
                variant=variant,
                product_kind=variant.product.kind,
                product_name=variant.product.name,
                variant_name=variant.name,
                sku=variant.sku,
                quantity=quantity,
                unit_price=variant.price,
                vat_rate=rate,
                total=total,
                discount=share,
                total_net=_net(total - share, rate),
                total_vat=total - share - _net(total - share, rate),
                position=i,
            )
        )
    order.subtotal = subtotal
    order.discount_total = discount
    order.total = subtotal - discount + shipping
    # The order's net is per rate from the gross totals (orders.vat), gift cards outside VAT.
    items = [(line.total - line.discount, "np" if line.is_gift_card else line.vat_rate) for line in created]
    if shipping:
        items.append((shipping, order.shipping_vat_rate))
    order.total_net = vat.totals(items)[1]
    order.save()
    if sold and not unpaid:
        stockable = [(v, q) for v, q in lines if v.track_stock and v.product.kind in ("standard", "set")]
        if stockable:
            stock.reserve_stock(lines=stockable, reference=order.reservation_reference, minutes=15)
            stock.commit_sale(reference=order.reservation_reference, store=store)
    return order


def customer(**kwargs):
    return UserFactory(**kwargs)


def use_isolated_cache(settings) -> None:
    """Give this test a cache of its own process. The default file cache is shared by
    pytest-xdist's workers, so a cached store (by host) or a rate-limit counter of one worker
    leaks into the other; test modules call this from an autouse fixture."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"partb-{os.getpid()}",
        }
    }
