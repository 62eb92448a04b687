from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Cart
from recovery import services
from recovery.models import Restore, TrackedCart
from shop.models import Event
from tests.recovery.factories import make_cart, make_order
from tests.recovery.helpers import hours, run_due

pytestmark = pytest.mark.django_db


def reminded(store, **kwargs):
    cart = make_cart(store, **kwargs)
    services.detect_abandoned()
    run_due(hours(1))
    tracked = TrackedCart.objects.get(cart=cart)
    return cart, tracked, tracked.reminders.get(step__position=1)


def test_order_from_a_restored_cart_counts_via_link_and_stops_the_sequence(store):
    _cart, tracked, reminder = reminded(store)
    new_cart = make_cart(store, email="", consent=False, idle_minutes=0)
    Restore.objects.create(tracked=tracked, reminder=reminder, cart=new_cart)
    order = make_order(store, email="someone.else@example.com", cart=new_cart, total="150.00")
    assert services.attribution.handle_order_placed(order_id=order.pk) == "via_link"
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_via, tracked.recovered_order) == ("recovered", "via_link", order)
    assert tracked.recovered_revenue == order.total
    assert set(tracked.reminders.exclude(step__position=1).values_list("status", "reason")) == {
        ("skipped", "ordered")
    }
    # Idempotent: the "paid" event for the same order changes nothing.
    assert services.attribution.handle_order_placed(order_id=order.pk) == "already"


def test_order_within_the_window_after_a_click_counts_after_click(store):
    _cart, tracked, reminder = reminded(store)
    services.record_click(reminder_id=reminder.pk)
    order = make_order(store, email="Anna@Example.com")
    assert services.attribution.handle_order_placed(order_id=order.pk) == "after_click"
    tracked.refresh_from_db()
    assert tracked.state == "recovered" and tracked.recovered_via == "after_click"


def test_order_outside_the_window_or_without_a_click_is_not_recovered(store, settings):
    settings.RECOVERY_ATTRIBUTION_DAYS = 5
    _cart, tracked, reminder = reminded(store)
    services.record_click(reminder_id=reminder.pk, now=timezone.now() - timedelta(days=6))
    order = make_order(store, email="anna@example.com")
    assert services.attribution.handle_order_placed(order_id=order.pk) == "none"
    tracked.refresh_from_db()
    assert tracked.state == "ordered" and tracked.recovered_via == ""


def test_order_event_from_the_outbox_is_handled(store):
    cart, tracked, _reminder = reminded(store)
    order = make_order(store, email="anna@example.com", cart=cart)
    from shop import events

    events.publish(type="order.created", payload={"order_id": order.pk, "cart_id": cart.pk}, store=store)
    assert Event.objects.filter(type="order.created").exists()
    from shop.events import deliver

    deliver(Event.objects.get(type="order.created").pk)
    tracked.refresh_from_db()
    assert tracked.state == "ordered"
    assert not tracked.reminders.filter(status="planned").exists()
    assert Cart.objects.get(pk=cart.pk).status == "ordered"
