from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Cart
from recovery import services
from recovery.models import Restore, TrackedCart
from shop.models import Event
from tests.recovery.factories import make_cart, make_order, make_variant
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


# --- Through the real storefront path: add to cart, checkout steps, place_order, the outbox -----


def deliver_events():
    """The outbox worker's job, inline: every event not delivered yet, oldest first."""
    from shop.events import deliver

    for _round in range(10):
        ids = list(
            Event.objects.filter(processed_at__isnull=True).order_by("pk").values_list("pk", flat=True)
        )
        if not ids:
            return
        for pk in ids:
            deliver(pk)
    raise AssertionError("events still undelivered")


def leave_cart(store, variant, email):
    """A guest adds to cart, types an email with consent at checkout, and leaves."""
    from orders.services import carts as shop

    cart = shop.get_or_create_cart(store=store)
    shop.add_to_cart(cart=cart, variant_id=variant.pk, quantity=1)
    shop.save_checkout_email(cart=cart, email=email, marketing_consent=True)
    return cart


def check_out(store, cart, *, live=True):
    """The checkout's delivery step and the summary's "order": orders' own services. ``live``:
    the worker handles each step's events as they happen (the cart is still open then), as in
    production; otherwise they wait until after the order."""
    from orders.models import PaymentMethod
    from orders.services import carts as shop
    from orders.services.checkout import place_order
    from tests.orders.factories import ADDRESS, PaymentMethodFactory, ShippingMethodFactory

    shop.set_checkout_choices(
        cart=cart,
        shipping_method=ShippingMethodFactory(store=store, code="kurier"),
        payment_method=PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.BANK_TRANSFER),
        answers=dict(ADDRESS),
    )
    if live:
        deliver_events()
        assert TrackedCart.objects.filter(cart=cart).exclude(state="active").count() == 0
    cart.refresh_from_db()
    return place_order(cart=cart)


def abandon_all(store):
    """The scan, run once the carts have been idle long enough."""
    later = timezone.now() + timedelta(minutes=45)
    services.detect_abandoned(now=later)
    return later


def figures(store):
    """The dashboard, the merchant API's stats and the recovery report, for the tracked carts' days."""
    from recovery import selectors
    from reports.selectors import recovery_rows

    days = [t.abandoned_at.astimezone(store.zone).date() for t in TrackedCart.objects.filter(store=store)]
    start, end = min(days) - timedelta(days=1), max(days) + timedelta(days=1)
    d = selectors.dashboard(store=store, start=start, end=end)
    _rows, total = recovery_rows(store=store, date_from=start, date_to=end)
    return d, total


def holdout_everyone(store, monkeypatch):
    """The default campaign with the largest holdout, and the dice always landing in it."""
    from recovery.models import Campaign
    from recovery.services import detection

    services.ensure_default_campaign(store=store)
    Campaign.objects.filter(store=store).update(holdout_percent=50)
    monkeypatch.setattr(detection._rng, "random", lambda: 0.0)


def test_holdout_shopper_who_returns_and_buys_through_the_checkout_counts_as_converted(store, monkeypatch):
    """Every checkout step publishes cart_updated (the tracked cart becomes "active"); the order
    must still convert the holdout cart, or the lift is overstated."""
    holdout_everyone(store, monkeypatch)
    variant = make_variant(store, price="80.00")
    held = leave_cart(store, variant, "kontrola@example.com")
    also_held = leave_cart(store, variant, "kontrola2@example.com")
    deliver_events()
    abandon_all(store)
    tracked = TrackedCart.objects.get(cart=held)
    assert tracked.is_holdout and tracked.is_reachable and tracked.state == "abandoned"
    # She comes back: a product page's "add to cart" and the checkout steps, then the order.
    from orders.services import carts as shop

    shop.add_to_cart(cart=held, variant_id=variant.pk, quantity=1)
    deliver_events()
    assert TrackedCart.objects.get(cart=held).state == "active"  # she is shopping
    order = check_out(store, held)
    deliver_events()
    tracked.refresh_from_db()
    assert (tracked.state, tracked.ordered_at) == ("ordered", order.created_at)
    d, total = figures(store)
    assert (d.holdout, d.holdout_converted, d.holdout_rate) == (2, 1, 0.5)
    assert total["holdout"] == 2
    assert TrackedCart.objects.get(cart=also_held).state == "abandoned"


def test_treated_shopper_who_buys_without_clicking_counts_as_converted_not_recovered(store):
    services.ensure_default_campaign(store=store)
    variant = make_variant(store, price="80.00")
    cart = leave_cart(store, variant, "bez.klikania@example.com")
    deliver_events()
    later = abandon_all(store)
    run_due(later + timedelta(hours=1))
    tracked = TrackedCart.objects.get(cart=cart)
    assert tracked.state == "reminded" and not tracked.is_holdout
    check_out(store, cart)
    deliver_events()
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_via) == ("ordered", "")
    d, _total = figures(store)
    assert (d.treated, d.treated_converted, d.recovered) == (1, 1, 0)


