"""A guest buys in a real browser: product page -> cart -> checkout (email first) -> delivery ->
the test gateway's payment page -> pay -> the gateway's signed notification reaches the shop's
webhook over HTTP -> the order page says "paid"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import StockItem
from orders.models import Cart, Order
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.e2e


def test_guest_checkout_paid_through_the_test_gateway(page, live_server, live_store, settings):
    settings.SITE_URL = live_server.url  # where the gateway sends its notification
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP
    product = ProductFactory(store=live_store, name="Kubek Koszyk", slug="kubek-koszyk")
    variant = VariantFactory(product=product, stock=3, price=Decimal("59.90"))
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier InPost", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="test_gateway", name="Płatność online")

    page.goto(product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    assert page.get_by_test_id("cart-line").count() == 1
    assert "Kurier InPost: 14,99\xa0zł" in page.get_by_test_id("shipping-costs").inner_text()

    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    steps = page.get_by_test_id("checkout-steps").inner_text()
    assert "Kontakt" in steps and "Podsumowanie" in steps
    assert not page.locator("#id_marketing_consent").is_checked()
    page.fill("#id_email", "gosc@example.com")
    page.locator("#id_email").blur()
    page.get_by_text("Zapisano.").wait_for()
    assert Cart.objects.get().email == "gosc@example.com"  # saved before the step is submitted
    page.get_by_test_id("contact-next").click()

    page.wait_for_url("**/zamowienie/dostawa/")
    page.get_by_label("Kurier InPost", exact=False).check()
    page.fill("#id_first_name", "Gosia")
    page.fill("#id_last_name", "Gościnna")
    page.fill("#id_phone", "600 100 200")
    page.fill("#id_street", "Ogrodowa 1")
    page.fill("#id_postal_code", "00-950")
    page.fill("#id_city", "Warszawa")
    page.get_by_label("Płatność online", exact=False).check()
    page.get_by_test_id("delivery-next").click()

    page.wait_for_url("**/zamowienie/podsumowanie/")
    assert "74,89\xa0zł" in page.get_by_test_id("total").inner_text()
    page.check("#id_accept_terms")
    page.get_by_test_id("place-order").click()

    page.wait_for_url("**/platnosc/test/**")
    assert "74,89\xa0zł" in page.get_by_test_id("gateway-amount").inner_text()
    page.get_by_test_id("gateway-pay").click()

    page.wait_for_url("**/zamowienie/**")
    page.locator('[data-testid=order-status][data-status="paid"]').wait_for()
    order = Order.objects.get()
    assert order.status == Order.Status.PAID and order.email == "gosc@example.com"
    assert order.payments.get().notifications.filter(outcome="applied").exists()
    assert StockItem.objects.get(variant=variant).quantity == 2
