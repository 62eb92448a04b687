from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from orders.models import Cart, CartLine, Order
from recovery import services
from recovery.models import Campaign, DetectionCursor, Reminder, TrackedCart
from recovery.services import detection
from tests.recovery.factories import make_cart, make_order, make_variant
from tests.shop.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_cart_becomes_abandoned_after_idle_time_with_default_campaign(store):
    cart = make_cart(store, idle_minutes=31)
    fresh = make_cart(store, email="fresh@example.com", idle_minutes=5)
    result = services.detect_abandoned()
    assert result.abandoned == 1
    tracked = TrackedCart.objects.get(cart=cart)
    assert tracked.state == "abandoned"
    assert tracked.is_reachable
    assert tracked.campaign.is_default
    assert tracked.abandoned_at == cart.last_activity_at + timedelta(minutes=30)
    steps = list(tracked.reminders.order_by("step__position").values_list("step__position", "due_at"))
    assert [p for p, _ in steps] == [1, 2, 3]
    assert steps[0][1] == tracked.abandoned_at + timedelta(hours=1)
    assert steps[1][1] == tracked.abandoned_at + timedelta(hours=24)
    assert not TrackedCart.objects.filter(cart=fresh).exists()


def test_needs_an_email_or_an_account_and_a_line(store):
    make_cart(store, email="", consent=False)
    make_cart(store, email="empty@example.com", variants=[])
    user = UserFactory(email="konto@example.com")
    with_user = make_cart(store, email="", user=user)
    services.detect_abandoned()
    assert list(TrackedCart.objects.values_list("cart_id", flat=True)) == [with_user.pk]
    assert TrackedCart.objects.get().email == "konto@example.com"


def test_ordered_and_merged_carts_are_never_picked(store):
    cart = make_cart(store)
    Cart.objects.filter(pk=cart.pk).update(status="ordered")
    services.detect_abandoned()
    assert not TrackedCart.objects.exists()


def test_detection_twice_plans_once_and_honours_the_unique_constraint(store):
    make_cart(store)
    services.detect_abandoned()
    DetectionCursor.objects.all().delete()  # forget the cursor: the rows themselves say "seen"
    services.detect_abandoned()
    assert Reminder.objects.count() == 3
    reminder = Reminder.objects.first()
    with pytest.raises(IntegrityError):
        Reminder.objects.create(
            tracked=reminder.tracked,
            step=reminder.step,
            store=store,
            channel="email",
            due_at=timezone.now(),
            next_attempt_at=timezone.now(),
        )


def test_scan_walks_in_bounded_batches_with_a_cursor(store, settings):
    settings.RECOVERY_BATCH_SIZE = 3
    variant = make_variant(store)
    for i in range(8):
        make_cart(store, email=f"s{i}@example.com", idle_minutes=40 + i, variants=[variant])
    result = services.detect_abandoned()
    assert result.abandoned == 8
    assert result.batches == 3
    cursor = DetectionCursor.objects.get()
    assert cursor.activity_at == max(Cart.objects.values_list("last_activity_at", flat=True))
    # Nothing new: the next run starts near the cursor and finds nothing to do.
    assert services.detect_abandoned().abandoned == 0


def test_the_partial_index_on_open_carts_exists(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "orders_cart")
    assert "recovery_open_cart_activity_idx" in constraints


def test_cart_change_resets_to_active_and_cancels_unsent_reminders(store):
    cart = make_cart(store)
    services.detect_abandoned()
    from orders.services.carts import touch

    touch(cart)  # publishes cart_updated -> recovery handler (eager Celery, after commit)
    services.reset_cart_activity(cart_id=cart.pk)  # the handler is idempotent
    tracked = TrackedCart.objects.get(cart=cart)
    assert tracked.state == "active"
    assert set(tracked.reminders.values_list("status", "reason")) == {("skipped", "cart_changed")}


def test_re_abandoned_cart_replans_unsent_steps_but_never_repeats_a_sent_one(store):
    cart = make_cart(store)
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    first = tracked.reminders.get(step__position=1)
    Reminder.objects.filter(pk=first.pk).update(status="sent", sent_at=timezone.now())
    services.reset_cart_activity(cart_id=cart.pk)
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(minutes=31))
    services.detect_abandoned()
    statuses = dict(tracked.reminders.values_list("step__position", "status"))
    assert statuses == {1: "sent", 2: "planned", 3: "planned"}
    tracked.refresh_from_db()
    assert tracked.state == "abandoned"


def test_emptied_cart_stops(store):
    cart = make_cart(store)
    services.detect_abandoned()
    CartLine.objects.filter(cart=cart).delete()
    services.reset_cart_activity(cart_id=cart.pk)
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(minutes=40))
    services.detect_abandoned()
    assert TrackedCart.objects.get(cart=cart).state == "active"
    assert not Reminder.objects.filter(status="planned").exists()


def test_expired_abandoned_carts_become_lost(store, settings):
    cart = make_cart(store)
    services.detect_abandoned()
    settings.RECOVERY_CART_EXPIRY_DAYS = 1
    assert services.expire_stale(now=timezone.now() + timedelta(days=2)) == 1
    tracked = TrackedCart.objects.get(cart=cart)
    assert tracked.state == "lost"
    assert set(tracked.reminders.values_list("reason", flat=True)) == {"expired"}


