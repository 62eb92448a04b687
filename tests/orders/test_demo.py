"""orders.demo: realistic demo orders, created idempotently through the services."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import demo
from orders.models import Order, PaymentMethod, ShippingMethod, Voucher
from tests.catalog.factories import VariantFactory, make_set

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_spreads_orders(store):
    variants = [VariantFactory(store=store, stock=500) for _ in range(6)]
    make_set(store=store, components=[(variants[0], 1), (variants[1], 1)])
    demo.seed(store=store, rng=random.Random(1))
    counts = (ShippingMethod.objects.count(), PaymentMethod.objects.count(), Voucher.objects.count())
    orders = Order.objects.count()
    assert counts == (4, 3, 1) and orders == demo.DEMO_ORDERS
    demo.seed(store=store, rng=random.Random(2))
    assert (ShippingMethod.objects.count(), PaymentMethod.objects.count(), Voucher.objects.count()) == counts
    assert Order.objects.count() == orders

    locker = ShippingMethod.objects.get(code="paczkomat-inpost")
    assert (str(locker.price), str(locker.free_shipping_threshold)) == ("12.99", "200.00")
    assert ShippingMethod.objects.get(code="kurier-pobranie").cash_on_delivery == "only"
    assert ShippingMethod.objects.get(code="odbior-osobisty").price == 0
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"delivered", "shipped", "paid", "cancelled"} <= statuses and len(statuses) >= 6
    oldest = Order.objects.order_by("created_at").first().created_at
    assert timezone.now() - timedelta(days=91) < oldest < timezone.now() - timedelta(days=20)
    assert not Order.objects.filter(emails__sent_at__isnull=True).exists()  # demo shoppers get no mail
    delivered = Order.objects.filter(status="delivered").first()
    history = list(delivered.status_changes.values_list("created_at", flat=True))
    assert history == sorted(history) and history[0] == delivered.created_at
