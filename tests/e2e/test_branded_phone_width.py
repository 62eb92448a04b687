"""A branded store fits a 360 px phone too: a wide logo, a hero banner with an image, a slider,
product and category blocks, an edited menu with a sub-level, the delivery line and the free
delivery bar -- home, product and cart, in a real Chromium."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from branding.models import HomeBlock
from branding.services import refresh_icons
from tests.branding.factories import HomeBlockFactory, MenuItemFactory, StoreBrandingFactory, png_bytes
from tests.catalog.factories import CategoryFactory, ProductGroupFactory, VariantFactory
from tests.e2e.test_phone_width import LONG, PHONE, assert_fits
from tests.orders.factories import ShippingMethodFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def phone(browser, live_server, settings):
    settings.ALLOWED_HOSTS = ["*"]
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def branded(live_store):
    shoes = CategoryFactory(store=live_store, name=f"Obuwie {LONG}", slug="obuwie")
    CategoryFactory(store=live_store, name="Dom", slug="dom")
    group = ProductGroupFactory(store=live_store, name="Bestsellery", slug="bestsellery")
    variant = VariantFactory(
        store=live_store,
        product__category=shoes,
        product__name=f"Trzewiki {LONG} skórzane",
        product__slug="trzewiki",
        price=Decimal("149.99"),
        stock=5,
    )
    group.products.add(variant.product)
    ShippingMethodFactory(
        store=live_store, code="kurier", price=Decimal("14.99"), free_shipping_threshold=Decimal("300")
    )
    branding = StoreBrandingFactory(store=live_store, primary_color="#123c5a", accent_color="#c2410c")
    branding.logo.save("logo.png", ContentFile(png_bytes((1200, 200))), save=True)
    refresh_icons(branding=branding)
    hero = HomeBlockFactory(
        branding=branding,
        kind=HomeBlock.Kind.HERO,
        heading=f"Wyprzedaż {LONG}",
        link="/g/bestsellery/",
        position=0,
    )
    hero.image.save(
        "hero.png", ContentFile(png_bytes((1600, 600), mode="RGB", color=(90, 40, 10))), save=True
    )
    for n in range(3):
        HomeBlockFactory(
            branding=branding, kind=HomeBlock.Kind.SLIDE, heading=f"Slajd {n} {LONG}", position=1
        )
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.PRODUCTS, group=group, position=2)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.CATEGORIES, position=3)
    HomeBlockFactory(branding=branding, kind=HomeBlock.Kind.TEXT, text=f"{LONG} " * 5, position=4)
    top = MenuItemFactory(branding=branding, label="", url="", category=shoes, position=0)
    MenuItemFactory(branding=branding, label=f"Promocje {LONG}", url="/g/bestsellery/", parent=top)
    for n in range(6):
        MenuItemFactory(branding=branding, label=f"Pozycja menu {n}", url=f"/p{n}/", position=n + 1)
    return {"product": variant.product}


def test_a_branded_home_product_and_cart_fit_a_360_px_phone(phone, branded):
    page = phone
    page.goto("/")
    assert page.locator("[data-testid=home-block]").count() == 5
    assert page.locator("header .brand img.logo").is_visible()
    assert_fits(page, "branded home")
    page.locator("[data-testid=store-menu] summary").first.click()  # the sub-level opens in place
    assert_fits(page, "branded home, menu open")
    page.goto(branded["product"].get_absolute_url())
    assert page.get_by_test_id("delivery-from").inner_text().startswith("Dostawa od 14,99")
    assert_fits(page, "branded product")
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    assert page.get_by_test_id("free-shipping").is_visible()
    assert page.locator(".line-image img").count() == 1
    assert_fits(page, "branded cart")
