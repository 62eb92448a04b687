"""Every storefront page fits a 360 px phone: nothing scrolls sideways.

A real Chromium at 360 × 740 walks the shop as a shopper would -- home, category, search, a
product with variants, a cart whose lines have long names, the checkout steps, login,
registration, password reset, e-mail verification, the account (orders, an order, returns, a
return, addresses, downloads), a guest's order page and return form, and the 404 page -- and on
each asserts ``document.documentElement.scrollWidth <= clientWidth``; a failure names the
elements that stick out.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from orders import accounts, returns
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    DigitalVariantFactory,
    PreorderVariantFactory,
    ProductFactory,
    VariantFactory,
)
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.orders.factories_after_sales import AddressFactory, make_order
from tests.shop.factories import UserFactory

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
LONG = "Konstantynopolitańczykowianeczka"  # one word wider than a 360 px column at body size

# Elements that stick out of the viewport, ignoring those inside a sideways-scrolling strip
# (the category bar) or clipped away (visually hidden labels).
WIDE_ELEMENTS = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 0.5 && !clipped(el)) {
      out.push(`${el.tagName.toLowerCase()}.${el.className} (right edge ${Math.round(r.right)} px)`);
    }
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth && getComputedStyle(el).overflowX === "visible"
        && !clipped(el) && el.children.length === 0) {
      out.push(`${el.tagName.toLowerCase()}.${el.className} (text ${el.scrollWidth} px in ${el.clientWidth} px)`);
    }
  }
  return out.slice(0, 10);
}"""


def assert_fits(page, what: str) -> None:
    page.wait_for_load_state("load")
    scroll, client = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert client == PHONE["width"], what
    assert scroll <= client, f"{what} ({page.url}) is {scroll} px wide: {page.evaluate(WIDE_ELEMENTS)}"


