"""The gift-card balance page in a real browser: from the cart's link, a shopper types a card's
code (lower case, with dashes), sees the balance and expiry; a wrong code gets the one neutral
answer; on a phone nothing scrolls sideways."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.catalog.factories import VariantFactory
from tests.orders.factories import GiftCardFactory

pytestmark = pytest.mark.e2e
WARSAW = ZoneInfo("Europe/Warsaw")


def _plain_http(settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False


def test_a_shopper_checks_a_card_from_the_cart(page, live_store, settings):
    _plain_http(settings)
    GiftCardFactory(
        store=live_store,
        code="ABCDEFGHJKLMNPQR",
        initial_balance=Decimal("300.00"),
        balance=Decimal("175.25"),
        expires_at=datetime(2031, 5, 31, 23, 0, tzinfo=WARSAW),
    )
    variant = VariantFactory(store=live_store, stock=5, price=Decimal("20.00"))
    page.goto(variant.product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.get_by_test_id("gift-balance-link").click()
    page.wait_for_url("**/karta-podarunkowa/")
    assert page.locator("h1").inner_text() == "Saldo karty podarunkowej"

    page.fill("#id_code", "abcd-efgh-jklm-npqr")
    page.get_by_role("button", name="Sprawdź saldo").click()
    found = page.get_by_test_id("balance-found")
    found.wait_for()
    text = found.inner_text()
    assert "175,25\xa0zł" in text and "Ważna do 31.05.2031." in text and "••••-NPQR" in text
    assert page.input_value("#id_code") == ""  # the code is not echoed back

    page.fill("#id_code", "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    page.get_by_role("button", name="Sprawdź saldo").click()
    page.get_by_test_id("balance-unknown").wait_for()
    assert page.get_by_test_id("balance-found").count() == 0

    page.fill("#id_code", "123")
    page.get_by_role("button", name="Sprawdź saldo").click()
    assert "ma 16 liter i cyfr" in page.locator("#code-error").inner_text()
    assert page.locator("#id_code").get_attribute("aria-invalid") == "true"


def test_the_page_fits_a_phone(page, live_store, settings):
    _plain_http(settings)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/karta-podarunkowa/")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.fill("#id_code", "ABCD-EFGH-JKLM-NPQR")
    page.get_by_role("button", name="Sprawdź saldo").click()
    page.get_by_test_id("balance-unknown").wait_for()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
