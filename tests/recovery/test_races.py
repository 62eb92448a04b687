"""Real concurrent transactions on PostgreSQL: a reminder's claim against a checkout in flight,
and two detection runs at once.

Each side runs in its own thread with its own connection and transaction, like two workers (or a
worker and a web request). SQLite has no row locks to race on, so this needs PostgreSQL
(DATABASE_URL=postgres://...), like tests/orders/test_race.py.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation

from orders import services as orders
from orders.models import Cart, ConsentRecord
from recovery import services
from recovery.models import Reminder, TrackedCart
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ready_cart
from tests.recovery.factories import make_cart, make_variant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.IS_POSTGRES,
        reason="the claim/checkout race needs PostgreSQL row locks: set DATABASE_URL=postgres://...",
    ),
]


def _run(target, errors, results, key):
    def body():
        try:
            with translation.override("en"):
                results[key] = target()
        except BaseException as exc:  # the test must see deadlocks and integrity errors
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=body)


def _abandoned_ready_cart(store, email="anna@example.com"):
    """A cart that went through every checkout step, with consent, idle long enough."""
    variant = VariantFactory(store=store, stock=10)
    cart = ready_cart(store, [(variant, 1)], payment="cod", email=email)
    ConsentRecord.objects.create(
        store=store, email=email, granted=True, text="Zgoda", version="t1", cart=cart
    )
    Cart.objects.filter(pk=cart.pk).update(
        marketing_consent=True, last_activity_at=timezone.now() - timedelta(minutes=45)
    )
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    return cart, tracked, tracked.reminders.get(step__position=1)


def _checkout_and_claim(order_cart, reminder):
    """Place an order for ``order_cart`` and keep its transaction open; meanwhile claim
    ``reminder``. Returns (claim result, whether the claim was still waiting when the order
    committed, errors)."""
    errors, results = [], {}
    placed, commit = threading.Event(), threading.Event()

    def checkout():
        with transaction.atomic():
            order = orders.place_order(cart=Cart.objects.get(pk=order_cart.pk))
            placed.set()
            commit.wait(timeout=30)  # the order is written, not yet committed
        return order.pk

    def claim():
        return services.send_reminder(reminder_id=reminder.pk, now=timezone.now() + timedelta(hours=2))

    buyer = _run(checkout, errors, results, "order")
    worker = _run(claim, errors, results, "claim")
    buyer.start()
    assert placed.wait(timeout=30), errors
    worker.start()
    worker.join(timeout=2)
    waiting = worker.is_alive()
    commit.set()
    buyer.join(timeout=60)
    worker.join(timeout=60)
    return results.get("claim"), waiting, errors


def test_a_claim_waits_for_a_checkout_of_the_same_cart_and_then_stops(store):
    cart, tracked, reminder = _abandoned_ready_cart(store)
    result, waited, errors = _checkout_and_claim(cart, reminder)
    assert errors == []
    assert waited, "the claim did not wait for the checkout holding the cart"
    assert result == "cart_ordered"
    reminder.refresh_from_db()
    assert reminder.status == "skipped" and reminder.handoff_at is None
    assert not Reminder.objects.filter(tracked=tracked, status__in=["sent", "sending"]).exists()


def test_a_claim_waits_for_a_checkout_by_the_same_shopper_on_another_cart(store):
    phone, tracked, reminder = _abandoned_ready_cart(store)
    # The same shopper on a laptop: another session, another cart, same address.
    laptop_variant = make_variant(store, stock=5)
    laptop = ready_cart(store, [(laptop_variant, 1)], payment="cod", email="anna@example.com")
    assert laptop.pk != phone.pk
    result, waited, errors = _checkout_and_claim(laptop, reminder)
    assert errors == []
    assert waited, "the claim did not wait for the same shopper's checkout"
    assert result == "ordered_since"
    reminder.refresh_from_db()
    assert reminder.status == "skipped" and reminder.reason == "ordered_since"
    assert Reminder.objects.filter(tracked=tracked, status__in=["sent", "sending"]).count() == 0


def test_two_detection_runs_at_once_track_each_cart_once(store, settings):
    settings.RECOVERY_BATCH_SIZE = 25
    variant = make_variant(store, stock=1000)
    for i in range(150):
        make_cart(store, email=f"dwa{i}@example.com", variants=[variant], idle_minutes=40 + i % 7)
    services.ensure_default_campaign(store=store)
    errors, results = [], {}
    barrier = threading.Barrier(2)

    def run():
        barrier.wait(timeout=30)
        return services.detect_abandoned().abandoned

    threads = [_run(run, errors, results, key) for key in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert results["a"] + results["b"] == 150
    assert TrackedCart.objects.count() == 150
    assert Reminder.objects.count() == 450
