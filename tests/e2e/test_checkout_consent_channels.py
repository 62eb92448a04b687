"""In a real browser: a store with an SMS reminder step asks for SMS consent next to the phone
number, only once a number is typed; the answer is stored for the SMS channel with its text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import ConsentRecord
from recovery import services
from recovery.models import Step
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.e2e


def test_sms_consent_is_asked_next_to_the_phone_number(page, live_store, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.RECOVERY_SMS_PROVIDER = "console"
    services.ensure_default_campaign(store=live_store)
    Step.objects.filter(campaign__store=live_store, position=2).update(channel="sms")
    product = ProductFactory(store=live_store, name="Kubek", slug="kubek")
    VariantFactory(product=product, stock=5, price=Decimal("20.00"))
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier InPost", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="bank_transfer", name="Przelew")

    page.goto(product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    # Contact step: the e-mail question only (no phone yet), unticked.
    assert page.locator("input[data-consent]").count() == 1
    assert "e-maile" in page.get_by_test_id("consent-text").inner_text()
    page.fill("#id_email", "sms@example.com")
    page.get_by_test_id("contact-next").click()

    page.wait_for_url("**/zamowienie/dostawa/")
    sms = page.locator("#id_sms_consent")
    assert not sms.is_visible()  # nothing to send to yet
    page.get_by_label("Kurier InPost", exact=False).check()
    page.fill("#id_first_name", "Ola")
    page.fill("#id_last_name", "Nowak")
    page.fill("#id_phone", "600 100 200")
    assert sms.is_visible() and not sms.is_checked()
    label = page.get_by_test_id("consent-text-sms").inner_text()
    assert "SMS" in label and "e-mail" not in label
    sms.check()
    page.fill("#id_street", "Ogrodowa 1")
    page.fill("#id_postal_code", "00-950")
    page.fill("#id_city", "Warszawa")
    page.get_by_label("Przelew", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_url("**/zamowienie/podsumowanie/")

    answers = {r.channel: r for r in ConsentRecord.objects.filter(email="sms@example.com")}
    assert set(answers) == {"email", "sms"}
    assert not answers["email"].granted and answers["sms"].granted
    assert answers["sms"].text == label
