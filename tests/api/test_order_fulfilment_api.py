"""Merchant API: shipping with a tracking number (the service the admin uses) and the order
search selector the admin uses, with its criteria validated the same way."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderEmail
from orders.selectors.search import search_orders
from tests.api.conftest import error_of, merchant
from tests.orders.factories_after_sales import make_order

pytestmark = pytest.mark.django_db


def test_ship_with_a_tracking_number(store, variant):
    writer = merchant(store, ["orders:write"])
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PACKED)
    url = f"/api/v1/manage/orders/{order.pk}/ship/"
    r = writer.post(url, {"tracking_number": "6PL 1234"}, format="json")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["tracking_number"]) == ("shipped", "6PL1234")
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.SHIPPED, "6PL1234")
    assert OrderEmail.objects.filter(order=order, kind=OrderEmail.Kind.SHIPPED).exists()
    assert order.status_changes.get(to_status="shipped").note.splitlines()[1] == "przez klucz API test"
    # Already shipped: the workflow refuses, the number stays.
    r = writer.post(url, {"tracking_number": "6PL9999"}, format="json")
    assert r.status_code == 409 and error_of(r)["code"] == "invalid_transition"
    order.refresh_from_db()
    assert order.tracking_number == "6PL1234"


@pytest.mark.parametrize(
    "body",
    [
        {"tracking_number": "<b>1</b>"},
        {"tracking_number": "x" * 65},
        {"tracking_number": "   "},
    ],
)
def test_a_malformed_tracking_number_is_refused_and_changes_nothing(store, variant, body):
    writer = merchant(store, ["orders:write"])
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PACKED)
    r = writer.post(f"/api/v1/manage/orders/{order.pk}/ship/", body, format="json")
    assert r.status_code in (400, 422), r.content
    assert "tracking_number" in error_of(r)["fields"]
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == (Order.Status.PACKED, "")


@pytest.mark.parametrize(
    "body",
    [{}, {"tracking_number": 123456}, {"tracking_number": "6PL1", "carrier": "inpost"}, ["6PL1"]],
)
def test_wrong_shapes_are_a_400(store, variant, body):
    writer = merchant(store, ["orders:write"])
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PACKED)
    r = writer.post(f"/api/v1/manage/orders/{order.pk}/ship/", body, format="json")
    assert r.status_code == 400, r.content
    order.refresh_from_db()
    assert order.status == Order.Status.PACKED


def test_shipping_needs_the_write_scope_and_the_stores_order(store, variant):
    order = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PACKED)
    reader = merchant(store, ["orders:read"])
    r = reader.post(f"/api/v1/manage/orders/{order.pk}/ship/", {"tracking_number": "6PL1"}, format="json")
    assert r.status_code == 403
    writer = merchant(store, ["orders:write"])
    r = writer.post(
        f"/api/v1/manage/orders/{order.pk + 1000}/ship/", {"tracking_number": "6PL1"}, format="json"
    )
    assert r.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PACKED


def test_the_api_search_is_the_admins_selector(store, variant):
    reader = merchant(store, ["orders:read"])
    paid = make_order(store=store, lines=[(variant, 1)], status=Order.Status.PAID)
    make_order(store=store, lines=[(variant, 2)], status=Order.Status.DELIVERED)
    criteria = {"status": ["paid", "delivered"], "q": paid.email}
    expected = list(
        search_orders(Order.objects.filter(store=store), criteria, zone=store.zone)
        .order_by("-created_at", "-pk")
        .values_list("number", flat=True)
    )
    r = reader.get("/api/v1/manage/orders/", criteria)
    assert [o["number"] for o in r.json()["results"]] == expected == [paid.number]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"total_min": "100", "total_max": "10"}, "total_max"),
    ],
)
def test_a_reversed_range_is_a_422(store, params, field):
    # Two well-formed parameters the schema allows, refused by a rule across them: 422, not 400.
    r = merchant(store, ["orders:read"]).get("/api/v1/manage/orders/", params)
    assert r.status_code == 422, r.content
    assert set(error_of(r)["fields"]) == {field}


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "02.05.2026"},
        {"total_min": "-1"},
        {"status": "lost"},
        {"q": "x" * 101},
    ],
)
def test_invalid_search_criteria_are_a_400(store, params):
    r = merchant(store, ["orders:read"]).get("/api/v1/manage/orders/", params)
    assert r.status_code == 400, r.content
    assert set(error_of(r)["fields"]) & {*params, "date_to", "total_max"}
