"""The hand-computed shop of the reports tests (Europe/Warsaw, winter time: UTC+1).

Range 14-16 January 2025, by day, paid orders (amounts in PLN):

=========  ==========================  =======================================================
order      placed (UTC -> Warsaw)      content
=========  ==========================  =======================================================
o1         14th 22:30 -> 14th 23:30    A×2 (200) + shipping 15 = 215, storefront
o2         14th 23:30 -> 15th 00:30    B×1 (50) + C×1 (30) + shipping 10 = 90, API
o3         15th 12:00 -> 15th 13:00    A×1 (100), delivered, A refunded in full (100), marketplace
unpaid     15th 10:00                  B×3, awaiting payment: excluded
cancelled  16th 10:00                  C×1, cancelled: excluded
late       16th 23:30 -> 17th 00:30    A×1: after the range
before     12th 10:00                  A×1 = 100: the previous period (11-13th)
=========  ==========================  =======================================================

Whole store: 14th 215 / 1 order / 2 units; 15th sales 190, refunds 100, revenue 90, 2 orders,
2 units (3 sold - 1 returned); 16th zeros. Totals: sales 405, refunds 100, revenue 305,
3 orders, 4 units, average order value 135.00; previous period 100 -> +205.0%.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from orders.models import Order
from tests.catalog.factories import CategoryFactory, ProductFactory, VariantFactory
from tests.shop.factories import StoreFactory

from .factories import make_order, refund, shipping_method


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def shop(store):
    clothes = CategoryFactory(store=store, name="Odzież", slug="odziez")
    shirts = CategoryFactory(store=store, parent=clothes, name="Koszulki", slug="koszulki")
    shirt = ProductFactory(store=store, name="Koszulka Żółw", slug="koszulka", category=shirts)
    a = VariantFactory(product=shirt, sku="KOSZ-M", name="M", price=Decimal("100.00"))
    b = VariantFactory(product=shirt, sku="KOSZ-L", name="L", price=Decimal("50.00"))
    mug = ProductFactory(store=store, name="Kubek", slug="kubek")
    c = VariantFactory(product=mug, sku="KUB-1", price=Decimal("30.00"))
    dpd = shipping_method(store)
    o1 = make_order(
        store, at=utc(2025, 1, 14, 22, 30), lines=[(a, 2)], shipping=Decimal("15.00"), shipping_method=dpd
    )
    o2 = make_order(
        store,
        at=utc(2025, 1, 14, 23, 30),
        lines=[(b, 1), (c, 1)],
        shipping=Decimal("10.00"),
        channel=Order.Channel.API,
        customer=("Jan", "Brzęczyszczykiewicz"),
        company="Łódź Sp. z o.o.",
    )
    o3 = make_order(
        store,
        at=utc(2025, 1, 15, 12, 0),
        lines=[(a, 1)],
        status=Order.Status.DELIVERED,
        channel=Order.Channel.MARKETPLACE,
    )
    refund(o3.lines.get(), quantity=1, amount=Decimal("100.00"))
    unpaid = make_order(
        store, at=utc(2025, 1, 15, 10, 0), lines=[(b, 3)], status=Order.Status.AWAITING_PAYMENT
    )
    cancelled = make_order(store, at=utc(2025, 1, 16, 10, 0), lines=[(c, 1)], status=Order.Status.CANCELLED)
    late = make_order(store, at=utc(2025, 1, 16, 23, 30), lines=[(a, 1)])
    before = make_order(store, at=utc(2025, 1, 12, 10, 0), lines=[(a, 1)])
    return SimpleNamespace(
        store=store,
        shirt=shirt,
        mug=mug,
        a=a,
        b=b,
        c=c,
        dpd=dpd,
        o1=o1,
        o2=o2,
        o3=o3,
        unpaid=unpaid,
        cancelled=cancelled,
        late=late,
        before=before,
        shirts=shirts,
    )


@pytest.fixture
def other_store(db):
    return StoreFactory(domain="inny.example.pl", name="Inny sklep")
