"""Units sold before they were on a shelf (backorders, pre-orders) are owed to their orders: stock
that arrives goes to them first (oldest order first), shoppers are never offered it again, and
shipping the order takes it off the shelf once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import bulk, stock
from catalog import services as services_catalog
from catalog.models import StockItem, StockMovement, StockReservation, Variant
from orders import services
from orders.models import Order
from orders.services.workflow import InvalidTransition
from tests.catalog.factories import PreorderVariantFactory, VariantFactory, give_stock, main_warehouse
from tests.orders.factories_after_sales import make_order

pytestmark = pytest.mark.django_db


def sell(variant, quantity, reference):
    stock.reserve_stock(lines=[(variant, quantity)], reference=reference, minutes=15)
    stock.commit_sale(reference=reference)


def owed(reference):
    return list(
        StockReservation.objects.filter(reference=reference, expires_at__in=stock.OWED).values_list(
            "stock_item_id", "quantity"
        )
    )


def on_shelf(variant) -> int:
    return stock.availability(variant).on_hand


@pytest.fixture
def backorder(store):
    v = VariantFactory(store=store, stock=0, backorder=Variant.Backorder.ALLOW)
    main_warehouse(store)
    return v


def test_backorder_sold_3_then_5_arrive_leaves_2_for_sale_and_the_3_go_to_the_orders(store, backorder):
    sell(backorder, 2, "order:1")
    sell(backorder, 1, "order:2")
    assert owed("order:1") == [(None, 2)] and owed("order:2") == [(None, 1)]
    a = stock.availability(backorder)
    assert (a.available, a.status) == (0, "backorder")  # owed units are not for sale

    item = stock.adjust_stock(variant=backorder, warehouse=main_warehouse(store), delta=5)
    assert owed("order:1") == [(item.pk, 2)] and owed("order:2") == [(item.pk, 1)]
    a = stock.availability(backorder)
    assert (a.on_hand, a.reserved, a.available) == (5, 3, 2)
    backorder.backorder = Variant.Backorder.DENY
    backorder.save(update_fields=["backorder"])
    with pytest.raises(stock.InsufficientStock):  # a shopper cannot take the owed units
        stock.reserve_stock(lines=[(backorder, 3)], reference="shopper", minutes=5)
    stock.reserve_stock(lines=[(backorder, 2)], reference="shopper", minutes=5)


def test_too_few_arrive_the_oldest_order_is_served_first(store, backorder):
    sell(backorder, 2, "order:1")
    sell(backorder, 2, "order:2")
    item = stock.adjust_stock(variant=backorder, warehouse=main_warehouse(store), delta=3)
    assert owed("order:1") == [(item.pk, 2)]
    assert sorted(owed("order:2"), key=str) == sorted([(item.pk, 1), (None, 1)], key=str)
    assert stock.availability(backorder).available == 0
    stock.adjust_stock(variant=backorder, warehouse=main_warehouse(store), delta=1)
    assert sorted(q for _i, q in owed("order:2")) == [1, 1]
    assert all(i == item.pk for i, _q in owed("order:2"))


def test_an_importer_setting_stock_allocates_owed_units(store, backorder):
    sell(backorder, 3, "order:1")
    bulk.set_stock(
        warehouse=main_warehouse(store),
        targets=[(backorder, 5)],
        reason="import",
        reference="feed",
        note="",
        store=store,
    )
    assert owed("order:1")[0][1] == 3 and owed("order:1")[0][0] is not None
    assert stock.availability(backorder).available == 2
    kept = bulk.set_stock(  # the next feed cannot take the owed units away either
        warehouse=main_warehouse(store),
        targets=[(backorder, 1)],
        reason="import",
        reference="feed",
        note="",
        store=store,
    )
    assert kept == [(0, 3)] and on_shelf(backorder) == 3


def test_shipping_takes_the_owed_stock_once(store, backorder):
    order = make_order(store=store, lines=[(backorder, 3)], status=Order.Status.PAID, stock_committed=True)
    ref = order.reservation_reference
    assert owed(ref) == [(None, 3)]
    with pytest.raises(InvalidTransition):  # not on the shelf: it cannot be packed
        services.change_status(order=order, status=Order.Status.PACKED)
    stock.adjust_stock(variant=backorder, warehouse=main_warehouse(store), delta=5)
    assert on_shelf(backorder) == 5  # allocated, still on the shelf
    order.refresh_from_db()
    services.change_status(order=order, status=Order.Status.PACKED)
    assert on_shelf(backorder) == 2 and owed(ref) == []
    sales = StockMovement.objects.filter(reference=ref, reason=StockMovement.Reason.SALE)
    assert [m.delta for m in sales] == [-3]
    services.change_status(order=order, status=Order.Status.SHIPPED)
    services.change_status(order=order, status=Order.Status.DELIVERED)
    assert on_shelf(backorder) == 2 and sales.count() == 1  # once
    assert stock.availability(backorder).available == 2


def test_cancelling_an_order_owed_units_gives_them_to_the_next_order(store, backorder):
    first = make_order(store=store, lines=[(backorder, 2)], status=Order.Status.PAID, stock_committed=True)
    second = make_order(store=store, lines=[(backorder, 2)], status=Order.Status.PAID, stock_committed=True)
    item = stock.adjust_stock(variant=backorder, warehouse=main_warehouse(store), delta=2)
    assert owed(first.reservation_reference) == [(item.pk, 2)]
    assert owed(second.reservation_reference) == [(None, 2)]
    services.change_status(order=first, status=Order.Status.CANCELLED)
    assert owed(first.reservation_reference) == []
    assert owed(second.reservation_reference) == [(item.pk, 2)]
    assert on_shelf(backorder) == 2  # nothing was put back: nothing had been taken
    assert not StockMovement.objects.filter(reference=first.reservation_reference).exists()


def test_a_released_preorder_gives_arriving_stock_to_its_orders(store):
    v = PreorderVariantFactory(store=store, preorder_limit=10)
    main_warehouse(store)
    sell(v, 2, "order:1")
    sell(v, 1, "order:2")
    v.refresh_from_db()
    assert v.preorder_sold == 3 and owed("order:1") == [(None, 2)]
    a = stock.availability(v)
    assert (a.available, a.status) == (7, "preorder")  # counted once, by preorder_sold
    assert stock.sweep_expired_reservations() == 0  # the pre-order's owed units are not swept

    Variant.objects.filter(pk=v.pk).update(is_preorder=False)  # released
    v.refresh_from_db()
    item = stock.adjust_stock(variant=v, warehouse=main_warehouse(store), delta=5)
    assert owed("order:1") == [(item.pk, 2)] and owed("order:2") == [(item.pk, 1)]
    assert stock.availability(v).available == 2


def test_releasing_a_preorder_in_the_admin_gives_the_shelf_to_its_orders(store):
    v = PreorderVariantFactory(store=store, preorder_limit=None)
    give_stock(v, 4)  # delivered while it was still a pre-order
    sell(v, 3, "order:1")
    assert owed("order:1")[0][0] is None
    v.is_preorder = False
    services_catalog.save_variant(variant=v)
    assert owed("order:1")[0] == (StockItem.objects.get(variant=v).pk, 3)
    assert stock.availability(v).available == 1


def test_released_preorder_with_stock_already_there_is_allocated_when_stock_moves(store):
    v = PreorderVariantFactory(store=store, preorder_limit=None)
    give_stock(v, 4)
    sell(v, 3, "order:1")
    Variant.objects.filter(pk=v.pk).update(is_preorder=False)
    assert stock.allocate_owed([v.pk]) == 3
    assert stock.availability(Variant.objects.get(pk=v.pk)).available == 1


def test_an_order_owed_units_and_not_yet_committed_keeps_them_on_a_new_hold(store, backorder):
    sell(backorder, 2, "order:1")
    stock.reserve_stock(lines=[(backorder, 1)], reference="order:1", minutes=5)  # replace=True
    assert owed("order:1") == [(None, 2)]


def test_owed_units_never_expire(store, backorder):
    sell(backorder, 1, "order:1")
    later = timezone.now() + timedelta(days=3650)
    assert StockReservation.objects.filter(reference="order:1", expires_at__gt=later).count() == 1
    stock.sweep_expired_reservations()
    assert owed("order:1") == [(None, 1)]
