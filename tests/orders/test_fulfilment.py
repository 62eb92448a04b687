"""Shipping with a tracking number: one service (orders.services.fulfilment) behind the admin's
ship page, the merchant API and the carrier integration."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Order, OrderEmail
from orders.services import InvalidTransition
from orders.services.fulfilment import (
    InvalidTrackingNumber,
    clean_tracking_number,
    mark_shipped,
    set_tracking_number,
)
from shop.models import Event
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("6PL123456789", "6PL123456789"),
        ("  6200 1234 5678 9012 3456 7890 ", "620012345678901234567890"),
        ("JJD0000\t1234\n", "JJD00001234"),
        ("00340434/161094.042-1", "00340434/161094.042-1"),
        ("1Z999AA10123456784", "1Z999AA10123456784"),
        ("x" * 64, "x" * 64),
    ],
)
def test_tracking_numbers_people_and_carriers_write(typed, stored):
    assert clean_tracking_number(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        None,
        "x" * 65,
        "<script>alert(1)</script>",
        "6PL123;DROP TABLE",
        "-6PL123",
        "6PL\x00123",
        "ZAŻÓŁĆ123",
        "https://tracking.example.pl/?q=6PL1",
        "１２３４５６",
    ],
)
def test_hostile_or_malformed_tracking_numbers_are_refused(typed):
    with pytest.raises(InvalidTrackingNumber) as exc:
        clean_tracking_number(typed)
    assert exc.value.field == "tracking_number" and exc.value.message


def _packed(store):
    variant = VariantFactory(store=store, stock=5)
    return make_order(store=store, lines=[(variant, 1)], status=Order.Status.PACKED)


def test_mark_shipped_stores_the_number_and_ships_like_every_status_change(store):
    order = _packed(store)
    mark_shipped(order=order, tracking_number="6PL 1234 5678", note="Kurier odebrał o 14:00")
    assert (order.status, order.tracking_number) == (Order.Status.SHIPPED, "6PL12345678")
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.SHIPPED, "6PL12345678")
    assert order.shipped_at is not None
    change = order.status_changes.get(to_status="shipped")
    assert (change.from_status, change.note) == (
        "packed",
        "Tracking number: 6PL12345678\nKurier odebrał o 14:00",
    )
    assert OrderEmail.objects.filter(order=order, kind=OrderEmail.Kind.SHIPPED).count() == 1
    event = Event.objects.get(type="order.status_changed", payload__order_id=order.pk)
    assert (event.payload["from"], event.payload["to"]) == ("packed", "shipped")


def test_a_refused_transition_keeps_the_old_tracking_number(store):
    variant = VariantFactory(store=store, stock=5)
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID, tracking_number="OLD1")
    with pytest.raises(InvalidTransition):
        mark_shipped(order=order, tracking_number="NEW2")
    assert order.tracking_number == "OLD1"
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.PAID, "OLD1")
    assert not OrderEmail.objects.filter(order=order, kind=OrderEmail.Kind.SHIPPED).exists()


def test_a_malformed_number_changes_nothing(store):
    order = _packed(store)
    with pytest.raises(InvalidTrackingNumber):
        mark_shipped(order=order, tracking_number="6PL<1>")
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.PACKED, "")
    assert not order.status_changes.filter(to_status="shipped").exists()


def test_set_tracking_number_does_not_ship(store):
    order = _packed(store)
    assert set_tracking_number(order=order, tracking_number=" 6PL 1 ") == "6PL1"
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.PACKED, "6PL1")


def test_the_admin_ship_page_shows_the_services_refusal(admin_client, store):
    order = _packed(store)
    url = reverse("admin:orders_order_ship", args=[order.pk])
    r = admin_client.post(url, {"tracking_number": "x" * 65})
    assert r.status_code == 400 and "Numer przesyłki jest za długi (limit znaków: 64)." in r.content.decode()
    r = admin_client.post(url, {"tracking_number": "6PL 777"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.SHIPPED, "6PL777")
    assert order.status_changes.get(to_status="shipped").user is not None
    # Shipped already: the page says so instead of shipping twice.
    r = admin_client.post(url, {"tracking_number": "6PL888"})
    assert r.status_code == 400
    order.refresh_from_db()
    assert order.tracking_number == "6PL777"
