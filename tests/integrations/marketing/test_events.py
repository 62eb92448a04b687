"""Storefront pages carry the e-commerce events as JSON data blocks with real values, never a
tracking call; purchase goes once and only to the shopper who placed the order."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations.marketing.models import PurchaseReport
from integrations.marketing.services import SESSION_KEY
from orders.models import Cart, Order
from tests.catalog.factories import CategoryFactory, ProductFactory, VariantFactory
from tests.integrations.marketing.factories import GA4, PIXEL, MarketingSettingsFactory, consent_cookie
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory, VoucherFactory
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
COOKIE = django_settings.MARKETING_CONSENT_COOKIE
TRACKING = ("gtag(", "fbq(", "googletagmanager.com", "connect.facebook.net", "widgets.trustedshops.com")


def events(response, name: str) -> list[dict]:
    html = response.content.decode()
    match = re.search(
        rf'<script id="marketing-event-{name}" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(match.group(1)) if match else []


def config(response) -> dict | None:
    match = re.search(
        r'<script id="marketing-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1)) if match else None


def no_tracking_calls(response) -> bool:
    html = response.content.decode()
    return not any(t in html for t in TRACKING)


def count_queries(fn) -> int:
    connection.queries_log.clear()  # a full log (maxlen) would make the capture look empty
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def agree(client, *, analytics=True, marketing=True):
    client.cookies[COOKIE] = consent_cookie(analytics=analytics, marketing=marketing)


@pytest.fixture
def tags(store):
    return MarketingSettingsFactory(store=store)


@pytest.fixture
def shop(store):
    return {
        "courier": ShippingMethodFactory(store=store, code="kurier", name="Kurier", price=D("14.99")),
        "cod": PaymentMethodFactory(store=store, provider="cod"),
        "online": PaymentMethodFactory(store=store, provider="test_gateway"),
    }


@pytest.fixture
def mug(store):
    parent = CategoryFactory(store=store, name="Kuchnia")
    category = CategoryFactory(store=store, name="Kubki", parent=parent)
    product = ProductFactory(store=store, name="Kubek </script><b>", brand="Koszyk", category=category)
    return VariantFactory(product=product, sku="KUB-1", name="Czerwony", price=D("59.90"), stock=10)


def add(client, variant, quantity=1):
    return client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": quantity})


def place(client, shop, *, payment="cod", email="anna@example.com", voucher=None) -> Order:
    assert client.post("/zamowienie/", {"email": email}).status_code == 302
    data = {
        "shipping_method": shop["courier"].pk,
        "payment_method": shop[payment].pk,
        "first_name": "Anna",
        "last_name": "Kowalska",
        "phone": "600100200",
        "street": "Długa 5",
        "postal_code": "00-950",
        "city": "Warszawa",
    }
    if voucher:
        client.post("/koszyk/kod/", {"code": voucher.code})
    assert client.post("/zamowienie/dostawa/", data).status_code == 302
    form = client.get("/zamowienie/podsumowanie/").context["form"]
    response = client.post(
        "/zamowienie/podsumowanie/",
        {
            "checkout_token": form.initial["checkout_token"],
            "expected_total": form.initial["expected_total"],
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302
    return Order.objects.latest("pk")


# --- configuration and banner --------------------------------------------------------------------


def test_store_without_tags_has_no_banner_no_config_no_script(client, store, mug):
    response = client.get(mug.product.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert config(response) is None and "consent-banner" not in html and "consent.js" not in html
    assert events(response, "view_item") == []


def test_pages_carry_config_and_banner_but_no_tracking_call(client, tags, mug):
    response = client.get(mug.product.get_absolute_url())
    html = response.content.decode()
    cfg = config(response)
    assert cfg["ga4"] == GA4 and cfg["pixel"] == PIXEL and cfg["version"] == "1.1"
    assert 'id="consent-banner"' in html and "data-consent-open" in html
    assert 'data-consent="reject"' in html and 'data-consent="accept"' in html
    assert no_tracking_calls(response)


def test_banner_is_translated_to_polish(client, tags, mug):
    html = client.get(mug.product.get_absolute_url()).content.decode()
    assert "Odrzuć wszystkie" in html and "Akceptuj wszystkie" in html


# --- view_item ------------------------------------------------------------------------------------


def test_view_item_carries_the_variant_price_sku_and_category_path(client, store, tags, mug):
    response = client.get(mug.product.get_absolute_url())
    [event] = events(response, "view_item")
    name, params = event["ga"]
    assert name == "view_item"
    assert params["currency"] == "PLN" and params["value"] == 59.9
    [item] = params["items"]
    assert item == {
        "item_id": "KUB-1",
        "item_name": "Kubek </script><b>",
        "price": 59.9,
        "quantity": 1,
        "item_variant": "Czerwony",
        "item_brand": "Koszyk",
        "item_category": "Kuchnia",
        "item_category2": "Kubki",
    }
    assert event["meta"] == [
        "ViewContent",
        {
            "content_ids": ["KUB-1"],
            "content_type": "product",
            "content_name": "Kubek </script><b>",
            "value": 59.9,
            "currency": "PLN",
        },
    ]
    # The hostile product name cannot close the data block.
    assert "Kubek </script><b>" not in response.content.decode().split("marketing-event-view_item")[1][:400]


def test_view_item_follows_the_chosen_variant(client, store, tags, mug):
    other = VariantFactory(product=mug.product, sku="KUB-2", name="Niebieski", price=D("64.00"), stock=3)
    response = client.get(mug.product.get_absolute_url() + f"?wariant={other.pk}")
    [event] = events(response, "view_item")
    assert event["ga"][1]["items"][0]["item_id"] == "KUB-2" and event["ga"][1]["value"] == 64.0


def test_product_page_queries_grow_by_a_small_constant(client, store, mug, django_assert_max_num_queries):
    url = mug.product.get_absolute_url()
    client.get(url)  # warm caches
    without = count_queries(lambda: client.get(url))
    MarketingSettingsFactory(store=store)
    client.get(url)  # the tag configuration is read once, then cached
    with django_assert_max_num_queries(without + 1):
        response = client.get(url)
    assert events(response, "view_item")


# --- add_to_cart / remove_from_cart ---------------------------------------------------------------


def test_add_to_cart_event_on_the_next_page_once(client, tags, mug):
    response = add(client, mug, 3)
    assert response.status_code == 302
    page = client.get(response["Location"])
    [event] = events(page, "flash")
    name, params = event["ga"]
    assert name == "add_to_cart" and params["value"] == 179.7 and params["currency"] == "PLN"
    assert params["items"][0]["quantity"] == 3 and params["items"][0]["item_id"] == "KUB-1"
    assert params["items"][0]["item_category"] == "Kubki"
    assert event["meta"][0] == "AddToCart"
    assert event["meta"][1]["content_ids"] == ["KUB-1"] and event["meta"][1]["value"] == 179.7
    assert events(client.get("/koszyk/"), "flash") == []  # shown once


def test_adding_more_of_a_line_reports_only_the_added_quantity(client, tags, mug):
    add(client, mug, 2)
    client.get("/koszyk/")
    add(client, mug, 1)
    [event] = events(client.get("/koszyk/"), "flash")
    assert event["ga"][1]["items"][0]["quantity"] == 1 and event["ga"][1]["value"] == 59.9


def test_update_and_remove_report_the_difference(client, tags, mug):
    add(client, mug, 2)
    client.get("/koszyk/")
    line = Cart.objects.get().lines.get()
    client.post(f"/koszyk/linia/{line.pk}/", {"quantity": 5})
    [event] = events(client.get("/koszyk/"), "flash")
    assert event["ga"][0] == "add_to_cart" and event["ga"][1]["items"][0]["quantity"] == 3
    client.post(f"/koszyk/linia/{line.pk}/usun/")
    [event] = events(client.get("/koszyk/"), "flash")
    assert event["ga"][0] == "remove_from_cart" and event["ga"][1]["value"] == 299.5
    assert "meta" not in event


@pytest.mark.parametrize(
    "data",
    [
        {"variant": "abc", "quantity": 1},
        {"variant": "", "quantity": 1},
        {"variant": "999999", "quantity": 1},
        {"variant": "{v}", "quantity": -5},
        {"variant": "{v}", "quantity": 10**15},
        {"variant": "{v}", "quantity": "x" * 10_000},
    ],
)
def test_refused_or_hostile_adds_report_nothing(client, tags, mug, data):
    data = {k: str(v).format(v=mug.pk) for k, v in data.items()}
    response = client.post("/koszyk/dodaj/", data)
    assert response.status_code in (302, 400)
    assert events(client.get("/koszyk/"), "flash") == []


def test_no_cart_events_are_kept_when_the_shopper_refused(client, tags, mug):
    agree(client, analytics=False, marketing=False)
    add(client, mug, 1)
    assert SESSION_KEY not in client.session
    assert events(client.get("/koszyk/"), "flash") == []


def test_pending_events_are_capped(client, tags, mug, settings):
    settings.MARKETING_MAX_PENDING_EVENTS = 3
    for _ in range(6):
        add(client, mug, 1)
    assert len(client.session[SESSION_KEY]) == 3


def test_a_corrupt_session_entry_is_ignored(client, tags, mug):
    add(client, mug, 1)
    session = client.session
    session[SESSION_KEY] = "not a list"
    session.save()
    assert client.get("/koszyk/").status_code == 200


def test_cart_page_view_cart_and_query_count(client, store, mug, django_assert_max_num_queries):
    add(client, mug, 2)
    client.get("/koszyk/")
    without = count_queries(lambda: client.get("/koszyk/"))
    MarketingSettingsFactory(store=store)
    client.get("/koszyk/")
    with django_assert_max_num_queries(without + 2):
        response = client.get("/koszyk/")
    [event] = events(response, "view_cart")
    assert event["ga"][0] == "view_cart" and event["ga"][1]["value"] == 119.8


# --- begin_checkout -------------------------------------------------------------------------------


def test_begin_checkout_carries_the_cart_value_items_and_coupon(client, store, tags, mug):
    VariantFactory(store=store, stock=5)
    voucher = VoucherFactory(store=store, code="RABAT10", value=D("10"))
    add(client, mug, 2)
    client.post("/koszyk/kod/", {"code": voucher.code})
    response = client.get("/zamowienie/")
    [event] = events(response, "begin_checkout")
    name, params = event["ga"]
    assert name == "begin_checkout"
    assert params["value"] == 107.82  # 119.80 - 10 %
    assert params["coupon"] == "RABAT10"
    assert params["items"][0]["quantity"] == 2 and params["items"][0]["discount"] == 5.99
    assert event["meta"][0] == "InitiateCheckout" and event["meta"][1]["num_items"] == 2
    assert no_tracking_calls(response)


def test_begin_checkout_not_on_a_form_shown_again_with_errors(client, tags, mug):
    add(client, mug, 1)
    response = client.post("/zamowienie/", {"email": "not-an-email"})
    assert response.status_code == 200 and events(response, "begin_checkout") == []


# --- purchase -------------------------------------------------------------------------------------


def test_purchase_carries_the_order_exactly_and_goes_once(client, store, tags, shop, mug):
    agree(client)
    add(client, mug, 2)
    order = place(client, shop)
    response = client.get(order.get_absolute_url())
    [event] = events(response, "purchase")
    name, params = event["ga"]
    assert name == "purchase"
    assert params["transaction_id"] == order.number
    assert D(str(params["value"])) == order.total == D("134.79")
    assert D(str(params["shipping"])) == order.shipping_total == D("14.99")
    assert D(str(params["tax"])) == order.total - order.total_net
    assert params["currency"] == "PLN"
    assert params["items"] == [
        {
            "item_id": "KUB-1",
            "item_name": "Kubek </script><b>",
            "price": 59.9,
            "quantity": 2,
            "item_variant": "Czerwony",
            "item_brand": "Koszyk",
            "item_category": "Kubki",
        }
    ]
    assert event["meta"] == [
        "Purchase",
        {
            "content_ids": ["KUB-1"],
            "contents": [{"id": "KUB-1", "quantity": 2}],
            "content_type": "product",
            "num_items": 2,
            "value": 134.79,
            "currency": "PLN",
        },
        {"eventID": f"purchase-{order.number}"},
    ]
    assert event["conversion"] == {"value": 134.79, "currency": "PLN", "transaction_id": order.number}
    assert no_tracking_calls(response)
    # Reload: nothing again.
    assert events(client.get(order.get_absolute_url()), "purchase") == []
    assert PurchaseReport.objects.filter(order=order).count() == 1


def test_purchase_with_voucher_reports_discounted_prices(client, store, tags, shop, mug):
    agree(client)
    voucher = VoucherFactory(store=store, code="RABAT10", value=D("10"))
    add(client, mug, 2)
    order = place(client, shop, voucher=voucher)
    params = events(client.get(order.get_absolute_url()), "purchase")[0]["ga"][1]
    assert params["coupon"] == "RABAT10"
    assert D(str(params["value"])) == order.total
    assert params["items"][0]["price"] == 53.91 and params["items"][0]["discount"] == 5.99


def test_purchase_never_for_another_shoppers_order(client, store, tags, shop, mug):
    agree(client)
    add(client, mug, 1)
    order = place(client, shop)
    stranger = Client()
    stranger.cookies[COOKIE] = consent_cookie(analytics=True, marketing=True)
    response = stranger.get(order.get_absolute_url())
    assert response.status_code == 200 and events(response, "purchase") == []
    assert not PurchaseReport.objects.exists()
    # The owner still gets it afterwards.
    assert events(client.get(order.get_absolute_url()), "purchase")


def test_purchase_for_a_logged_in_shopper_only_in_their_session(client, store, tags, shop, mug):
    user = UserFactory()
    client.force_login(user)
    agree(client)
    add(client, mug, 1)
    order = place(client, shop, email=user.email)
    assert order.user_id == user.pk
    other = Client()
    other.force_login(UserFactory())
    other.cookies[COOKIE] = consent_cookie(analytics=True, marketing=True)
    assert events(other.get(order.get_absolute_url()), "purchase") == []
    assert events(client.get(order.get_absolute_url()), "purchase")


def test_purchase_refused_consent_renders_nothing_and_claims_nothing(client, tags, shop, mug):
    agree(client, analytics=False, marketing=False)
    add(client, mug, 1)
    order = place(client, shop)
    assert events(client.get(order.get_absolute_url()), "purchase") == []
    assert not PurchaseReport.objects.exists()


def test_purchase_before_a_decision_is_rendered_but_not_claimed(client, tags, shop, mug):
    add(client, mug, 1)
    order = place(client, shop)
    assert events(client.get(order.get_absolute_url()), "purchase")
    assert not PurchaseReport.objects.exists()
    agree(client)
    assert events(client.get(order.get_absolute_url()), "purchase")  # now claimed
    assert events(client.get(order.get_absolute_url()), "purchase") == []


def test_purchase_not_for_old_or_cancelled_orders(client, tags, shop, mug, settings):
    agree(client)
    add(client, mug, 1)
    order = place(client, shop)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    assert events(client.get(order.get_absolute_url()), "purchase") == []
    Order.objects.filter(pk=order.pk).update(status=Order.Status.NEW)
    settings.MARKETING_PURCHASE_WINDOW_HOURS = 0
    assert events(client.get(order.get_absolute_url()), "purchase") == []


def test_order_page_queries_grow_by_a_small_constant(client, store, shop, mug, django_assert_max_num_queries):
    agree(client)
    add(client, mug, 1)
    order = place(client, shop)
    client.get(order.get_absolute_url())
    without = count_queries(lambda: client.get(order.get_absolute_url()))
    MarketingSettingsFactory(store=store)
    client.get("/")  # config cached
    with django_assert_max_num_queries(without + 4):
        response = client.get(order.get_absolute_url())
    assert events(response, "purchase")


# --- the consent cookie ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "v=1.1&a=2&m=1",
        "v=0.1&a=1&m=1",  # another banner version: ask again
        "v=1.1&a=1",
        "v=1.1&a=1&m=1&a=0",
        "%ff%fe&&&==",
        "v=1.1&a=1&m=1&" + "x=1&" * 500,
        "<script>alert(1)</script>",
    ],
)
def test_malformed_consent_cookies_count_as_undecided(client, tags, shop, mug, value):
    client.cookies[COOKIE] = value
    add(client, mug, 1)
    response = client.get("/koszyk/")
    assert response.status_code == 200 and events(response, "flash")
    order = place(client, shop)
    assert events(client.get(order.get_absolute_url()), "purchase")
    assert not PurchaseReport.objects.exists()  # undecided: never claimed


def test_consent_revision_asks_again(client, store, tags, shop, mug):
    tags.consent_revision = 2
    tags.save()
    agree(client)  # written for revision 1
    add(client, mug, 1)
    order = place(client, shop)
    assert config(client.get("/koszyk/"))["version"] == "1.2"
    client.get(order.get_absolute_url())
    assert not PurchaseReport.objects.exists()


def test_other_stores_config_never_leaks(client, store, mug):
    MarketingSettingsFactory(store=StoreFactory(), ga4_measurement_id="G-OTHERSTORE1")
    response = client.get(mug.product.get_absolute_url())
    assert config(response) is None and "G-OTHERSTORE1" not in response.content.decode()


# --- robustness -----------------------------------------------------------------------------------


def test_json_add_to_cart_keeps_the_event_for_the_next_page(client, tags, mug):
    response = client.post(
        "/koszyk/dodaj/", {"variant": mug.pk, "quantity": 2}, headers={"Accept": "application/json"}
    )
    assert response.json()["ok"] is True
    [event] = events(client.get("/koszyk/"), "flash")
    assert event["ga"][1]["items"][0]["quantity"] == 2


def test_a_failure_in_the_tags_never_breaks_adding_to_cart(client, tags, mug, monkeypatch):
    from integrations.marketing import selectors

    def boom(*args, **kwargs):
        raise RuntimeError("analytics bug")

    monkeypatch.setattr(selectors, "cart_change_events", boom)
    response = add(client, mug, 1)
    assert response.status_code == 302
    assert Cart.objects.get().lines.get().quantity == 1
    assert client.get("/koszyk/").status_code == 200


def test_a_failure_in_the_purchase_event_never_breaks_the_thank_you_page(
    client, tags, shop, mug, monkeypatch
):
    from integrations.marketing import selectors

    agree(client)
    add(client, mug, 1)
    order = place(client, shop)
    monkeypatch.setattr(selectors, "purchase_event", lambda *a, **k: 1 / 0)
    response = client.get(order.get_absolute_url())
    assert response.status_code == 200 and events(response, "purchase") == []


def test_claim_is_once_per_order(client, tags, shop, mug):
    from integrations.marketing.services import claim_purchase

    add(client, mug, 1)
    order = place(client, shop)
    assert claim_purchase(order=order) is True
    assert claim_purchase(order=order) is False
    assert PurchaseReport.objects.filter(order=order).count() == 1


def test_product_without_category_or_brand(client, store, tags):
    variant = VariantFactory(
        product=ProductFactory(store=store, name="Gadżet", brand=""), sku="G-1", price=D("9.99")
    )
    [event] = events(client.get(variant.product.get_absolute_url()), "view_item")
    item = event["ga"][1]["items"][0]
    assert item["item_id"] == "G-1" and "item_category" not in item and "item_brand" not in item


def test_changing_the_tags_rebuilds_cached_catalog_pages(client, store, mug):
    url = mug.product.get_absolute_url()
    first = client.get(url)
    assert config(first) is None
    assert config(client.get(url)) is None  # served from the page cache now
    tags = MarketingSettingsFactory(store=store)
    assert config(client.get(url))["ga4"] == GA4
    tags.ga4_measurement_id = "G-NEWID123456"
    tags.save()
    assert config(client.get(url))["ga4"] == "G-NEWID123456"
    tags.delete()
    assert config(client.get(url)) is None
