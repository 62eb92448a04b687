"""One lock order for every path (orders/locking.py): checkout, payment and cancellation never
deadlock each other, on real PostgreSQL with real threads and connections.

Each test runs two paths in two threads with their own connections. A hook on each connection
stops its thread once, right before a chosen statement -- the point where the path would take
its next lock -- until the other thread has reached its own stop (a barrier; a thread that is
already waiting on a lock the other holds breaks the barrier after a few seconds instead). On
code that takes the rows in different orders, both threads then hold what the other wants and
PostgreSQL answers one of them ``deadlock detected``; with one lock order one path simply waits
for the other. Afterwards the stock, voucher and gift-card ledgers must still agree.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils import translation

from catalog.models import StockItem, StockMovement, StockReservation
from orders import services
from orders.models import Cart, GiftCard, GiftCardTransaction, Order, Payment, Voucher, VoucherRedemption
from tests.catalog.factories import PreorderVariantFactory, VariantFactory
from tests.orders.factories import GiftCardFactory, VoucherFactory, ready_cart

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.IS_POSTGRES,
        reason="lock-order races need PostgreSQL row locks: set DATABASE_URL=postgres://... to run them",
    ),
]


class Stops:
    """Per thread: stop once before the first statement matching its pattern, until every
    thread has reached its stop (or ``patience`` seconds passed), then wait ``delay`` more."""

    def __init__(self, patterns: dict[str, str], *, delay: dict[str, float] | None = None, patience=4.0):
        self.patterns = {name: re.compile(p, re.IGNORECASE | re.DOTALL) for name, p in patterns.items()}
        self.delay = delay or {}
        self.patience = patience
        self.barrier = threading.Barrier(len(patterns))
        self.stopped: set[str] = set()

    def hook(self, name: str):
        def wrapper(execute, sql, params, many, context):
            if name not in self.stopped and self.patterns[name].search(sql):
                self.stopped.add(name)
                with contextlib.suppress(threading.BrokenBarrierError):
                    self.barrier.wait(timeout=self.patience)
                time.sleep(self.delay.get(name, 0))
            return execute(sql, params, many, context)

        return wrapper


def run_paths(stops: Stops, paths: dict) -> tuple[dict, list[BaseException]]:
    results, errors = {}, []
    lock = threading.Lock()

    def run(name, fn):
        try:
            with translation.override("en"), connection.execute_wrapper(stops.hook(name)):
                value = fn()
            with lock:
                results[name] = value
        except BaseException as exc:  # deadlocks above all: the test must see them
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, fn)) for name, fn in paths.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a path hung"
    return results, errors


def assert_ledgers_agree(*items: StockItem, initial: dict[int, int]) -> None:
    for item in items:
        item.refresh_from_db()
        moved = StockMovement.objects.filter(stock_item=item).aggregate(s=Sum("delta"))["s"] or 0
        assert item.quantity == initial[item.pk] + moved
        assert item.quantity >= 0
    for voucher in Voucher.objects.all():
        assert voucher.used_count == VoucherRedemption.objects.filter(voucher=voucher).count()
    for card in GiftCard.objects.all():
        ledger = GiftCardTransaction.objects.filter(gift_card=card).aggregate(s=Sum("amount"))["s"] or 0
        if not card.transactions.filter(kind=GiftCardTransaction.Kind.ISSUE).exists():
            ledger += card.initial_balance  # made by a factory, without its issue row
        assert card.balance == ledger
        assert card.balance >= 0


def _code(cart: Cart, code: str) -> None:
    services.apply_code(cart=cart, code=code, client_keys=[f"test:{cart.pk}"])


def test_checkout_and_cancellation_take_voucher_gift_card_and_stock_in_one_order(store):
    variant = VariantFactory(store=store, stock=10, price=Decimal("100.00"))
    item = StockItem.objects.get(variant=variant)
    voucher = VoucherFactory(store=store, code="WSZYSCY10")
    card = GiftCardFactory(store=store, initial_balance=Decimal("50.00"))
    first = ready_cart(store, [(variant, 2)], payment="cod", email="ola@example.com")
    second = ready_cart(store, [(variant, 1)], payment="test_gateway", email="ewa@example.com")
    for cart in (first, second):
        _code(cart, voucher.code)
        _code(cart, card.code)
    with translation.override("en"):
        placed = services.place_order(cart=first)  # cash on delivery: stock taken at once
    assert placed.stock_committed and placed.gift_card_total == Decimal("50.00")
    initial = {item.pk: 10}

    stops = Stops(
        # checkout holds cart, voucher and card and is about to lock the variants;
        # cancellation is about to give the voucher use back (today: after the stock).
        {"checkout": r'FROM "catalog_variant".*FOR UPDATE', "cancel": r'^UPDATE "orders_voucher"'},
    )
    results, errors = run_paths(
        stops,
        {
            "checkout": lambda: services.place_order(cart=Cart.objects.get(pk=second.pk)),
            "cancel": lambda: services.change_status(
                order=Order.objects.get(pk=placed.pk), status=Order.Status.CANCELLED
            ),
        },
    )

    assert errors == []
    placed.refresh_from_db()
    assert placed.status == Order.Status.CANCELLED
    new = results["checkout"]
    assert (
        StockReservation.objects.filter(reference=new.reservation_reference).aggregate(s=Sum("quantity"))["s"]
        == 1
    )
    item.refresh_from_db()
    assert item.quantity == 10  # the cancelled two are back, the new one is only held
    assert_ledgers_agree(item, initial=initial)
    card.refresh_from_db()
    assert card.balance == Decimal("50.00") - new.gift_card_total


def test_checkout_and_paying_a_preorder_take_variants_before_stock_items(store):
    preorder = PreorderVariantFactory(store=store, price=Decimal("80.00"), preorder_limit=10)
    stocked = VariantFactory(store=store, stock=10, price=Decimal("40.00"))
    item = StockItem.objects.get(variant=stocked)
    paying_cart = ready_cart(store, [(preorder, 1), (stocked, 1)], email="ola@example.com")
    second = ready_cart(store, [(preorder, 1), (stocked, 1)], email="ewa@example.com")
    with translation.override("en"):
        paying = services.place_order(cart=paying_cart)
    payment = paying.payments.get(status=Payment.Status.PENDING)

    stops = Stops(
        # the payment has taken the stocked unit off its shelf and is about to count the
        # pre-order (today: after the stock item); checkout holds both variants and is about
        # to lock the stock items.
        {"pay": r'^UPDATE "catalog_variant"', "checkout": r'FROM "catalog_stockitem".*FOR UPDATE'},
    )
    results, errors = run_paths(
        stops,
        {
            "pay": lambda: services.payment_succeeded(payment=Payment.objects.get(pk=payment.pk)),
            "checkout": lambda: services.place_order(cart=Cart.objects.get(pk=second.pk)),
        },
    )

    assert errors == []
    paying.refresh_from_db()
    assert paying.status == Order.Status.PAID and paying.stock_committed
    preorder.refresh_from_db()
    assert preorder.preorder_sold == 1
    item.refresh_from_db()
    assert item.quantity == 9
    assert StockReservation.objects.filter(reference=results["checkout"].reservation_reference).count() == 2
    assert_ledgers_agree(item, initial={item.pk: 10})


def test_payment_and_cancellation_of_one_order_take_the_order_before_its_payments(store):
    variant = VariantFactory(store=store, stock=5, price=Decimal("60.00"))
    item = StockItem.objects.get(variant=variant)
    with translation.override("en"):
        order = services.place_order(cart=ready_cart(store, [(variant, 2)]))
    payment = order.payments.get(status=Payment.Status.PENDING)

    stops = Stops(
        # the notification is about to lock the order (today: holding the payment); the clerk's
        # cancellation holds the order and is about to cancel its pending payments.
        {"pay": r'FROM "orders_order".*FOR UPDATE', "cancel": r'^UPDATE "orders_payment"'},
    )
    _results, errors = run_paths(
        stops,
        {
            "pay": lambda: services.payment_succeeded(payment=Payment.objects.get(pk=payment.pk)),
            "cancel": lambda: services.change_status(
                order=Order.objects.get(pk=order.pk), status=Order.Status.CANCELLED
            ),
        },
    )

    assert errors == []
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # the clerk was first
    assert payment.status == Payment.Status.PAID  # the money still arrived: noted for a refund
    assert order.notes.filter(text__contains="after the order was cancelled").exists()
    assert not StockReservation.objects.filter(reference=order.reservation_reference).exists()
    item.refresh_from_db()
    assert item.quantity == 5
    assert_ledgers_agree(item, initial={item.pk: 5})


def _hold_store_key_share(store_id: int, holding: threading.Event, release: threading.Event) -> None:
    """What an order or outbox insert of the store holds until its transaction ends."""
    from django.db import transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM shop_store WHERE id = %s FOR KEY SHARE", [store_id])
            holding.set()
            release.wait(timeout=20)
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["payment_succeeded", "retry_payment"])
def test_payment_paths_never_lock_the_store_row(store, path):
    variant = VariantFactory(store=store, stock=5, price=Decimal("60.00"))
    with translation.override("en"):
        order = services.place_order(cart=ready_cart(store, [(variant, 1)]))
    payment = order.payments.get(status=Payment.Status.PENDING)
    calls = {
        "payment_succeeded": lambda: services.payment_succeeded(payment=payment),
        "retry_payment": lambda: services.retry_payment(order=order),
    }
    holding, release = threading.Event(), threading.Event()
    other = threading.Thread(target=_hold_store_key_share, args=(store.pk, holding, release))
    other.start()
    try:
        assert holding.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        try:
            with translation.override("en"):
                calls[path]()  # today: "canceling statement due to lock timeout" on shop_store
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
    finally:
        release.set()
        other.join(timeout=30)


def test_a_notification_that_fails_in_the_database_answers_503_and_its_retry_pays(client, store, monkeypatch):
    from django.db import OperationalError

    from orders.payments.test_gateway import build_notification

    variant = VariantFactory(store=store, stock=5, price=Decimal("60.00"))
    with translation.override("en"):
        order = services.place_order(cart=ready_cart(store, [(variant, 1)]))
    payment = services.open_payment(order)
    body, headers = build_notification(payment, "paid")
    real = services.payment_succeeded

    def deadlocked(**kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(services, "payment_succeeded", deadlocked)
    first = client.post(
        "/platnosc/webhook/test/", data=body, content_type="application/json", headers=headers
    )
    assert first.status_code == 503 and first["Retry-After"]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING

    monkeypatch.setattr(services, "payment_succeeded", real)
    again = client.post(
        "/platnosc/webhook/test/", data=body, content_type="application/json", headers=headers
    )
    assert again.status_code == 200 and again.json() == {"ok": True, "changed": True}
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_two_orders_on_one_gift_card_the_second_is_asked_again_not_charged_more(store):
    from orders.services.checkout import load_for_checkout

    variant = VariantFactory(store=store, stock=10, price=Decimal("100.00"))
    card = GiftCardFactory(store=store, initial_balance=Decimal("50.00"))
    carts = [ready_cart(store, [(variant, 1)], email=f"osoba{i}@example.com") for i in range(2)]
    shown = {}
    for cart in carts:
        _code(cart, card.code)
        basket = load_for_checkout(Cart.objects.get(pk=cart.pk)).basket
        assert basket.gift_card_amount == Decimal("50.00")  # what each summary page showed
        shown[cart.pk] = (basket.total, basket.amount_due)

    barrier = threading.Barrier(2)
    placed, asked, errors = [], [], []
    lock = threading.Lock()

    def submit(cart_id):
        try:
            with translation.override("en"):
                cart = Cart.objects.get(pk=cart_id)
                barrier.wait(timeout=10)
                total, due = shown[cart_id]
                try:
                    order = services.place_order(cart=cart, expected_total=total, expected_amount_due=due)
                except services.TotalChanged as exc:
                    with lock:
                        asked.append(exc.message)
                else:
                    with lock:
                        placed.append(order)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(cart.pk,)) for cart in carts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert len(placed) == 1 and len(asked) == 1
    assert "is left to pay" in asked[0]
    order = placed[0]
    assert order.amount_due == shown[order.cart_id][1]  # exactly what the shopper confirmed
    card.refresh_from_db()
    assert card.balance == 0
    loser = next(c for c in carts if c.pk != order.cart_id)
    assert Cart.objects.get(pk=loser.pk).status == Cart.Status.OPEN  # nothing placed, can confirm again
    assert_ledgers_agree(
        StockItem.objects.get(variant=variant), initial={StockItem.objects.get(variant=variant).pk: 10}
    )
