"""Content pages in a real browser: the footer reaches the published pages (never a draft), the
checkout's terms link opens the terms in a new tab, a contact message sent by a person arrives,
and no content page scrolls sideways on a 360 px phone."""

from __future__ import annotations

from decimal import Decimal

import pytest

from content import pages
from content.models import ContactMessage, Page
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.e2e


def test_footer_links_reach_the_published_pages_and_a_contact_message_arrives(page, live_store, mailoutbox):
    pages.publish(page=Page.objects.get(store=live_store, kind="contact"))
    page.goto("/strona/regulamin/")
    footer = page.locator("footer.site-footer")
    assert footer.get_by_role("link", name="Polityka prywatności").count() == 1
    assert footer.get_by_role("link", name="Dostawa i płatności").count() == 0  # a draft
    footer.get_by_role("link", name="Polityka prywatności").click()
    page.wait_for_url("**/strona/polityka-prywatnosci/")
    assert page.locator("h1").inner_text() == "Polityka prywatności"

    page.locator("footer.site-footer").get_by_role("link", name="Formularz odstąpienia od umowy").click()
    page.wait_for_url("**/odstapienie-od-umowy/")
    assert "Sklep Testowy sp. z o.o." in page.get_by_test_id("withdrawal-form").inner_text()

    page.locator("footer.site-footer").get_by_role("link", name="Kontakt").click()
    page.wait_for_url("**/strona/kontakt/")
    page.fill("#id_name", "Anna Nowak")
    page.fill("#id_email", "anna@example.com")
    page.fill("#id_subject", "Pytanie o dostawę")
    page.fill("#id_message", "Czy wysyłacie paczki za granicę?")
    page.wait_for_timeout(3200)  # a person takes longer than the 3-second minimum
    page.get_by_role("button", name="Wyślij wiadomość").click()
    page.get_by_text("Dziękujemy, wiadomość została wysłana.").wait_for()
    message = ContactMessage.objects.get()
    assert message.subject == "Pytanie o dostawę" and message.emailed_at is not None
    assert any("Pytanie o dostawę" in m.subject for m in mailoutbox)


def test_the_checkout_terms_link_opens_the_terms_in_a_new_tab(page, live_server, live_store, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory(store=live_store, name="Kubek", slug="kubek")
    VariantFactory(product=product, stock=3, price=Decimal("30.00"))
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier InPost", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="bank_transfer", name="Przelew")

    page.goto(product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.get_by_test_id("to-checkout").click()
    page.fill("#id_email", "gosc@example.com")
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")
    page.get_by_label("Kurier InPost", exact=False).check()
    page.fill("#id_first_name", "Gosia")
    page.fill("#id_last_name", "Nowak")
    page.fill("#id_phone", "600 100 200")
    page.fill("#id_street", "Ogrodowa 1")
    page.fill("#id_postal_code", "00-950")
    page.fill("#id_city", "Warszawa")
    page.get_by_label("Przelew", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_url("**/zamowienie/podsumowanie/")

    with page.expect_popup() as popup:
        page.get_by_test_id("terms-link").click()
    terms = popup.value
    terms.wait_for_load_state()
    assert terms.url.endswith("/strona/regulamin/")
    assert terms.locator("h1").inner_text() == "Regulamin sklepu"
    terms.close()

    page.check("#id_accept_terms")
    page.get_by_test_id("place-order").click()
    page.wait_for_url(lambda url: "podsumowanie" not in url)
    from orders.models import Order

    order = Order.objects.get()
    assert order.terms_acceptance.terms.page.kind == "terms"


def test_no_content_page_scrolls_sideways_on_a_phone(browser, live_server, live_store, settings):
    settings.ALLOWED_HOSTS = ["*"]
    for page_ in Page.objects.filter(store=live_store):
        pages.publish(page=page_)
    context = browser.new_context(
        base_url=live_server.url, locale="pl-PL", viewport={"width": 360, "height": 740}
    )
    phone = context.new_page()
    try:
        for path in (
            "/strona/regulamin/",
            "/strona/polityka-prywatnosci/",
            "/strona/dostawa-i-platnosci/",
            "/strona/kontakt/",
            "/odstapienie-od-umowy/",
        ):
            phone.goto(path)
            width = phone.evaluate("document.scrollingElement.scrollWidth")
            assert width <= 360, f"{path} scrolls sideways ({width}px)"
    finally:
        context.close()
