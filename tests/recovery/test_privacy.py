import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import Cart
from recovery import services
from recovery.models import PushSubscription, Suppression, TrackedCart
from tests.recovery.factories import make_cart
from tests.recovery.helpers import hours, run_due

pytestmark = pytest.mark.django_db


def test_purge_after_retention_blanks_personal_data_but_keeps_counts(store, settings):
    settings.RECOVERY_RETENTION_DAYS = 90
    cart = make_cart(store)
    services.detect_abandoned()
    run_due(hours(1))
    assert services.purge_expired(now=timezone.now() + timedelta(days=89)) == 0
    assert services.purge_expired(now=timezone.now() + timedelta(days=91)) == 1
    tracked = TrackedCart.objects.get(cart=cart)
    assert (tracked.email, tracked.snapshot, tracked.purged_at is not None) == ("", [], True)
    assert set(tracked.reminders.values_list("recipient", flat=True)) == {""}
    cart.refresh_from_db()
    assert cart.email == "" and cart.checkout == {}
    assert tracked.reminders.filter(status="sent").count() == 1  # the statistics survive


def test_export_and_erase_by_command(store):
    cart = make_cart(store)
    services.detect_abandoned()
    run_due(hours(1))
    PushSubscription.objects.create(
        store=store, cart=cart, email="anna@example.com", endpoint="https://p/1", p256dh="k", auth="a"
    )
    out = StringIO()
    call_command("recovery_shopper_data", "anna@example.com", "--store", store.domain, stdout=out)
    data = json.loads(out.getvalue())
    assert data["email"] == "anna@example.com"
    assert data["tracked_carts"][0]["reminders"][0]["status"] == "sent"
    assert data["push_subscriptions"][0]["endpoint"] == "https://p/1"
    # The consent answers per channel, with the exact text and version the shopper saw.
    assert [(c["channel"], c["granted"], c["text"], c["version"]) for c in data["consents"]] == [
        ("email", True, "Zgoda", "t1")
    ]
    out = StringIO()
    call_command("recovery_shopper_data", "anna@example.com", "--store", store.domain, "--erase", stdout=out)
    assert json.loads(out.getvalue())["tracked_carts"] == 1
    assert not TrackedCart.objects.filter(email="anna@example.com").exists()
    assert not PushSubscription.objects.exists()
    assert Cart.objects.get(pk=cart.pk).email == ""
    assert services.export_shopper(store=store, email="anna@example.com")["tracked_carts"] == []


def test_erase_keeps_the_unsubscribe_unless_asked(store):
    services.suppress(store=store, email="x@example.com")
    services.erase_shopper(store=store, email="x@example.com")
    assert Suppression.objects.filter(email="x@example.com").exists()
    services.erase_shopper(store=store, email="x@example.com", keep_suppression=False)
    assert not Suppression.objects.exists()
