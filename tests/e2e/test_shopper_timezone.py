"""A shopper in New York visits once: product page -> add to cart -> checkout. The zone the
browser reports on the first page (before any cart exists) ends up on the tracked cart, so quiet
hours are hers, not the store's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Cart
from recovery.models import TrackedCart
from tests.catalog.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.e2e


def test_single_visit_zone_reaches_the_tracked_cart(browser, live_server, live_store, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory(store=live_store, name="Kubek", slug="kubek")
    VariantFactory(product=product, stock=5, price=Decimal("20.00"))
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", timezone_id="America/New_York")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        with page.expect_response(lambda r: r.url.endswith("/r/tz/")) as reported:
            page.goto(product.get_absolute_url())
        assert reported.value.status == 200
        assert not Cart.objects.exists()
        page.locator("form.add-to-cart button[type=submit]").click()
        page.wait_for_url("**/koszyk/")
        cart = Cart.objects.get()
        assert TrackedCart.objects.get(cart=cart).shopper_timezone == "America/New_York"
        # The script reports once per browser session: later pages send nothing more.
        page.get_by_test_id("to-checkout").click()
        page.wait_for_url("**/zamowienie/")
        assert page.evaluate("() => sessionStorage.getItem('recovery-tz')") == "1"
    finally:
        context.close()