@pytest.mark.parametrize("steps_handled", ["before the order", "after the order"])
def test_attribution_does_not_depend_on_the_order_events_arrive_in(store, monkeypatch, steps_handled):
    """The checkout steps' cart_updated events handled while the cart is open (the usual case),
    or only after the order's creation, or the order event twice: the same end state."""
    holdout_everyone(store, monkeypatch)
    variant = make_variant(store, price="80.00")
    cart = leave_cart(store, variant, "kolejnosc@example.com")
    deliver_events()
    abandon_all(store)
    order = check_out(store, cart, live=steps_handled == "before the order")
    from shop.events import deliver

    deliver(Event.objects.get(type="order.created", payload__order_id=order.pk).pk)
    deliver_events()
    tracked = TrackedCart.objects.get(cart=cart)
    assert (tracked.state, tracked.ordered_at) == ("ordered", order.created_at)
    assert services.attribution.handle_order_placed(order_id=order.pk) == "none"
    tracked.refresh_from_db()
    assert tracked.state == "ordered"


def recovered_after_click(store, variant, email):
    """A shopper reminded, who clicks and then orders through the checkout from a new cart."""
    cart = leave_cart(store, variant, email)
    deliver_events()
    later = abandon_all(store)
    run_due(later + timedelta(hours=1))
    tracked = TrackedCart.objects.get(cart=cart)
    services.record_click(reminder_id=tracked.reminders.get(step__position=1).pk)
    from orders.services import carts as shop

    laptop = shop.get_or_create_cart(store=store)
    shop.add_to_cart(cart=laptop, variant_id=variant.pk, quantity=1)
    shop.save_checkout_email(cart=laptop, email=email, marketing_consent=True)
    order = check_out(store, laptop)
    deliver_events()
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_via, tracked.recovered_order) == (
        "recovered",
        "after_click",
        order,
    )
    return tracked, order


def test_a_cancelled_order_is_no_longer_recovered_in_any_figure(store, settings):
    from orders.services.workflow import change_status

    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    services.ensure_default_campaign(store=store)
    variant = make_variant(store, price="80.00")
    _kept, kept_order = recovered_after_click(store, variant, "zostaje@example.com")
    gone, gone_order = recovered_after_click(store, variant, "rezygnuje@example.com")
    d, total = figures(store)
    assert (d.after_click, d.after_click_revenue) == (2, kept_order.total + gone_order.total)
    # Cancelled through the real workflow (the admin's and the API's path).
    change_status(order=gone_order, status="cancelled")
    deliver_events()
    gone.refresh_from_db()
    assert (gone.state, gone.recovered_via, gone.recovered_revenue) == ("cancelled", "", None)
    d, total = figures(store)
    assert (d.recovered, d.after_click, d.after_click_revenue) == (1, 1, kept_order.total)
    assert (d.treated, d.treated_converted) == (2, 1)
    assert (total["recovered"], total["recovered_revenue"]) == (1, kept_order.total)
    # The merchant API's stats say the same.
    from rest_framework.test import APIClient

    from shop.api import keys

    _key, raw = keys.create_api_key(store=store, name="BI", scopes=["recovery:read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    days = sorted(t.abandoned_at.astimezone(store.zone).date() for t in TrackedCart.objects.all())
    stats = api.get(
        "/api/v1/recovery/stats/",
        {"date_from": str(days[0] - timedelta(days=1)), "date_to": str(days[-1] + timedelta(days=1))},
    ).json()
    assert (stats["recovered"], Decimal(stats["recovered_revenue"])) == (1, kept_order.total)
    # The payment or creation event delivered again later changes nothing.
    assert services.attribution.handle_order_placed(order_id=gone_order.pk) == "cancelled"
    gone.refresh_from_db()
    assert gone.state == "cancelled"


def test_a_cancellation_handled_before_the_order_s_creation_ends_the_same(store, settings):
    from orders.services.workflow import change_status

    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    services.ensure_default_campaign(store=store)
    variant = make_variant(store, price="80.00")
    cart = leave_cart(store, variant, "odwrotnie@example.com")
    deliver_events()
    later = abandon_all(store)
    run_due(later + timedelta(hours=1))
    tracked = TrackedCart.objects.get(cart=cart)
    services.record_click(reminder_id=tracked.reminders.get(step__position=1).pk)
    order = check_out(store, cart)
    change_status(order=order, status="cancelled")
    from shop.events import deliver

    deliver(Event.objects.get(type="order.status_changed", payload__order_id=order.pk).pk)
    deliver_events()
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_revenue) == ("cancelled", None)
    d, _total = figures(store)
    assert (d.recovered, d.treated_converted) == (0, 0)
