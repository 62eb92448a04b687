"""The enforced Content-Security-Policy breaks nothing the shop itself renders: a real Chromium
records every ``securitypolicyviolation`` event and CSP console error on the main storefront pages
with every marketing tag, the store's custom JavaScript and the consent banner accepted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.catalog.factories import ProductFactory, VariantFactory
from tests.e2e.test_consent_tags import outside  # noqa: F401  (fixture: third-party hosts faked)
from tests.integrations.marketing.factories import MarketingSettingsFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.e2e

RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.mark.usefixtures("outside")
def test_no_policy_violation_on_the_storefront_with_tags_accepted(page, live_server, live_store, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = settings.LANGUAGE_COOKIE_SECURE = False
    live_store.custom_js = "window.__custom = 1;"
    live_store.save()
    MarketingSettingsFactory(store=live_store)
    product = ProductFactory(store=live_store, name="Kubek <img src=x onerror=alert(1)>", slug="kubek")
    VariantFactory(product=product, sku="KUB-1", stock=5, price=Decimal("59.90"))
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="cod", name="Za pobraniem")
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.context.add_init_script(RECORD)

    def violations() -> list[str]:
        return page.evaluate("() => window.__csp") + console

    response = page.goto("/")
    assert "'nonce-" in response.headers["content-security-policy"]  # enforced, not report-only
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.__custom") == 1  # the store's custom JS ran (with the nonce)
    # The policy bites: an inline script without the nonce (as injected text would be) is blocked.
    page.evaluate(
        "() => { var s = document.createElement('script'); s.textContent = 'window.__evil = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("() => window.__evil") is None
    assert page.evaluate("() => window.__csp")[0].startswith("script-src")
    page.evaluate("() => { window.__csp = []; }")
    console.clear()
    page.goto(product.get_absolute_url())
    page.get_by_test_id("consent-accept").click()
    page.wait_for_function("() => (window.__gtag || []).length > 0 && (window.__fbq || []).length > 0")
    page.wait_for_function("() => window.__trustbadge === 1")
    assert violations() == []
    page.locator("form.add-to-cart button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    page.goto("/koszyk/")
    page.wait_for_load_state("networkidle")
    assert violations() == []
    page.goto("/zamowienie/")
    page.fill("input[name=email]", "ola@example.com")
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")
    page.wait_for_load_state("networkidle")
    assert violations() == []
    # The language switch (no inline handler any more) still submits on change.
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => document.documentElement.lang") == "en"
    assert violations() == []
