"""Marketing tags in a real browser (Playwright + Debian chromium): nothing from Google, Meta or
Trusted Shops is requested before the shopper agrees; after "accept all" the tags load, Consent
Mode is updated and the shop's e-commerce events arrive with real values; the purchase is sent
once; the choice can be changed later from the footer.

Every request that leaves the live server is intercepted with ``page.route``: the tag hosts get
tiny fake scripts that record what the page asks of gtag/fbq into ``window``; anything else is
aborted and recorded, so "no third-party request before consent" is checked for every host.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from integrations.marketing.models import ConsentLog
from orders.models import Order
from tests.catalog.factories import CategoryFactory, ProductFactory, VariantFactory
from tests.integrations.marketing.factories import ADS, ADS_LABEL, GA4, PIXEL, TSID, MarketingSettingsFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.e2e

# What the real scripts do with the page's queues, reduced to recording them.
FAKE_GTAG = """
window.__gtag = window.__gtag || [];
(function () {
  var dl = window.dataLayer = window.dataLayer || [];
  function rec(a) { window.__gtag.push(JSON.parse(JSON.stringify(Array.prototype.slice.call(a)))); }
  dl.forEach(rec);
  var push = dl.push;
  dl.push = function () { for (var i = 0; i < arguments.length; i++) rec(arguments[i]); return push.apply(dl, arguments); };
})();
"""
FAKE_FBEVENTS = """
window.__fbq = window.__fbq || [];
(function () {
  function rec(a) { window.__fbq.push(JSON.parse(JSON.stringify(Array.prototype.slice.call(a)))); }
  (window.fbq.queue || []).forEach(rec);
  window.fbq.queue = [];
  window.fbq.callMethod = function () { rec(arguments); };
})();
"""
FAKE_TRUSTBADGE = "window.__trustbadge = (window.__trustbadge || 0) + 1;"
TAG_HOSTS = re.compile(
    r"^https?://(www\.googletagmanager\.com|[a-z0-9.-]*google-analytics\.com|connect\.facebook\.net|widgets\.trustedshops\.com)/"
)


@pytest.fixture
def outside(page):
    """Every request to a host other than the live server, in order."""
    seen: list[str] = []

    def handle(route):
        url = route.request.url
        seen.append(url)
        if "googletagmanager.com/gtag/js" in url:
            route.fulfill(status=200, content_type="application/javascript", body=FAKE_GTAG)
        elif "connect.facebook.net" in url and url.endswith("fbevents.js"):
            route.fulfill(status=200, content_type="application/javascript", body=FAKE_FBEVENTS)
        elif "widgets.trustedshops.com/js/" in url:
            route.fulfill(status=200, content_type="application/javascript", body=FAKE_TRUSTBADGE)
        else:
            route.abort()

    page.context.route(re.compile(r"^(?!https?://(localhost|127\.0\.0\.1)[:/]).*"), handle)
    return seen


def calls(page, name="__gtag") -> list:
    return page.evaluate(f"() => window.{name} || []")


def gtag_events(page, event: str) -> list[dict]:
    return [c[2] for c in calls(page) if c[0] == "event" and c[1] == event]


def wait_for_event(page, event: str):
    page.wait_for_function(
        "(name) => (window.__gtag || []).some(c => c[0] === 'event' && c[1] === name)", arg=event
    )
    return gtag_events(page, event)


def nothing_tracked(page) -> bool:
    return page.evaluate(
        "() => typeof window.gtag === 'undefined' && typeof window.fbq === 'undefined'"
        " && typeof window.dataLayer === 'undefined' && !window.__gtag && !window.__fbq && !window.__trustbadge"
    )


def test_tags_only_after_consent_with_real_values_and_one_purchase(
    page, live_server, live_store, settings, outside
):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # plain HTTP
    MarketingSettingsFactory(store=live_store)
    category = CategoryFactory(store=live_store, name="Kubki")
    product = ProductFactory(store=live_store, name="Kubek Koszyk", slug="kubek-koszyk", category=category)
    VariantFactory(product=product, sku="KUB-1", stock=5, price=Decimal("59.90"))
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier InPost", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="cod", name="Za pobraniem")

    # 1. First visit: the banner asks; nothing leaves the shop, nothing is called.
    page.goto(product.get_absolute_url())
    page.wait_for_load_state("networkidle")
    banner = page.get_by_test_id("consent-banner")
    assert banner.is_visible()
    reject, accept = page.get_by_test_id("consent-reject"), page.get_by_test_id("consent-accept")
    assert reject.is_visible() and accept.is_visible()
    # Equally prominent: the same size and colours.
    style = (
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color, getComputedStyle(e).fontSize]"
    )
    assert reject.evaluate(style) == accept.evaluate(style)
    assert outside == [] and nothing_tracked(page)
    html = page.content()
    assert "gtag(" not in html and "fbq(" not in html

    # 2. "Reject all": still nothing, on this page and the next; the choice is kept as proof.
    with page.expect_response("**/zgody-cookies/") as logged:
        reject.click()
    assert logged.value.status == 204
    assert banner.is_hidden()
    cookie = next(c for c in page.context.cookies() if c["name"] == "koszyk_consent")
    assert "a=0" in cookie["value"] and "m=0" in cookie["value"] and cookie["sameSite"] == "Lax"
    consent_id = re.search(r"id=([A-Za-z0-9_-]{22})", cookie["value"]).group(1)
    assert list(ConsentLog.objects.values_list("consent_id", "analytics", "marketing")) == [
        (consent_id, False, False)
    ]
    page.reload()
    page.wait_for_load_state("networkidle")
    assert banner.is_hidden() and outside == [] and nothing_tracked(page)

    # 3. Change of mind from the footer: "accept all" loads the tags and updates Consent Mode.
    page.get_by_test_id("consent-settings-link").click()
    assert banner.is_visible() and page.locator("#consent-settings").is_visible()
    assert page.evaluate("() => document.activeElement.id") == "consent-analytics"
    assert not page.locator("#consent-analytics").is_checked()  # the stored "reject all"
    page.keyboard.press("Escape")  # a choice exists: the banner may close without a new one
    assert banner.is_hidden()
    page.get_by_test_id("consent-settings-link").click()
    assert page.locator("[data-consent-id]").inner_text() == consent_id  # to quote in a request
    with page.expect_response("**/zgody-cookies/"):
        accept.click()
    [view_item] = wait_for_event(page, "view_item")
    assert any(GA4 in url for url in outside)
    recorded = calls(page)
    consent = [c for c in recorded if c[0] == "consent"]
    assert consent[0][1] == "default"
    assert consent[0][2] == {
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
        "analytics_storage": "denied",
        "wait_for_update": 500,
    }
    assert consent[1][1] == "update" and set(consent[1][2].values()) == {"granted"}
    assert recorded.index(consent[0]) < recorded.index(next(c for c in recorded if c[0] == "config"))
    configs = {c[1]: c[2] for c in recorded if c[0] == "config"}
    assert set(configs) == {GA4, ADS}
    assert configs[GA4]["page_location"] == live_server.url + product.get_absolute_url()
    assert view_item["value"] == 59.9 and view_item["currency"] == "PLN"
    assert view_item["items"][0]["item_id"] == "KUB-1" and view_item["items"][0]["price"] == 59.9
    assert view_item["items"][0]["item_category"] == "Kubki"
    page.wait_for_function("() => (window.__fbq || []).some(c => c[1] === 'ViewContent')")
    fbq = calls(page, "__fbq")
    assert ["init", PIXEL] in fbq and ["consent", "grant"] in fbq
    assert next(c for c in fbq if c[1] == "ViewContent")[2]["value"] == 59.9
    page.wait_for_function("() => window.__trustbadge === 1")
    assert any(TSID in url for url in outside)
    cookie = next(c for c in page.context.cookies() if c["name"] == "koszyk_consent")
    assert "a=1" in cookie["value"] and "m=1" in cookie["value"] and f"id={consent_id}" in cookie["value"]
    assert ConsentLog.objects.filter(consent_id=consent_id, analytics=True, marketing=True).count() == 1
    assert cookie["expires"] > __import__("time").time() + 360 * 86400  # about 12 months
    assert all(TAG_HOSTS.match(url) for url in outside), outside

    # 4. Add to cart: the next page sends add_to_cart with the real quantity and value.
    page.fill("#id_quantity", "2")
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    [add_to_cart] = wait_for_event(page, "add_to_cart")
    assert add_to_cart["value"] == 119.8 and add_to_cart["items"][0]["quantity"] == 2
    page.wait_for_function("() => (window.__fbq || []).some(c => c[1] === 'AddToCart')")

    # 5. Checkout: begin_checkout on the first step with the cart's value.
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    [begin] = wait_for_event(page, "begin_checkout")
    assert begin["value"] == 119.8 and begin["items"][0]["quantity"] == 2
    page.fill("#id_email", "gosc@example.com")
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")
    page.get_by_label("Kurier InPost", exact=False).check()
    page.fill("#id_first_name", "Gosia")
    page.fill("#id_last_name", "Gościnna")
    page.fill("#id_phone", "600 100 200")
    page.fill("#id_street", "Ogrodowa 1")
    page.fill("#id_postal_code", "00-950")
    page.fill("#id_city", "Warszawa")
    page.get_by_label("Za pobraniem", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_url("**/zamowienie/podsumowanie/")
    page.check("#id_accept_terms")
    page.get_by_test_id("place-order").click()

    # 6. The thank-you page: purchase with the order's real total, exactly once.
    page.wait_for_url(re.compile(r".*/zamowienie/[A-Za-z0-9_-]{20,}/$"))
    order = Order.objects.get()
    [purchase] = wait_for_event(page, "purchase")
    assert purchase["transaction_id"] == order.number
    assert Decimal(str(purchase["value"])) == order.total == Decimal("134.79")
    assert Decimal(str(purchase["shipping"])) == order.shipping_total
    # Google never sees the order's secret token in the page address.
    config = next(c[2] for c in calls(page) if c[0] == "config" and c[1] == GA4)
    assert order.token not in config["page_location"] and config["page_location"].endswith(
        "/zamowienie/:token/"
    )
    [conversion] = gtag_events(page, "conversion")
    assert conversion["send_to"] == f"{ADS}/{ADS_LABEL}" and conversion["transaction_id"] == order.number
    page.wait_for_function("() => (window.__fbq || []).some(c => c[1] === 'Purchase')")
    fb_purchase = next(c for c in calls(page, "__fbq") if c[1] == "Purchase")
    assert fb_purchase[2]["value"] == 134.79 and fb_purchase[3] == {"eventID": f"purchase-{order.number}"}
    page.reload()
    page.wait_for_function("() => (window.__gtag || []).some(c => c[0] === 'config')")
    page.wait_for_load_state("networkidle")
    assert gtag_events(page, "purchase") == [] and gtag_events(page, "conversion") == []
    assert not any(c[1] == "Purchase" for c in calls(page, "__fbq"))

    # 7. Withdraw marketing from the footer: after the reload only Google Analytics loads.
    page.get_by_test_id("consent-settings-link").click()
    assert page.locator("#consent-analytics").is_checked() and page.locator("#consent-marketing").is_checked()
    page.locator("#consent-marketing").uncheck()
    with page.expect_navigation():
        page.get_by_test_id("consent-save").click()
    outside.clear()
    page.wait_for_function("() => (window.__gtag || []).some(c => c[0] === 'config')")
    page.wait_for_load_state("networkidle")
    recorded = calls(page)
    update = next(c for c in recorded if c[0] == "consent" and c[1] == "update")[2]
    assert update["analytics_storage"] == "granted" and update["ad_storage"] == "denied"
    assert update["ad_user_data"] == "denied" and update["ad_personalization"] == "denied"
    configs = [c[1] for c in recorded if c[0] == "config"]
    assert configs == [GA4]
    assert not any("facebook" in url or "trustedshops" in url for url in outside)
    assert page.evaluate("() => typeof window.fbq === 'undefined' && !window.__trustbadge")
    # The proof of this third choice arrived too (sent with keepalive before the reload).
    for _ in range(100):
        if ConsentLog.objects.filter(consent_id=consent_id).count() == 3:
            break
        page.wait_for_timeout(100)
    assert list(ConsentLog.objects.order_by("pk").values_list("analytics", "marketing")) == [
        (False, False),
        (True, True),
        (True, False),
    ]
