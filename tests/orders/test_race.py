"""No overselling, ever: many shoppers race for the last units on real PostgreSQL.

Each buyer runs in its own thread with its own database connection and transaction, and all
start together (a barrier). Exactly as many orders as units succeed; the others are told that
someone has just bought the last one. SQLite has no row locks to race on, so this needs
PostgreSQL (CI runs it with DATABASE_URL=postgres://...).
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

from catalog.models import StockItem, StockReservation
from orders import services
from orders.models import Cart, Order
from tests.catalog.factories import VariantFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory, ready_cart

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.IS_POSTGRES,
        reason="the oversell race needs PostgreSQL row locks: set DATABASE_URL=postgres://... to run it",
    ),
]

BUYERS = 24
UNITS = 5


def race(cart_ids: list[int]) -> tuple[list[Order], list[str], list[BaseException]]:
    barrier = threading.Barrier(len(cart_ids))
    orders, refusals, errors = [], [], []
    lock = threading.Lock()

    def buy(cart_id: int) -> None:
        try:
            with translation.override("en"):
                cart = Cart.objects.get(pk=cart_id)
                barrier.wait(timeout=30)
                try:
                    order = services.place_order(cart=cart)
                except services.OutOfStock as exc:
                    with lock:
                        refusals.append(exc.message)
                else:
                    with lock:
                        orders.append(order)
        except BaseException as exc:  # deadlocks, serialization errors: the test must see them
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(cart_id,)) for cart_id in cart_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return orders, refusals, errors


@pytest.mark.parametrize("payment", ["test_gateway", "cod"])
def test_exactly_as_many_orders_as_units(store, payment):
    variant = VariantFactory(store=store, stock=UNITS, price=Decimal("199.00"))
    ShippingMethodFactory(store=store, code="kurier")
    PaymentMethodFactory(store=store, provider=payment)
    carts = [
        ready_cart(store, [(variant, 1)], payment=payment, email=f"buyer{i}@example.com").pk
        for i in range(BUYERS)
    ]

    orders, refusals, errors = race(carts)

    assert errors == []
    assert len(orders) == UNITS and Order.objects.count() == UNITS
    assert len(refusals) == BUYERS - UNITS
    assert all("someone has just bought the last one" in message for message in refusals)
    item = StockItem.objects.get(variant=variant)
    assert item.quantity >= 0
    if payment == "cod":
        assert item.quantity == 0  # sold at placement
    else:
        assert item.quantity == UNITS
        held = sum(StockReservation.objects.filter(variant=variant).values_list("quantity", flat=True))
        assert held == UNITS  # every unit held exactly once
    numbers = sorted(int(o.number.rsplit("-", 1)[1]) for o in Order.objects.all())
    assert numbers == list(range(1, UNITS + 1))  # unique and without gaps
