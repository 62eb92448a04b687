"""Parcel lockers in the storefront: the search endpoint, the delivery step (with and without
JavaScript), validation at the delivery step and again at place-order, the fallback when the
points API is down (with the order's internal note), bad input, and the delivery step's queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from orders import services
from orders.models import Cart, Order
from orders.pickup_points import OUTAGE_KEY
from tests.catalog.factories import VariantFactory
from tests.fakes.http_server import FakeResponse
from tests.fakes.inpost_points import FakeInPostPoints
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db
EN = {"django_language": "en"}
SEARCH = "/zamowienie/paczkomaty/"
DELIVERY = "/zamowienie/dostawa/"


@pytest.fixture
def points_api(settings):
    from tests.orders.gateway_checkout import isolate_cache

    isolate_cache(settings)
    with FakeInPostPoints() as api:
        settings.INPOST_POINTS_API_URL = api.url
        settings.INPOST_POINTS_VALIDATE = True
        settings.INPOST_POINTS_RETRIES = 0
        api.add_point("KRA01M", latitude=50.0690, longitude=19.9440)
        api.add_point("KRA02N", latitude=50.0800, longitude=19.9600, payment_available=False)
        api.add_point("KRA03X", status="NonOperating")
        yield api


@pytest.fixture
def shop(store):
    locker = ShippingMethodFactory(
        store=store, code="paczkomat", name="Paczkomat InPost", kind="parcel_locker", price=Decimal("12.99")
    )
    courier = ShippingMethodFactory(store=store, code="kurier", name="Kurier", price=Decimal("14.99"))
    online = PaymentMethodFactory(store=store, provider="test_gateway", name="Online")
    cod = PaymentMethodFactory(store=store, provider="cod", name="Za pobraniem")
    return {"locker": locker, "courier": courier, "online": online, "cod": cod}


@pytest.fixture
def shopper(client, store, shop):
    client.cookies.load(EN)
    variant = VariantFactory(store=store, stock=5, price=Decimal("40.00"))
    client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": 1})
    assert client.post("/zamowienie/", {"email": "ola@example.com"}).status_code == 302
    return client


def delivery(shop, **extra) -> dict:
    return {
        "shipping_method": shop["locker"].pk,
        "payment_method": shop["online"].pk,
        "first_name": "Ola",
        "last_name": "Nowak",
        "phone": "600100200",
        **extra,
    }


# --- the search endpoint --------------------------------------------------------------------


def test_search_endpoint_answers_json_nearest_first(client, store, points_api):
    client.cookies.load(EN)
    response = client.get(SEARCH, {"q": "31-154"}, headers={"Accept": "application/json"})
    assert response.status_code == 200
    data = response.json()
    assert [p["name"] for p in data["points"]] == ["KRA01M", "KRA02N"]
    first = data["points"][0]
    assert first["address"] == "Pawia 5, 31-154 Kraków" and first["hours"] == "24/7"
    assert first["location_description"] and first["payment_available"] is True
    assert response["Cache-Control"] == "private, max-age=60"


def test_search_endpoint_html_page_for_a_browser_without_javascript(client, store, points_api):
    client.cookies.load(EN)
    response = client.get(SEARCH, {"q": "Kraków"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "KRA01M" in html and "Pawia 5, 31-154 Kraków" in html


@pytest.mark.parametrize(
    "query",
    [{}, {"q": ""}, {"q": "<svg onload=alert(1)>"}, {"q": "x" * 5000}, {"q": "a"}, {"lat": "x", "lng": "1"}],
)
def test_search_endpoint_refuses_bad_input_with_a_clear_400(client, store, points_api, query):
    client.cookies.load(EN)
    response = client.get(SEARCH, query, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] and response.json()["points"] == []
    assert points_api.requests == []
    html = client.get(SEARCH, query)
    assert html.status_code == 400 and "<svg" not in html.content.decode()


def test_search_endpoint_is_rate_limited_per_ip(client, store, points_api, settings):
    settings.INPOST_POINTS_SEARCH_RATE_LIMIT = 3
    client.cookies.load(EN)
    for _ in range(3):
        assert client.get(SEARCH, {"q": "31-154", "format": "json"}).status_code == 200
    response = client.get(SEARCH, {"q": "31-154", "format": "json"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many searches" in response.json()["error"]


def test_search_endpoint_says_503_when_the_api_is_down(client, store, points_api):
    points_api.fail_with = FakeResponse(503, b"maintenance")
    client.cookies.load(EN)
    response = client.get(SEARCH, {"q": "31-154", "format": "json"})
    assert response.status_code == 503 and "Type the locker's code instead" in response.json()["error"]
    assert response["Retry-After"]


def test_search_endpoint_only_answers_get(client, store, points_api):
    assert client.post(SEARCH, {"q": "31-154"}).status_code == 405


# --- the delivery step ----------------------------------------------------------------------


def test_delivery_step_shows_the_picker_without_a_map_when_no_token(shopper, points_api, settings):
    settings.INPOST_GEOWIDGET_TOKEN = ""
    html = shopper.get(DELIVERY).content.decode()
    assert 'data-testid="pickup-point"' in html and "js/pickup-point.js" in html
    assert "inpost-geowidget" not in html
    assert 'name="points_search"' in html


def test_delivery_step_embeds_the_geowidget_when_the_store_has_a_token(shopper, points_api, settings):
    settings.INPOST_GEOWIDGET_TOKEN = "geo-token-123"
    html = shopper.get(DELIVERY).content.decode()
    assert '<inpost-geowidget token="geo-token-123" language="en" config="parcelCollect"' in html
    assert 'onpoint="koszyk:inpost-point"' in html
    assert "https://geowidget.inpost.pl/inpost-geowidget.js" in html
    assert "https://geowidget.inpost.pl/inpost-geowidget.css" in html


def test_no_js_search_keeps_what_was_typed_and_lists_lockers_as_radios(shopper, shop, points_api):
    data = delivery(shop, points_q="31-154", points_search="1", first_name="Ola", last_name="")
    response = shopper.post(DELIVERY, data)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"pickup_point"}  # only "choose one": no other complaints yet
    html = response.content.decode()
    assert html.count('name="pickup_point_choice"') == 2
    assert 'value="Ola"' in html and 'value="31-154"' in html
    assert Cart.objects.get().checkout in (None, {})  # nothing saved by a search


def test_no_js_choice_from_the_list_is_saved_with_its_details(shopper, shop, points_api):
    response = shopper.post(DELIVERY, delivery(shop, pickup_point="", pickup_point_choice="KRA01M"))
    assert response.status_code == 302
    answers = Cart.objects.get().checkout
    assert answers["pickup_point"] == "KRA01M" and answers["pickup_point_verified"] is True
    assert answers["pickup_point_details"] == {
        "name": "KRA01M",
        "address": "Pawia 5, 31-154 Kraków",
        "hours": "24/7",
        "description": "Przy wejściu do sklepu",
    }
    html = shopper.get(DELIVERY).content.decode()
    assert "Chosen parcel locker" in html and "Pawia 5, 31-154 Kraków" in html


@pytest.mark.parametrize(
    ("code", "payment", "message"),
    [
        ("NOP99X", "online", "There is no parcel locker NOP99X"),
        ("KRA03X", "online", "out of service"),
        ("KRA02N", "cod", "cannot receive a cash on delivery parcel"),
        ("??", "online", "is not a parcel locker code"),
    ],
)
def test_delivery_step_refuses_unknown_closed_and_cod_less_lockers(
    shopper, shop, points_api, code, payment, message
):
    response = shopper.post(DELIVERY, delivery(shop, pickup_point=code, payment_method=shop[payment].pk))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["pickup_point"])
    assert not (Cart.objects.get().checkout or {}).get("pickup_point")


@pytest.mark.parametrize(
    "extra",
    [
        {"pickup_point": "K" * 5000},
        {"pickup_point_choice": "<script>x</script>"},
        {"pickup_point_choice": "A" * 500, "pickup_point": "KRA01M"},
        {"points_q": "z" * 5000, "points_search": "1"},
        {"points_q": "\x00\x00", "points_search": "1"},
    ],
)
def test_delivery_step_survives_hostile_locker_input(shopper, shop, points_api, extra):
    response = shopper.post(DELIVERY, delivery(shop, **extra))
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert response.context["form"].errors
        assert "<script>x</script>" not in response.content.decode()


def test_api_down_accepts_the_pattern_and_the_order_gets_a_note(
    shopper, shop, points_api, caplog, django_capture_on_commit_callbacks
):
    points_api.fail_with = FakeResponse(503, b"down")
    with caplog.at_level("WARNING"):
        response = shopper.post(DELIVERY, delivery(shop, pickup_point="KRA01M"))
    assert response.status_code == 302
    assert Cart.objects.get().checkout["pickup_point_verified"] is False
    assert "accepted by its pattern only" in caplog.text
    summary = shopper.get("/zamowienie/podsumowanie/")
    form = summary.context["form"]
    with django_capture_on_commit_callbacks(execute=True):  # delivers order.created to its handlers
        placed = shopper.post(
            "/zamowienie/podsumowanie/",
            {
                "checkout_token": form.initial["checkout_token"],
                "expected_total": form.initial["expected_total"],
                "accept_terms": "on",
            },
        )
    assert placed.status_code == 302
    order = Order.objects.get()
    assert order.pickup_point == "KRA01M"
    assert "could not be checked with InPost" in order.notes.get().text


def test_place_order_checks_the_locker_again(store, shop, points_api):
    from tests.orders.factories import ready_cart

    variant = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(variant, 1)], shipping=shop["locker"], answers={"pickup_point": "KRA01M"})
    # The locker went out of service after the delivery step.
    points_api.points["KRA01M"]["status"] = "NonOperating"
    with pytest.raises(services.CheckoutError, match="out of service") as exc:
        services.place_order(cart=cart)
    assert exc.value.field == "delivery"
    points_api.points["KRA01M"]["status"] = "Operating"
    from django.core.cache import cache

    cache.clear()
    order = services.place_order(cart=cart)
    assert order.pickup_point == "KRA01M" and not order.notes.exists()


def test_place_order_refuses_cod_to_a_locker_without_payments(store, shop, points_api):
    from tests.orders.factories import ready_cart

    variant = VariantFactory(store=store, stock=5)
    cart = ready_cart(
        store,
        [(variant, 1)],
        shipping=shop["locker"],
        payment="cod",
        answers={"pickup_point": "KRA02N", "pickup_point_cod": True},
    )
    with pytest.raises(services.CheckoutError, match="cash on delivery"):
        services.place_order(cart=cart)


def test_order_note_when_the_locker_closed_before_the_handler_ran(store, shop, points_api):
    from orders.pickup_points import check_order_point
    from tests.orders.factories import ready_cart

    variant = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(variant, 1)], shipping=shop["locker"], answers={"pickup_point": "KRA01M"})
    order = services.place_order(cart=cart)
    assert not order.notes.exists()  # checked and fine at placement
    from django.core.cache import cache

    cache.clear()
    points_api.points["KRA01M"]["status"] = "NonOperating"

    class Event:
        payload = {"order_id": order.pk}

    check_order_point(Event())
    check_order_point(Event())  # safe to run twice: one note
    assert order.notes.count() == 1 and "out of service" in order.notes.get().text


def test_courier_orders_never_ask_the_points_api(shopper, shop, points_api):
    data = delivery(
        shop, shipping_method=shop["courier"].pk, street="Długa 5", postal_code="00-950", city="Warszawa"
    )
    assert shopper.post(DELIVERY, data).status_code == 302
    assert points_api.requests == []


def test_delivery_step_queries_do_not_grow_with_search_results(
    shopper, shop, points_api, django_assert_max_num_queries
):
    for n in range(20):
        points_api.add_point(f"KRA{n + 10}M", latitude=50.07 + n / 1000, longitude=19.94)
    shopper.get(DELIVERY)  # warm the session and store caches
    with django_assert_max_num_queries(9):
        response = shopper.post(DELIVERY, delivery(shop, points_q="31-154", points_search="1"))
    assert response.status_code == 200
    with django_assert_max_num_queries(9):
        assert shopper.get(DELIVERY).status_code == 200
    from django.core.cache import cache

    assert cache.get(OUTAGE_KEY) is None


def test_search_url_is_reversible():
    assert reverse("orders:pickup-points") == SEARCH


def test_search_errors_are_polish_by_default(client, store, points_api):
    response = client.get(SEARCH, {"q": "<b>", "format": "json"})
    assert response.status_code == 400
    assert "Szukaj po kodzie pocztowym" in response.json()["error"]


def test_marketplace_orders_are_not_judged_by_the_inpost_check(store, shop, points_api):
    from orders.pickup_points import check_order_point
    from tests.orders.factories import ready_cart

    variant = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(variant, 1)], shipping=shop["locker"], answers={"pickup_point": "KRA01M"})
    order = services.place_order(cart=cart)
    Order.objects.filter(pk=order.pk).update(channel=Order.Channel.MARKETPLACE, pickup_point="ALLEGRO-123")
    points_api.fail_with = FakeResponse(503, b"down")

    class Event:
        payload = {"order_id": order.pk}

    check_order_point(Event())
    assert not order.notes.exists()