@pytest.fixture
def phone(browser, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def shop(live_store):
    category = CategoryFactory(store=live_store, name="Sukienki i spódnice wieczorowe", slug="sukienki")
    size = AttributeFactory(store=live_store, name="Rozmiar", slug="rozmiar", position=1)
    colour = AttributeFactory(store=live_store, name="Kolor", slug="kolor", position=2)
    s = AttributeValueFactory(attribute=size, value="S", slug="s")
    m = AttributeValueFactory(attribute=size, value="M", slug="m")
    red = AttributeValueFactory(attribute=colour, value="Czerwony", slug="czerwony", color="#c00000")
    navy = AttributeValueFactory(attribute=colour, value="Granatowy", slug="granatowy", color="#1f3a5f")
    dress = ProductFactory(
        store=live_store,
        category=category,
        name=f"Sukienka wieczorowa {LONG} z koronki szydełkowanej, długa, rozkloszowana",
        slug="sukienka",
        variant_attributes=[size, colour],
    )
    dress_variants = [
        VariantFactory(
            product=dress,
            name=f"{a.value} / {b.value}",
            attribute_values=[a, b],
            stock=5,
            price=Decimal("1299.99"),
            compare_at_price=Decimal("1599.99"),
        )
        for a in (s, m)
        for b in (red, navy)
    ]
    coat = VariantFactory(
        store=live_store,
        product__category=category,
        product__name=f"Płaszcz zimowy {LONG}owy wełniany z kapturem i paskiem",
        product__slug="plaszcz",
        stock=3,
        low_stock_threshold=5,
        price=Decimal("12345.67"),
    )
    PreorderVariantFactory(store=live_store, product__category=category, product__name="Przedsprzedaż: saga")
    DigitalVariantFactory(store=live_store, product__category=category, product__name="E-book o szyciu")
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier InPost", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="bank_transfer", name="Przelew tradycyjny")

    user = UserFactory(email="ola.konstantynopolitanczykowianeczka@example.com")
    user.set_password("Haslo-Telefon-2026")
    user.save()
    accounts.mark_email_verified(user=user)
    AddressFactory(user=user)
    order = make_order(store=live_store, lines=[(dress_variants[0], 1), (coat, 1)], user=user)
    ret = returns.request_return(
        order=order, items={order.lines.first().pk: 1}, reason="withdrawal", user=user
    )
    guest = make_order(store=live_store, lines=[(dress_variants[1], 2)], email=user.email)
    return {"dress": dress, "coat": coat, "user": user, "order": order, "ret": ret, "guest": guest}


def test_no_storefront_page_scrolls_sideways_on_a_360_px_phone(phone, shop, live_store):
    page = phone
    dress, user, order = shop["dress"], shop["user"], shop["order"]

    for url, what in [
        ("/", "home"),
        ("/k/sukienki/", "category"),
        ("/szukaj/?q=sukienka", "search"),
        (dress.get_absolute_url(), "product with variants"),
        (shop["coat"].product.get_absolute_url(), "product, last items"),
    ]:
        page.goto(url)
        assert_fits(page, what)

    # A cart with long names: the dress, then the coat.
    page.goto(dress.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.goto(shop["coat"].product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    assert page.get_by_test_id("cart-line").count() == 2
    assert_fits(page, "cart")

    # Checkout: contact, delivery, summary.
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    assert_fits(page, "checkout: contact")
    page.fill("#id_email", "gosc.konstantynopolitanczykowianeczka@example.com")
    page.locator("#id_email").blur()
    page.get_by_text("Zapisano.").wait_for()
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")
    page.wait_for_url("**/zamowienie/dostawa/")
    assert_fits(page, "checkout: delivery")
    page.get_by_label("Kurier InPost", exact=False).check()
    page.fill("#id_first_name", "Gosia")
    page.fill("#id_last_name", "Gościnna")
    page.fill("#id_phone", "600 100 200")
    page.fill("#id_street", f"Aleja {LONG}a 123/45")
    page.fill("#id_postal_code", "00-950")
    page.fill("#id_city", "Warszawa")
    page.get_by_label("Przelew tradycyjny", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_url("**/zamowienie/podsumowanie/")
    assert_fits(page, "checkout: summary")

    # A guest's order page and return form, reached through the order's secret token.
    page.goto(order.get_absolute_url())
    assert_fits(page, "order page")
    page.goto(reverse("orders:account:guest_return_request", kwargs={"token": order.token}))
    assert_fits(page, "guest return form")

    for url, what in [
        (reverse("orders:account:register"), "registration"),
        (reverse("orders:account:password_reset"), "password reset"),
        (reverse("orders:account:password_reset_done"), "password reset: check your inbox"),
        ("/konto/haslo/reset/MQ/zly-token/", "password reset: bad link"),
        (
            reverse("orders:account:verify_email", kwargs={"token": accounts.verification_token(user)}),
            "verify",
        ),
    ]:
        page.goto(url)
        assert_fits(page, what)
    assert page.goto("/nie-ma-takiej-strony/").status == 404
    assert_fits(page, "404")

    # Log in through the page, then the account.
    page.goto(reverse("orders:login"))
    assert_fits(page, "login")
    page.fill("#id_username", user.email)
    page.fill("#id_password", "Haslo-Telefon-2026")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/logowanie/" not in url)
    for url, what in [
        (reverse("orders:account:dashboard"), "account"),
        (reverse("orders:account:orders"), "account: orders"),
        (reverse("orders:account:order", kwargs={"number": order.number}), "account: order detail"),
        (reverse("orders:account:return_request", kwargs={"number": order.number}), "account: return form"),
        (reverse("orders:account:returns"), "account: returns"),
        (reverse("orders:account:return", kwargs={"pk": shop["ret"].pk}), "account: return"),
        (reverse("orders:account:addresses"), "account: addresses"),
        (reverse("orders:account:address_add"), "account: new address"),
        (reverse("orders:account:downloads"), "account: downloads"),
    ]:
        page.goto(url)
        assert_fits(page, what)
    # The account page offers the guest order (the address is verified) and it fits too.
    page.goto(reverse("orders:account:dashboard"))
    assert shop["guest"].number in page.get_by_test_id("guest-orders").inner_text()
