"""The checkout's two consent saves (the e-mail field's blur and the checkbox's change) race in a
real browser: whichever request reaches the server last must not win, the newest click must.

The server delays the request that carries the older answer, so it arrives last -- what a slow
network or a busy worker did to 5 of 12 shoppers who ticked and 2 of 10 who ticked and unticked
within 30 ms."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from orders import services as order_services
from orders.models import Cart, ConsentRecord
from tests.catalog.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.e2e


def _stored():
    cart = Cart.objects.get()
    latest = ConsentRecord.objects.filter(cart=cart, channel="email").order_by("-created_at", "-pk").first()
    return cart.marketing_consent, latest.granted if latest else None


def _wait_for(page, saves: list, n: int, timeout: float = 15.0):
    """Until ``n`` consent saves were answered (the browser's events run while Playwright waits)."""
    deadline = time.monotonic() + timeout
    while len(saves) < n:
        assert time.monotonic() < deadline, f"{len(saves)} of {n} consent saves answered"
        page.wait_for_timeout(50)


def test_fast_ticks_and_unticks_store_the_last_click(page, live_server, live_store, settings, monkeypatch):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory(store=live_store, name="Kubek", slug="kubek")
    VariantFactory(product=product, stock=5, price=Decimal("20.00"))

    original = order_services.save_checkout_email
    delay_answer = {"value": None}

    def slow_for_one_answer(**kwargs):
        if kwargs.get("client_seq") and bool(kwargs["marketing_consent"]) == delay_answer["value"]:
            time.sleep(0.8)  # this request is overtaken by the next one
        return original(**kwargs)

    monkeypatch.setattr(order_services, "save_checkout_email", slow_for_one_answer)
    saves: list[int] = []
    page.on("response", lambda r: saves.append(r.status) if r.url.endswith("/zamowienie/email/") else None)

    page.goto(product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    box = page.locator("#id_marketing_consent")
    assert not box.is_checked()

    # 1. Type the e-mail and tick at once: the blur saves "no", the change saves "yes"; the "no"
    #    is slow and arrives last.
    delay_answer["value"] = False
    page.fill("#id_email", "szybka@example.com")
    box.click()
    _wait_for(page, saves, 2)
    assert saves == [200, 200]
    assert box.is_checked()
    assert _stored() == (True, True)

    # 2. Untick (saved), then tick and untick within the same few milliseconds: the tick's "yes"
    #    is slow and arrives after the untick's "no".
    delay_answer["value"] = None
    box.click()
    _wait_for(page, saves, 3)
    assert _stored() == (False, False)
    delay_answer["value"] = True
    page.evaluate(
        "() => { const b = document.getElementById('id_marketing_consent'); b.click(); b.click(); }"
    )
    _wait_for(page, saves, 5)
    assert not box.is_checked()
    assert _stored() == (False, False)

    # 3. Tick and go on at once: the step's own submit is the newest event; a slow background
    #    save of an older state cannot undo it.
    delay_answer["value"] = False
    page.evaluate(
        "() => { const b = document.getElementById('id_marketing_consent'); b.click(); b.click(); b.click(); }"
    )
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")
    page.wait_for_timeout(1500)  # let the slow background save land
    assert _stored() == (True, True)
