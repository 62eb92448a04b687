"""The shopper's time zone reaches the cart in a single visit, and only real zone names count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from orders.models import Cart
from recovery import services
from recovery.models import Reminder, TrackedCart
from recovery.timezones import valid_zone
from tests.recovery.factories import make_variant

pytestmark = pytest.mark.django_db

# 12:30 UTC: 13:30 in Warsaw (the store's zone, daytime) but 07:30 in New York (quiet hours).
NOON_IN_WARSAW_NIGHT_IN_NEW_YORK = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)


def test_single_visit_zone_reported_before_the_cart_exists_reaches_the_cart(client, store, settings):
    """Product page (timezone.js reports the zone: no cart yet) -> add to cart -> email at
    checkout -> the shopper leaves. Quiet hours are the shopper's, not the store's."""
    settings.RECOVERY_QUIET_HOURS = "21:00-08:00"
    variant = make_variant(store, stock=5)
    with time_machine.travel(NOON_IN_WARSAW_NIGHT_IN_NEW_YORK - timedelta(hours=2), tick=False):
        assert client.get(variant.product.get_absolute_url()).status_code == 200
        assert client.post(reverse("recovery:timezone"), {"tz": "America/New_York"}).json() == {"ok": True}
        assert not Cart.objects.exists() and not TrackedCart.objects.exists()
        client.post(reverse("orders:cart-add"), {"variant": variant.pk, "quantity": 1})
        cart = Cart.objects.get()
        # timezone.js does not report again in this session: the zone came from the session.
        assert TrackedCart.objects.get(cart=cart).shopper_timezone == "America/New_York"
        response = client.post(
            reverse("orders:checkout-email"), {"email": "nina@example.com", "marketing_consent": "on"}
        )
        assert response.status_code == 200
    with time_machine.travel(NOON_IN_WARSAW_NIGHT_IN_NEW_YORK, tick=False):
        services.detect_abandoned()
        tracked = TrackedCart.objects.get(cart=cart)
        assert tracked.state == TrackedCart.State.ABANDONED
        assert tracked.shopper_timezone == "America/New_York"
        first = tracked.reminders.order_by("step__position").first()
        Reminder.objects.filter(pk=first.pk).update(
            due_at=NOON_IN_WARSAW_NIGHT_IN_NEW_YORK, next_attempt_at=NOON_IN_WARSAW_NIGHT_IN_NEW_YORK
        )
        outcome = services.send_reminder(reminder_id=first.pk)
    first.refresh_from_db()
    assert outcome == "deferred:quiet_hours"
    # 08:00 in New York (EST, UTC-5) is 13:00 UTC.
    assert first.status == Reminder.Status.PLANNED
    assert first.next_attempt_at == datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def test_a_later_cart_in_the_same_session_gets_the_zone_too(client, store):
    variant = make_variant(store, stock=5)
    client.post(reverse("recovery:timezone"), {"tz": "Asia/Tokyo"})
    client.post(reverse("orders:cart-add"), {"variant": variant.pk, "quantity": 1})
    first = Cart.objects.get()
    Cart.objects.filter(pk=first.pk).update(status=Cart.Status.ORDERED)
    client.post(reverse("orders:cart-add"), {"variant": variant.pk, "quantity": 1})
    second = Cart.objects.exclude(pk=first.pk).get()
    assert TrackedCart.objects.get(cart=second).shopper_timezone == "Asia/Tokyo"


def test_reporting_the_zone_with_a_cart_stores_it_at_once_and_a_change_wins(client, store):
    variant = make_variant(store, stock=5)
    client.post(reverse("orders:cart-add"), {"variant": variant.pk, "quantity": 1})
    cart = Cart.objects.get()
    client.post(reverse("recovery:timezone"), {"tz": "Europe/Lisbon"})
    assert TrackedCart.objects.get(cart=cart).shopper_timezone == "Europe/Lisbon"
    client.post(reverse("recovery:timezone"), {"tz": "America/Sao_Paulo"})
    assert TrackedCart.objects.get(cart=cart).shopper_timezone == "America/Sao_Paulo"


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "Mars/Olympus_Mons",
        "../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "Europe/Warsaw\x00",
        "Europe/" + "x" * 80,
        "<script>",
        "europe/warsaw",
    ],
)
def test_junk_zone_names_are_refused_and_stored_nowhere(client, store, junk):
    variant = make_variant(store, stock=5)
    client.post(reverse("orders:cart-add"), {"variant": variant.pk, "quantity": 1})
    response = client.post(reverse("recovery:timezone"), {"tz": junk})
    assert response.status_code == 400 and response.json() == {"ok": False}
    assert "recovery_tz" not in client.session
    assert not TrackedCart.objects.filter(shopper_timezone__gt="").exists()


def test_valid_zone_accepts_iana_names_only():
    assert valid_zone("Europe/Warsaw") == "Europe/Warsaw"
    assert valid_zone(" UTC ") == "UTC"
    for junk in (None, 42, "Warsaw", "EUROPE/WARSAW", "Europe/Warsaw/..", "a" * 65):
        assert valid_zone(junk) is None


def test_plain_page_views_write_nothing(client, store):
    variant = make_variant(store, stock=5)
    client.post(reverse("recovery:timezone"), {"tz": "Asia/Tokyo"})
    client.get(variant.product.get_absolute_url())
    assert not TrackedCart.objects.exists()
