"""BLIK in a real browser: checkout with Przelewy24 lands on the shop's BLIK page, the shopper types
a code, the waiting page polls the shop's own status endpoint, the fake P24 sends its signed
notification to the shop's webhook over HTTP (verified against the fake), and the page shows paid."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from orders.models import Order, Payment
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.fakes.http_server import FakeResponse
from tests.fakes.przelewy24 import FakePrzelewy24
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.orders.gateway_checkout import gateway_account, isolate_cache

pytestmark = pytest.mark.e2e


@pytest.fixture
def p24(settings):
    isolate_cache(settings)
    with FakePrzelewy24() as fake:
        settings.PRZELEWY24_SANDBOX_URL = fake.url
        settings.PRZELEWY24_URL = "http://127.0.0.1:9"
        yield fake


@pytest.fixture
def shop(live_store, live_server, settings, p24):
    settings.SITE_URL = live_server.url  # P24's urlStatus points at the live server
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.BLIK_POLL_SECONDS = 1
    gateway_account(
        live_store,
        "przelewy24",
        config={"merchant_id": p24.merchant_id, "pos_id": p24.pos_id, "blik": True},
        secrets={"api_key": p24.api_key, "crc": p24.crc},
    )
    product = ProductFactory(store=live_store, name="Kubek Koszyk", slug="kubek-koszyk")
    VariantFactory(product=product, stock=3, price=Decimal("59.90"))
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier InPost", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="przelewy24", name="Przelewy24")
    return product


def http_deliver(url: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    response = httpx.post(url, content=body, headers=headers, timeout=15)
    return response.status_code, response.content


def place_order(page, product):
    page.goto(product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    page.fill("#id_email", "blik@example.com")
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")
    page.get_by_label("Kurier InPost", exact=False).check()
    page.fill("#id_first_name", "Bartek")
    page.fill("#id_last_name", "Blikowy")
    page.fill("#id_phone", "600 100 200")
    page.fill("#id_street", "Ogrodowa 1")
    page.fill("#id_postal_code", "00-950")
    page.fill("#id_city", "Warszawa")
    page.get_by_label("Przelewy24", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_url("**/zamowienie/podsumowanie/")
    page.check("#id_accept_terms")
    page.get_by_test_id("place-order").click()
    page.wait_for_url("**/blik/")


def test_shopper_pays_with_a_blik_code_and_sees_paid(page, shop, p24):
    place_order(page, shop)
    assert "74,89\xa0zł" in page.get_by_test_id("blik-amount").inner_text()
    code = page.get_by_test_id("blik-code")
    assert code.get_attribute("inputmode") == "numeric"
    assert code.get_attribute("autocomplete") == "one-time-code"
    code.press_sequentially("777123", delay=20)
    assert code.input_value() == "777 123"  # grouped while typing, sent as digits
    page.get_by_test_id("blik-submit").click()

    page.wait_for_url("**/blik/potwierdz/")
    assert page.get_by_test_id("blik-waiting").get_attribute("data-state") == "waiting"
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_PAYMENT
    # The order email's payment link registered the first attempt without the payer's data; the
    # code was charged on a fresh attempt registered with it (one code per attempt).
    payment = Payment.objects.get(order=order, status=Payment.Status.PENDING)
    token = p24.token_for(payment.reference)
    assert json.loads(p24.calls("/blik/chargeByCode")[0].body) == {"token": token, "blikCode": "777123"}

    # The bank app confirms; P24 notifies the shop's webhook over HTTP; the shop verifies.
    status, _ = p24.notify(token, http_deliver)
    assert status == 200
    page.locator('[data-testid=blik-waiting][data-state="paid"]').wait_for()
    assert page.get_by_test_id("blik-paid").is_visible()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and p24.transactions[token].verified


def test_a_refused_code_is_shown_and_a_new_code_works(page, shop, p24):
    p24.blik_answers["111111"] = FakeResponse(
        400, b'{"error": "Incorrect blikCode", "code": 400}', {"Content-Type": "application/json"}
    )
    place_order(page, shop)
    page.get_by_test_id("blik-code").fill("111111")
    page.get_by_test_id("blik-submit").click()
    error = page.get_by_test_id("blik-error")
    error.wait_for()
    assert "Bank nie przyjął tego kodu BLIK" in error.inner_text()
    page.get_by_test_id("blik-code").fill("222 333")
    page.get_by_test_id("blik-submit").click()
    page.wait_for_url("**/blik/potwierdz/")
    assert len(p24.calls("/blik/chargeByCode")) == 2
    assert Payment.objects.filter(status=Payment.Status.PENDING).count() == 1
