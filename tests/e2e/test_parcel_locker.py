"""A shopper picks a parcel locker in a real browser: with JavaScript (search-as-you-type list on
the shop's own endpoint, backed by the fake InPost points API) through to a paid order with that
locker on it; and with JavaScript switched off, through the server-rendered search form."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.fakes.inpost_points import FakeInPostPoints
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def points_api(settings):
    from tests.orders.gateway_checkout import isolate_cache

    isolate_cache(settings)
    with FakeInPostPoints() as api:
        settings.INPOST_POINTS_API_URL = api.url
        settings.INPOST_POINTS_VALIDATE = True
        api.add_point("KRA01M", street="Pawia", building_number="5", latitude=50.0690, longitude=19.9440)
        api.add_point("KRA02N", street="Lubicz", building_number="17", latitude=50.0700, longitude=19.9500)
        api.add_point("KRA03X", status="NonOperating")
        yield api


@pytest.fixture
def shop(live_store, live_server, settings):
    settings.SITE_URL = live_server.url
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    product = ProductFactory(store=live_store, name="Kubek Koszyk", slug="kubek-koszyk")
    VariantFactory(product=product, stock=3, price=Decimal("59.90"))
    ShippingMethodFactory(
        store=live_store,
        code="paczkomat",
        name="Paczkomat InPost",
        kind="parcel_locker",
        price=Decimal("12.99"),
    )
    ShippingMethodFactory(store=live_store, code="kurier", name="Kurier DPD", price=Decimal("14.99"))
    PaymentMethodFactory(store=live_store, provider="test_gateway", name="Płatność online")
    PaymentMethodFactory(store=live_store, provider="bank_transfer", name="Przelew tradycyjny")
    return product


def to_delivery(page, product):
    page.goto(product.get_absolute_url())
    page.locator("form.add-to-cart button[type=submit]").click()
    page.wait_for_url("**/koszyk/")
    page.get_by_test_id("to-checkout").click()
    page.wait_for_url("**/zamowienie/")
    page.fill("#id_email", "ola@example.com")
    page.get_by_test_id("contact-next").click()
    page.wait_for_url("**/zamowienie/dostawa/")


def test_shopper_searches_by_postcode_picks_a_locker_and_pays(page, shop, points_api):
    to_delivery(page, shop)
    page.check("input[name=shipping_method][data-kind=parcel_locker]")
    assert page.get_by_test_id("pickup-point").is_visible()
    page.locator("#id_points_q").press_sequentially("31-154", delay=30)
    options = page.get_by_test_id("pickup-point-option")
    options.first.wait_for()
    assert options.count() == 2  # the closed locker is never offered
    page.locator("label.pickup-point-option", has_text="KRA02N").click()
    assert page.input_value("#id_pickup_point") == "KRA02N"
    chosen = page.get_by_test_id("pickup-point-chosen")
    assert "KRA02N" in chosen.inner_text() and "Lubicz 17, 31-154 Kraków" in chosen.inner_text()
    assert "24/7" in chosen.inner_text()
    page.fill("#id_first_name", "Ola")
    page.fill("#id_last_name", "Nowak")
    page.fill("#id_phone", "600 100 200")
    page.get_by_label("Płatność online", exact=False).check()
    page.get_by_test_id("delivery-next").click()

    page.wait_for_url("**/zamowienie/podsumowanie/")
    page.check("#id_accept_terms")
    page.get_by_test_id("place-order").click()
    page.wait_for_url("**/platnosc/test/**")
    page.get_by_test_id("gateway-pay").click()
    page.wait_for_url("**/zamowienie/**")
    page.locator('[data-testid=order-status][data-status="paid"]').wait_for()
    order = Order.objects.get()
    assert order.pickup_point == "KRA02N" and order.shipping_method_name == "Paczkomat InPost"
    assert not order.notes.exists()  # the locker was verified at checkout


def test_shopper_without_javascript_uses_the_server_rendered_search(browser, live_server, shop, points_api):
    context = browser.new_context(base_url=live_server.url, locale="pl-PL", java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        to_delivery(page, shop)
        page.check("input[name=shipping_method][data-kind=parcel_locker]")
        page.fill("#id_first_name", "Jan")
        page.fill("#id_last_name", "Bez Skryptów")
        page.fill("#id_phone", "600 100 200")
        page.get_by_label("Przelew tradycyjny", exact=False).check()
        page.fill("#id_points_q", "31-154")
        page.get_by_test_id("points-search").click()
        page.wait_for_load_state()
        options = page.get_by_test_id("pickup-point-option")
        assert options.count() == 2
        assert page.input_value("#id_first_name") == "Jan"  # nothing typed was lost
        assert page.input_value("#id_last_name") == "Bez Skryptów"
        page.check("input[name=pickup_point_choice][value=KRA01M]")
        page.get_by_test_id("delivery-next").click()

        page.wait_for_url("**/zamowienie/podsumowanie/")
        page.check("#id_accept_terms")
        page.get_by_test_id("place-order").click()
        page.wait_for_url("**/zamowienie/**")
        page.get_by_test_id("payment-instructions").wait_for()
        order = Order.objects.get()
        assert order.pickup_point == "KRA01M" and order.payment_provider == "bank_transfer"
    finally:
        context.close()


def test_a_closed_locker_typed_by_hand_is_refused_in_the_browser(page, shop, points_api):
    to_delivery(page, shop)
    page.check("input[name=shipping_method][data-kind=parcel_locker]")
    page.fill("#id_pickup_point", "KRA03X")
    page.fill("#id_first_name", "Ola")
    page.fill("#id_last_name", "Nowak")
    page.fill("#id_phone", "600 100 200")
    page.get_by_label("Płatność online", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_load_state()
    assert "Paczkomat KRA03X jest teraz nieczynny" in page.content()
    assert not Order.objects.exists()


def test_shopper_picks_a_locker_on_the_map(page, shop, points_api, settings):
    points_api.serve_geowidget()
    settings.INPOST_GEOWIDGET_TOKEN = "geo-token"
    settings.INPOST_GEOWIDGET_URL = points_api.url
    to_delivery(page, shop)
    page.check("input[name=shipping_method][data-kind=parcel_locker]")
    page.get_by_text("Wybierz na mapie").click()
    assert page.locator("inpost-geowidget").get_attribute("token") == "geo-token"
    page.get_by_test_id("map-point").filter(has_text="KRA01M").click()
    assert page.input_value("#id_pickup_point") == "KRA01M"
    chosen = page.get_by_test_id("pickup-point-chosen")
    assert "KRA01M" in chosen.inner_text() and "Pawia 5, 31-154 Kraków" in chosen.inner_text()
    page.fill("#id_first_name", "Ola")
    page.fill("#id_last_name", "Nowak")
    page.fill("#id_phone", "600 100 200")
    page.get_by_label("Płatność online", exact=False).check()
    page.get_by_test_id("delivery-next").click()
    page.wait_for_url("**/zamowienie/podsumowanie/")
    from orders.models import Cart

    assert Cart.objects.get().checkout["pickup_point"] == "KRA01M"
