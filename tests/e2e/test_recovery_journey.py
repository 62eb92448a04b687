"""The whole recovery journey with real parts: a real Celery worker on Redis sharing the test
database, a real SMTP server (aiosmtpd) on loopback, and a real browser (Playwright + chromium).

A guest adds to cart and enters an email with consent, then leaves; with the delays shrunk to
seconds the worker sends step 1; the test reads the email, follows its restore link in a fresh
browser, finds the cart back with the coupon applied, the order is placed, step 2 never comes, and
the dashboard counts one order recovered via link.

Needs DATABASE_URL=postgres://... and Redis (tests/recovery/realworld.py broker_url; skips with the reason
otherwise).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore

from orders.models import Cart
from recovery import services
from recovery.models import Reminder, Step, TrackedCart
from tests.catalog.factories import VariantFactory
from tests.recovery.realworld import SmtpServer, Workers, publisher, require_real_services, worker_env
from tests.shop.factories import SuperuserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REDIS_DB = 11
SCALE = 1 / 3600  # one hour of campaign time is one second: step 1 after 1 s, step 2 after 24 s
IDLE_MINUTES = 0.02  # 1.2 s without activity and the cart is abandoned
EMAIL = "gosc@example.com"


def _serve_plain_http(live_server) -> None:
    """The session-wide live server was built before the tests' settings fixture turned
    SECURE_SSL_REDIRECT off (SecurityMiddleware reads it once, when the server thread creates
    its handler), so with the production default it redirects the browser to https. Switch
    that one middleware instance off; everything else keeps the test settings."""
    from django.middleware.security import SecurityMiddleware

    handler = live_server.thread.httpd.get_app()
    while not hasattr(handler, "_middleware_chain") and hasattr(handler, "application"):
        handler = handler.application
    link = getattr(handler, "_middleware_chain", None)
    for _ in range(50):
        cells = [c.cell_contents for c in (getattr(link, "__closure__", None) or ())]
        found = next((c for c in cells if isinstance(c, SecurityMiddleware)), None)
        if found is not None:
            found.redirect = False
            return
        nxt = next((c for c in cells if callable(c)), None)
        link = getattr(nxt, "get_response", nxt)
        if link is None:
            return


def _text_part(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def test_guest_cart_is_recovered_through_the_email_link(browser, page, live_server, live_store, settings):
    require_real_services(REDIS_DB)
    _serve_plain_http(live_server)
    settings.SITE_URL = live_server.url
    settings.RECOVERY_DELAY_SCALE = SCALE
    settings.RECOVERY_IDLE_MINUTES = IDLE_MINUTES
    services.ensure_default_campaign(store=live_store)
    Step.objects.filter(campaign__store=live_store, position=1).update(
        incentive_kind="percentage", incentive_value=Decimal("10"), incentive_expiry_days=3
    )
    # Step 2 is planned far out (30 days: 12 min at this scale) so that a slow machine, which
    # may send step 1 half a minute late, cannot make it due before the shopper has ordered;
    # the test brings it due itself once the order is placed.
    Step.objects.filter(campaign__store=live_store, position=2).update(delay=timedelta(days=30))
    variant = VariantFactory(store=live_store, price=Decimal("120.00"), stock=10)

    # --- A guest shops in their own browser, gives an email with consent, and leaves. ----------
    guest = browser.new_context(base_url=live_server.url, locale="pl-PL")
    guest.set_default_timeout(15_000)
    shop = guest.new_page()
    shop.goto(f"/p/{variant.product.slug}/")
    shop.locator("form.add-to-cart button[type=submit]").click()
    shop.wait_for_load_state()
    shop.goto("/zamowienie/")
    shop.fill("[name=email]", EMAIL)
    shop.check("#id_marketing_consent")
    shop.click("[data-testid=contact-next]")
    shop.wait_for_load_state()
    guest.close()
    cart = Cart.objects.get(store=live_store, email=EMAIL)
    assert cart.marketing_consent and cart.lines.count() == 1

    env = worker_env(
        db=REDIS_DB,
        smtp_port=0,
        site_url=live_server.url,
        RECOVERY_DELAY_SCALE=SCALE,
        RECOVERY_IDLE_MINUTES=IDLE_MINUTES,
    )
    with SmtpServer() as smtp:
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp.port}"
        with Workers(env, count=1, concurrency=2) as worker:
            beat = publisher(REDIS_DB)

            def tick():  # what celery beat does, every second instead of every minute
                beat.send_task("recovery.tasks.detect_abandoned_carts")
                beat.send_task("recovery.tasks.dispatch_due_reminders")

            received = smtp.inbox.wait_for(1, timeout=90, tick=tick)
            assert len(received) == 1, worker.output()
            message = received[0]
            assert str(message["To"]) == EMAIL
            assert "List-Unsubscribe=One-Click" in str(message["List-Unsubscribe-Post"])
            text = _text_part(message)
            restore_url = re.search(r"https?://\S+/r/restore/\S+/", text).group(0)
            assert restore_url.startswith(live_server.url)

            # --- The shopper follows the link on another device: a fresh browser context. ------
            page.goto(restore_url)  # its page submits itself (a plain GET restores nothing)
            page.wait_for_url("**/r/restored/")
            assert page.get_by_test_id("recovery-restored").is_visible()
            coupon = page.get_by_test_id("recovery-coupon")
            assert coupon.is_visible()
            reminder = Reminder.objects.get(tracked__cart=cart, step__position=1)
            assert reminder.voucher.code in coupon.inner_text()
            assert variant.product.name in page.content()
            assert EMAIL not in page.content()
            session_id = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
            restored = Cart.objects.get(token=SessionStore(session_key=session_id)["cart_token"])
            assert restored.voucher_id == reminder.voucher_id
            assert restored.lines.get().variant_id == variant.pk
            page.goto("/koszyk/")
            assert variant.product.name in page.content()

            # --- The order is placed (orders' checkout services), from the restored cart. ------
            from orders.models import PaymentMethod
            from orders.services import carts as cart_services
            from orders.services.checkout import place_order
            from tests.orders.factories import ADDRESS, PaymentMethodFactory, ShippingMethodFactory

            cart_services.save_checkout_email(cart=restored, email=EMAIL, marketing_consent=True)
            cart_services.set_checkout_choices(
                cart=restored,
                shipping_method=ShippingMethodFactory(store=live_store, code="kurier"),
                payment_method=PaymentMethodFactory(
                    store=live_store, provider=PaymentMethod.Provider.TEST_GATEWAY
                ),
                answers=ADDRESS,
            )
            restored.refresh_from_db()
            order = place_order(cart=restored)
            assert order.voucher_id == reminder.voucher_id and order.discount_total > 0

            # --- Step 2 falls due after the order: the worker must not send it. ---------------
            from django.utils import timezone

            tracked = TrackedCart.objects.get(cart=cart)
            step2 = Reminder.objects.get(tracked=tracked, step__position=2)
            Reminder.objects.filter(pk=step2.pk, status="planned").update(
                due_at=timezone.now(), next_attempt_at=timezone.now()
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                tick()
                time.sleep(1)
                step2.refresh_from_db()
                if step2.status != "planned":
                    break
            time.sleep(2)
            assert len(smtp.inbox.messages) == 1, worker.output()

    step2 = Reminder.objects.get(tracked__cart=cart, step__position=2)
    assert (step2.status, step2.reason) == ("skipped", "ordered")
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_via, tracked.recovered_order_id) == (
        "recovered",
        "via_link",
        order.pk,
    )

    # --- The dashboard, in the browser, as staff: one order recovered via link. ----------------
    admin = SuperuserFactory()
    page.goto("/admin/login/?next=/admin/recovery/campaign/dashboard/")
    page.fill("[name=username]", admin.email)
    page.fill("[name=password]", "haslo-testowe-123")
    page.click("[type=submit]")
    page.wait_for_url("**/admin/recovery/campaign/dashboard/")
    assert page.locator("[data-kpi=via_link]").inner_text().strip() == "1"
    assert page.locator("[data-kpi=after_click]").inner_text().strip() == "0"
    assert page.locator("svg").count() >= 2
