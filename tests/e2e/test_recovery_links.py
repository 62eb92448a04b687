"""Restore and click links from a reminder, opened in real Chromium: the page the link's GET
shows continues by itself (continue.js submits its CSRF-protected form), the cart comes back with
the coupon and exactly one click is counted per opening. Without JavaScript nothing happens until
the shopper presses the button, like a mail scanner's GET, which counts nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Cart
from recovery import services, tokens
from recovery.models import Reminder, Restore, TrackedCart, TrackingEvent
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.recovery.factories import make_cart
from tests.recovery.helpers import run_due

pytestmark = pytest.mark.e2e


@pytest.fixture
def reminded(live_store, settings):
    """A cart abandoned and reminded twice; the second message carries a 10% coupon."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.RECOVERY_QUIET_HOURS = ""
    settings.RECOVERY_FREQUENCY_CAP_HOURS = 0
    settings.RECOVERY_IDLE_MINUTES = 30
    settings.RECOVERY_DELAY_SCALE = 1.0
    services.ensure_default_campaign(store=live_store)
    product = ProductFactory(store=live_store, name="Kubek w kropki", slug="kubek-w-kropki")
    variant = VariantFactory(product=product, stock=5, price=Decimal("49.90"))
    cart = make_cart(live_store, variants=[variant])
    services.detect_abandoned()
    run_due(timezone.now() + timedelta(hours=1))
    run_due(timezone.now() + timedelta(hours=24))
    tracked = TrackedCart.objects.get(cart=cart)
    reminder = tracked.reminders.get(step__position=2)
    assert reminder.status == "sent" and reminder.voucher is not None
    return tracked, reminder, product


def clicks(reminder) -> int:
    return TrackingEvent.objects.filter(reminder=reminder, kind="click").count()


def test_opening_the_restore_link_restores_the_cart_and_counts_one_click(page, reminded):
    tracked, reminder, product = reminded
    token = tokens.restore_token(tracked_id=tracked.pk, cart_id=tracked.cart_id, reminder_id=reminder.pk)
    page.goto(reverse("recovery:restore", args=[token]))
    page.wait_for_url("**/r/restored/")
    assert page.get_by_test_id("recovery-restored").is_visible()
    assert reminder.voucher.code in page.get_by_test_id("recovery-coupon").inner_text()
    assert product.name in page.content()
    assert "anna@example.com" not in page.content()
    restored = Restore.objects.get()
    assert Cart.objects.get(pk=restored.cart_id).voucher_id == reminder.voucher_id
    assert clicks(reminder) == 1
    reminder.refresh_from_db()
    assert reminder.clicked_at is not None
    page.reload()  # the result page again restores and counts nothing
    assert Restore.objects.count() == 1 and clicks(reminder) == 1

    # A product link of the same message: one more click, then the product page.
    link = tokens.click_token(reminder_id=reminder.pk, path=product.get_absolute_url())
    page.goto(reverse("recovery:click", args=[link]))
    page.wait_for_url(f"**{product.get_absolute_url()}")
    assert clicks(reminder) == 2


def test_without_javascript_nothing_counts_until_the_button_is_pressed(browser, live_server, reminded):
    tracked, reminder, _product = reminded
    token = tokens.restore_token(tracked_id=tracked.pk, cart_id=tracked.cart_id, reminder_id=reminder.pk)
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(reverse("recovery:restore", args=[token]))
        button = page.get_by_test_id("recovery-continue")
        assert button.inner_text().strip().startswith("Przywróć")  # Polish, no English
        assert not Restore.objects.exists() and clicks(reminder) == 0
        assert Reminder.objects.get(pk=reminder.pk).clicked_at is None
        button.click()
        page.wait_for_url("**/r/restored/")
        assert page.get_by_test_id("recovery-restored").is_visible()
        assert Restore.objects.count() == 1 and clicks(reminder) == 1
    finally:
        context.close()