def test_campaign_conditions_min_value_and_segment(store):
    Campaign.objects.all().delete()
    services.ensure_default_campaign(store=store)
    Campaign.objects.filter(store=store).update(min_cart_value=500)
    returning = Campaign.objects.create(store=store, name="Returning", segment="returning", priority=1)
    cheap = make_cart(store, email="cheap@example.com", variants=[make_variant(store, price="50.00")])
    rich = make_cart(store, email="rich@example.com", variants=[make_variant(store, price="600.00")])
    make_order(store, email="loyal@example.com", created_at=timezone.now() - timedelta(days=30))
    loyal = make_cart(store, email="loyal@example.com", variants=[make_variant(store, price="10.00")])
    services.detect_abandoned()
    assert TrackedCart.objects.get(cart=cheap).campaign is None
    assert TrackedCart.objects.get(cart=rich).campaign.is_default
    assert TrackedCart.objects.get(cart=loyal).campaign == returning


def test_paused_campaign_plans_nothing(store):
    services.ensure_default_campaign(store=store)
    Campaign.objects.update(is_active=False)
    make_cart(store)
    services.detect_abandoned()
    assert TrackedCart.objects.get().campaign is None
    assert not Reminder.objects.exists()


def test_holdout_group_gets_nothing_and_is_sticky(store, monkeypatch):
    services.ensure_default_campaign(store=store)
    Campaign.objects.update(holdout_percent=50)
    monkeypatch.setattr(detection._rng, "random", lambda: 0.1)  # 10 < 50: holdout
    cart = make_cart(store)
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    assert tracked.is_holdout and tracked.is_reachable
    assert not tracked.reminders.exists()
    monkeypatch.setattr(detection._rng, "random", lambda: 0.9)
    services.reset_cart_activity(cart_id=cart.pk)
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=timezone.now() - timedelta(minutes=40))
    services.detect_abandoned()
    assert TrackedCart.objects.get(cart=cart).is_holdout


def test_without_consent_not_reachable_unless_existing_customer_rule(store):
    services.ensure_default_campaign(store=store)
    stranger = make_cart(store, email="stranger@example.com", consent=False)
    services.detect_abandoned()
    assert not TrackedCart.objects.get(cart=stranger).is_reachable
    assert not Reminder.objects.exists()


def test_ab_variants_split_by_weight(store, monkeypatch):
    from recovery.models import Step, StepVariant

    services.ensure_default_campaign(store=store)
    step = Step.objects.get(position=1)
    StepVariant.objects.create(step=step, name="A", weight=1)
    b = StepVariant.objects.create(step=step, name="B", weight=1000000)
    make_cart(store)
    services.detect_abandoned()
    assert Reminder.objects.get(step=step).variant == b


def test_a_purchase_on_another_cart_after_the_last_activity_means_not_abandoned(store):
    # Cart A left on the phone; 9 s later the same shopper bought through cart B on a laptop.
    phone = make_cart(store, email="Anna@example.com")
    make_order(store, email="anna@EXAMPLE.com", created_at=phone.last_activity_at + timedelta(seconds=9))
    result = services.detect_abandoned()
    assert result.abandoned == 0
    assert not TrackedCart.objects.filter(cart=phone).exists()
    assert not Reminder.objects.exists()


def test_a_purchase_by_the_same_account_with_another_address_counts_too(store):
    user = UserFactory(email="konto@example.com")
    cart = make_cart(store, email="", user=user)
    order = make_order(
        store, email="inny@example.com", created_at=cart.last_activity_at + timedelta(minutes=1)
    )
    Order.objects.filter(pk=order.pk).update(user=user)
    services.detect_abandoned()
    assert not TrackedCart.objects.filter(cart=cart).exists()


def test_a_purchase_before_the_last_activity_does_not_stop_a_new_abandonment(store):
    cart = make_cart(store)
    make_order(store, created_at=cart.last_activity_at - timedelta(minutes=5))
    assert services.detect_abandoned().abandoned == 1
    assert TrackedCart.objects.get(cart=cart).state == "abandoned"
    assert Reminder.objects.filter(status="planned").count() == 3


def test_a_re_abandoned_cart_bought_elsewhere_stops_as_ordered(store):
    cart = make_cart(store)
    services.detect_abandoned()
    tracked = TrackedCart.objects.get(cart=cart)
    # The shopper came back (the cart_updated event is still queued), then bought on another cart.
    changed = timezone.now() - timedelta(minutes=35)
    Cart.objects.filter(pk=cart.pk).update(last_activity_at=changed)
    make_order(store, created_at=changed + timedelta(seconds=30))
    services.detect_abandoned()
    tracked.refresh_from_db()
    assert tracked.state == "ordered"
    assert set(tracked.reminders.values_list("status", "reason")) == {("skipped", "ordered_since")}


def test_a_time_zone_row_made_meanwhile_is_not_a_conflict(store, monkeypatch):
    """The storefront's time-zone call may create the tracked row between the scan's read and
    its insert: the insert does nothing and the row is evaluated like any other."""
    cart = make_cart(store)
    real = detection._process_batch

    def racing(rows, **kwargs):
        TrackedCart.objects.create(cart=cart, store=store, shopper_timezone="Europe/London")
        return real(rows, **kwargs)

    original_filter = TrackedCart.objects.filter
    calls = {"n": 0}

    def filter_hiding_first_read(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the scan's first read, before the row exists
            return original_filter(pk__in=[])
        return original_filter(*args, **kwargs)

    monkeypatch.setattr(detection, "_process_batch", racing)
    monkeypatch.setattr(TrackedCart.objects, "filter", filter_hiding_first_read)
    services.detect_abandoned()
    monkeypatch.undo()
    tracked = TrackedCart.objects.get(cart=cart)
    assert tracked.state == "abandoned" and tracked.shopper_timezone == "Europe/London"
    assert tracked.reminders.count() == 3
