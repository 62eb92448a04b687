"""One tail records every order: the storefront (``place_order``) and a marketplace
(``place_external_order``) give the same ``order.created`` webhook payload, the same line copies,
the same first history entry and numbers from one counter."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from catalog.models import StockMovement, StockReservation
from orders import services
from orders.models import Order
from orders.services.external import ExternalLine, place_external_order
from shop.models import Event
from tests.catalog.factories import PreorderVariantFactory, VariantFactory, make_set
from tests.orders.factories import ready_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal

# The webhook contract (docs/api.md): every channel sends exactly these keys.
CONTRACT = {
    "order_id": int,
    "number": str,
    "store_id": int,
    "cart_id": (int, type(None)),
    "email": str,
    "total": str,
    "currency": str,
    "channel": str,
    "source": str,
    "external_reference": str,
}


def _created(order: Order) -> dict:
    event = Event.objects.get(type="order.created", payload__order_id=order.pk)
    # As a subscriber receives it: through JSON.
    return json.loads(json.dumps(event.payload))


def _external(store, reference: str, lines) -> Order:
    return place_external_order(
        store=store,
        source="allegro",
        external_reference=reference,
        email="kupujacy@example.com",
        paid=False,
        lines=lines,
    )


def test_both_paths_send_the_same_order_created_payload(store):
    v = VariantFactory(store=store, sku="KUB-1", stock=10, price=D("19.99"))
    storefront = services.place_order(cart=ready_cart(store, [(v, 1)]))
    external = _external(store, "A-1", [ExternalLine(sku="KUB-1", quantity=2, unit_price=D("17.50"))])

    ours, theirs = _created(storefront), _created(external)
    assert set(ours) == set(theirs) == set(CONTRACT)
    for key, kind in CONTRACT.items():
        assert isinstance(ours[key], kind), key
        assert isinstance(theirs[key], kind), key
    assert type(ours["cart_id"]) is int and theirs["cart_id"] is None
    assert (ours["order_id"], ours["number"], ours["total"]) == (
        storefront.pk,
        storefront.number,
        str(storefront.total),
    )
    assert (ours["channel"], ours["source"], ours["external_reference"]) == ("storefront", "", "")
    assert (theirs["order_id"], theirs["number"], theirs["total"]) == (external.pk, external.number, "35.00")
    assert (theirs["channel"], theirs["source"], theirs["external_reference"]) == (
        "marketplace",
        "allegro",
        "A-1",
    )
    # The payload names the final number, never the placeholder, on both paths.
    assert re.fullmatch(r"KS-\d{4}-00001", ours["number"])
    assert re.fullmatch(r"KS-\d{4}-00002", theirs["number"])


def test_both_paths_copy_lines_the_same_way(store):
    part = VariantFactory(store=store, sku="CZESC-1", stock=10)
    bundle = make_set(store=store, components=[(part, 3)], price=D("100.00"), vat_rate="8")
    later = PreorderVariantFactory(store=store, sku="NOWE-1", price=D("40.00"), weight_grams=250)
    storefront = services.place_order(cart=ready_cart(store, [(bundle, 1), (later, 2)]))
    external = _external(
        store,
        "A-2",
        [
            ExternalLine(sku=bundle.sku, quantity=1, unit_price=D("100.00")),
            ExternalLine(sku="NOWE-1", quantity=2, unit_price=D("40.00")),
        ],
    )
    fields = (
        "variant_id",
        "product_kind",
        "product_name",
        "variant_name",
        "sku",
        "quantity",
        "unit_price",
        "vat_rate",
        "total",
        "discount",
        "total_net",
        "total_vat",
        "weight_grams",
        "is_preorder",
        "ships_on",
        "components",
        "position",
    )
    ours = list(storefront.lines.order_by("position").values(*fields))
    theirs = list(external.lines.order_by("position").values(*fields))
    assert ours == theirs
    assert ours[0]["components"] == [{"sku": "CZESC-1", "name": str(part), "quantity": 3}]
    assert ours[0]["total_vat"] == D("100.00") - ours[0]["total_net"] > 0
    assert (ours[1]["weight_grams"], ours[1]["is_preorder"]) == (500, True)


def test_both_paths_start_the_history_and_rename_the_held_stock(store):
    v = VariantFactory(store=store, sku="KUB-1", stock=10)
    storefront = services.place_order(cart=ready_cart(store, [(v, 2)]))
    external = _external(store, "A-3", [ExternalLine(sku="KUB-1", quantity=1, unit_price=D("10.00"))])

    for order, status in ((storefront, "awaiting_payment"), (external, "new")):
        change = order.status_changes.get()
        assert (change.from_status, change.to_status) == ("", status)
    assert storefront.status_changes.get().note == "Order placed"
    assert external.status_changes.get().note == "Imported from allegro (A-3)"
    # Held for the online payment / sold at once for the marketplace, under the order's name only.
    assert set(StockReservation.objects.values_list("reference", flat=True)) == {
        storefront.reservation_reference
    }
    assert set(StockMovement.objects.values_list("reference", flat=True)) == {external.reservation_reference}


def test_a_failing_tail_leaves_no_order_and_gives_the_number_back(store, monkeypatch):
    v = VariantFactory(store=store, sku="KUB-1", stock=10)

    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr("orders.services.recording.events.publish", broken)
    with pytest.raises(RuntimeError):
        _external(store, "A-4", [ExternalLine(sku="KUB-1", quantity=1, unit_price=D("10.00"))])
    with pytest.raises(RuntimeError):
        services.place_order(cart=ready_cart(store, [(v, 1)]))
    monkeypatch.undo()
    assert not Order.objects.exists() and not StockMovement.objects.exists()
    order = services.place_order(cart=ready_cart(store, [(v, 1)]))
    assert order.number.endswith("-00001")
