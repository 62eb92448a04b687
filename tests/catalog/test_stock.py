"""catalog.stock: availability, reservations, sales, restocking and adjustments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import stock
from catalog.models import StockItem, StockMovement, StockReservation, Variant
from shop.models import Event
from tests.catalog.factories import (
    PreorderVariantFactory,
    StockReservationFactory,
    VariantFactory,
    WarehouseFactory,
    give_stock,
    main_warehouse,
    make_set,
)
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


def on_hand(variant) -> int:
    return sum(StockItem.objects.filter(variant=variant).values_list("quantity", flat=True))


# --- availability -------------------------------------------------------------------------------


def test_available_is_on_hand_minus_active_reservations(store):
    v = VariantFactory(store=store, stock=10)
    StockReservationFactory(variant=v, quantity=3)
    a = stock.availability(v)
    assert (a.on_hand, a.reserved, a.available, a.status, a.sellable) == (10, 3, 7, "in_stock", True)


def test_expired_reservations_are_ignored_before_the_sweep(store):
    v = VariantFactory(store=store, stock=2)
    StockReservationFactory(variant=v, quantity=2, expires_at=timezone.now() - timedelta(seconds=1))
    assert stock.availability(v).available == 2
    # ... and they do not block a new reservation either
    stock.reserve_stock(lines=[(v, 2)], reference="order:1", minutes=15)
    assert stock.availability(v).available == 0


def test_low_stock_out_of_stock_and_backorder_statuses(store):
    low = VariantFactory(store=store, stock=2, low_stock_threshold=3)
    out = VariantFactory(store=store, stock=0)
    back = VariantFactory(store=store, stock=0, backorder=Variant.Backorder.ALLOW)
    untracked = VariantFactory(store=store, track_stock=False)
    result = stock.availability_map([low, out, back, untracked])
    assert result[low.pk].status == "low_stock"
    assert (result[out.pk].status, result[out.pk].sellable) == ("out_of_stock", False)
    assert (result[back.pk].status, result[back.pk].sellable) == ("backorder", True)
    assert result[untracked.pk].available == stock.UNLIMITED


def test_inactive_warehouse_does_not_count(store):
    v = VariantFactory(store=store, stock=1)
    closed = WarehouseFactory(store=store, code="closed", is_active=False)
    give_stock(v, 50, closed)
    assert stock.availability(v).available == 1


def test_preorder_counts_against_its_limit(store):
    v = PreorderVariantFactory(store=store, preorder_limit=5)
    Variant.objects.filter(pk=v.pk).update(preorder_sold=2)
    v.refresh_from_db()
    StockReservationFactory(variant=v, quantity=1)
    a = stock.availability(v)
    assert (a.available, a.status) == (2, "preorder")


def test_set_is_as_available_as_its_scarcest_component(store):
    a = VariantFactory(store=store, stock=10)
    b = VariantFactory(store=store, stock=3)
    bundle = make_set(store=store, components=[(a, 2), (b, 1)])
    StockReservationFactory(variant=b, quantity=1)
    assert stock.availability(bundle).available == 2  # b: 3 - 1 reserved
    empty = make_set(store=store, components=[])
    assert stock.availability(empty).sellable is False


def test_availability_map_costs_the_same_for_1_or_30_variants(store, django_assert_max_num_queries):
    variants = [VariantFactory(store=store, stock=5) for _ in range(30)]
    loaded = list(Variant.objects.filter(pk__in=[v.pk for v in variants]).select_related("product"))
    with django_assert_max_num_queries(2):
        stock.availability_map(loaded[:1])
    with django_assert_max_num_queries(2):
        stock.availability_map(loaded)
    assert stock.availability_map([]) == {}


# --- reserving ----------------------------------------------------------------------------------


def test_reserve_is_all_or_nothing_and_keeps_earlier_hold_on_failure(store):
    a = VariantFactory(store=store, stock=5)
    b = VariantFactory(store=store, stock=1)
    stock.reserve_stock(lines=[(a, 1)], reference="order:1", minutes=15)
    with pytest.raises(stock.InsufficientStock) as err:
        stock.reserve_stock(lines=[(a, 2), (b, 2)], reference="order:1", minutes=15)
    assert {v.pk: n for v, n in err.value.shortages.items()} == {b.pk: 1}
    # nothing of the failed attempt, and the earlier hold survives
    assert list(StockReservation.objects.values_list("variant_id", "quantity")) == [(a.pk, 1)]


def test_reserve_replaces_earlier_holds_of_the_same_reference(store):
    a = VariantFactory(store=store, stock=5)
    stock.reserve_stock(lines=[(a, 4)], reference="order:1", minutes=15)
    stock.reserve_stock(lines=[(a, 2)], reference="order:1", minutes=15)
    assert stock.availability(a).available == 3


def test_sets_reserve_their_components(store):
    a = VariantFactory(store=store, stock=10)
    b = VariantFactory(store=store, stock=3)
    bundle = make_set(store=store, components=[(a, 2), (b, 1)])
    stock.reserve_stock(lines=[(bundle, 3)], reference="order:1", minutes=15)
    held = dict(StockReservation.objects.values_list("variant_id", "quantity"))
    assert held == {a.pk: 6, b.pk: 3}
    with pytest.raises(stock.InsufficientStock):
        stock.reserve_stock(lines=[(bundle, 1)], reference="order:2", minutes=15)
    with pytest.raises(stock.InsufficientStock):
        stock.reserve_stock(lines=[(make_set(store=store, components=[]), 1)], reference="x", minutes=1)


def test_preorders_reserve_against_their_limit_not_a_warehouse(store):
    v = PreorderVariantFactory(store=store, preorder_limit=3)
    give_stock(v, 0)
    stock.reserve_stock(lines=[(v, 2)], reference="order:1", minutes=15)
    with pytest.raises(stock.InsufficientStock) as err:
        stock.reserve_stock(lines=[(v, 2)], reference="order:2", minutes=15)
    assert list(err.value.shortages.values()) == [1]
    assert StockReservation.objects.get(reference="order:1").stock_item is None


def test_backorders_beyond_the_shelf_are_held_without_a_warehouse(store):
    v = VariantFactory(store=store, stock=1, backorder=Variant.Backorder.ALLOW)
    holds = stock.reserve_stock(lines=[(v, 3)], reference="order:1", minutes=15)
    assert sorted((h.stock_item_id is not None, h.quantity) for h in holds) == [(False, 2), (True, 1)]


def test_untracked_variants_never_touch_the_shelves(store):
    v = VariantFactory(store=store, stock=1, track_stock=False)
    (hold,) = stock.reserve_stock(lines=[(v, 5)], reference="order:1", minutes=15)
    assert hold.stock_item is None
    stock.commit_sale(reference="order:1")
    assert on_hand(v) == 1


def test_warehouses_are_used_by_priority(store):
    v = VariantFactory(store=store)
    first = WarehouseFactory(store=store, code="first", priority=0)
    second = WarehouseFactory(store=store, code="second", priority=5)
    give_stock(v, 2, second)
    give_stock(v, 1, first)
    holds = stock.reserve_stock(lines=[(v, 2)], reference="order:1", minutes=15)
    assert sorted((h.stock_item.warehouse.code, h.quantity) for h in holds) == [("first", 1), ("second", 1)]


def test_quantities_must_be_positive(store):
    v = VariantFactory(store=store, stock=1)
    for q in (0, -1):
        with pytest.raises(ValueError):
            stock.reserve_stock(lines=[(v, q)], reference="order:1", minutes=15)


def test_extend_release_and_sweep(store):
    v = VariantFactory(store=store, stock=5)
    stock.reserve_stock(lines=[(v, 1)], reference="order:1", minutes=1)
    assert stock.extend_reservation(reference="order:1", minutes=30) == 1
    hold = StockReservation.objects.get(reference="order:1")
    assert hold.expires_at > timezone.now() + timedelta(minutes=29)
    # never shortens a longer hold
    stock.extend_reservation(reference="order:1", minutes=5)
    hold.refresh_from_db()
    assert hold.expires_at > timezone.now() + timedelta(minutes=29)
    StockReservation.objects.filter(reference="order:1").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert stock.extend_reservation(reference="order:1", minutes=30) == 0
    assert stock.sweep_expired_reservations() == 1
    stock.reserve_stock(lines=[(v, 2)], reference="order:2", minutes=1)
    assert stock.release_reservation(reference="order:2") == 1
    assert stock.availability(v).available == 5


# --- selling ------------------------------------------------------------------------------------


def test_commit_sale_takes_units_off_the_shelf_and_records_why(store):
    a = VariantFactory(store=store, stock=5)
    pre = PreorderVariantFactory(store=store, preorder_limit=10)
    stock.reserve_stock(lines=[(a, 2), (pre, 3)], reference="order:1", minutes=15)
    Event.objects.all().delete()
    movements = stock.commit_sale(reference="order:1", store=store)
    assert on_hand(a) == 3
    assert [(m.delta, m.quantity_after, m.reason) for m in movements] == [(-2, 3, "sale")]
    pre.refresh_from_db()
    assert pre.preorder_sold == 3
    # no hold is left; the pre-ordered units are remembered as owed to order:1 (for its release)
    assert not StockReservation.objects.exclude(expires_at__in=stock.OWED).exists()
    assert list(StockReservation.objects.values_list("variant_id", "quantity", "expires_at")) == [
        (pre.pk, 3, stock.PREORDER_OWED)
    ]
    event = Event.objects.get(type="stock.changed")
    assert event.payload == {"variant_ids": sorted([a.pk, pre.pk])}


def test_commit_sale_re_reserves_expired_holds_or_fails_cleanly(store):
    v = VariantFactory(store=store, stock=2)
    stock.reserve_stock(lines=[(v, 2)], reference="order:1", minutes=15)
    StockReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    stock.commit_sale(reference="order:1", lines=[(v, 2)])
    assert on_hand(v) == 0

    w = VariantFactory(store=store, stock=1)
    stock.reserve_stock(lines=[(w, 1)], reference="order:2", minutes=15)
    StockReservation.objects.filter(reference="order:2").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    stock.reserve_stock(lines=[(w, 1)], reference="order:3", minutes=15)  # someone else took it
    with pytest.raises(stock.InsufficientStock):
        stock.commit_sale(reference="order:2", lines=[(w, 1)])
    assert on_hand(w) == 1
    assert StockReservation.objects.filter(reference="order:3").exists()


def test_commit_sale_without_holds_or_lines_refuses(store):
    with pytest.raises(ValueError):
        stock.commit_sale(reference="order:nothing")


def test_commit_sale_query_count_does_not_grow_with_lines(store, django_assert_max_num_queries):
    variants = [VariantFactory(store=store, stock=5) for _ in range(20)]
    variants += [PreorderVariantFactory(store=store) for _ in range(3)]
    stock.reserve_stock(lines=[(v, 1) for v in variants], reference="order:1", minutes=15)
    with django_assert_max_num_queries(14):  # incl. savepoint, 3 pre-order counter updates, event
        stock.commit_sale(reference="order:1", store=store)


def test_restock_puts_back_what_was_sold_and_not_more(store):
    a = VariantFactory(store=store, stock=5)
    b = VariantFactory(store=store, stock=5)
    bundle = make_set(store=store, components=[(a, 1), (b, 2)])
    pre = PreorderVariantFactory(store=store)
    stock.reserve_stock(lines=[(bundle, 2), (pre, 1)], reference="order:1", minutes=15)
    stock.commit_sale(reference="order:1")
    assert (on_hand(a), on_hand(b)) == (3, 1)
    stock.restock(reference="order:1", lines=[(bundle, 1)], reason=StockMovement.Reason.RETURN)
    assert (on_hand(a), on_hand(b)) == (4, 3)
    stock.restock(reference="order:1", lines=[(bundle, 1), (pre, 1)])  # the rest, e.g. on cancellation
    assert (on_hand(a), on_hand(b)) == (5, 5)
    pre.refresh_from_db()
    assert pre.preorder_sold == 0
    stock.restock(reference="order:1")  # nothing left to put back
    stock.restock(reference="order:1", lines=[(bundle, 2)])
    assert (on_hand(a), on_hand(b)) == (5, 5)


def test_restock_without_lines_returns_everything_that_left_a_shelf(store):
    v = VariantFactory(store=store, stock=4)
    stock.reserve_stock(lines=[(v, 3)], reference="order:1", minutes=15)
    stock.commit_sale(reference="order:1")
    stock.restock(reference="order:1")
    assert on_hand(v) == 4


# --- adjusting ----------------------------------------------------------------------------------


def test_adjust_stock_records_movements_and_guards_limits(store):
    v = VariantFactory(store=store)
    wh = main_warehouse(store)
    item = stock.adjust_stock(variant=v, warehouse=wh, delta=5, reason=StockMovement.Reason.DELIVERY)
    assert item.quantity == 5
    stock.adjust_stock(variant=v, warehouse=wh, set_to=4)
    assert list(StockMovement.objects.order_by("pk").values_list("delta", "quantity_after")) == [
        (5, 5),
        (-1, 4),
    ]
    assert stock.adjust_stock(variant=v, warehouse=wh, set_to=4).quantity == 4  # no change, no movement
    assert StockMovement.objects.count() == 2
    with pytest.raises(ValueError):
        stock.adjust_stock(variant=v, warehouse=wh, delta=-5)
    stock.reserve_stock(lines=[(v, 3)], reference="order:1", minutes=15)
    with pytest.raises(ValueError, match="reserved"):
        stock.adjust_stock(variant=v, warehouse=wh, set_to=2)
    assert stock.adjust_stock(variant=v, warehouse=wh, set_to=3).quantity == 3
    with pytest.raises(ValueError):
        stock.adjust_stock(variant=v, warehouse=wh)
    other = WarehouseFactory(store=StoreFactory())
    with pytest.raises(ValueError):
        stock.adjust_stock(variant=v, warehouse=other, delta=1)
