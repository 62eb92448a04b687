"""Storefront pages: cart, checkout steps, order page; bad input never a 500; constant queries."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import StockItem
from orders.models import Cart, ConsentRecord, Order, Payment
from orders.selectors import CART_SESSION_KEY
from tests.catalog.factories import (
    DigitalAssetFactory,
    DigitalVariantFactory,
    GiftCardProductFactory,
    PreorderVariantFactory,
    VariantFactory,
    make_set,
)
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory, VoucherFactory
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
EN = {"django_language": "en"}


@pytest.fixture
def shop(store):
    courier = ShippingMethodFactory(
        store=store, code="kurier", name="Kurier InPost", price=D("14.99"), free_shipping_threshold=D("200")
    )
    locker = ShippingMethodFactory(
        store=store,
        code="paczkomat",
        name="Paczkomat InPost",
        kind="parcel_locker",
        price=D("12.99"),
        cash_on_delivery="no",
    )
    methods = {
        p: PaymentMethodFactory(store=store, provider=p) for p in ("test_gateway", "bank_transfer", "cod")
    }
    return {"courier": courier, "locker": locker, **methods}


@pytest.fixture
def browser(client):
    client.cookies.load(EN)
    return client


def add(client, variant, quantity=1, **extra):
    return client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": quantity, **extra})


def checkout(
    client, shop, *, shipping="courier", payment="test_gateway", email="anna@example.com", **answers
):
    assert client.post("/zamowienie/", {"email": email}).status_code == 302
    data = {
        "shipping_method": shop[shipping].pk if shipping else "",
        "payment_method": shop[payment].pk if payment else "",
        "first_name": "Anna",
        "last_name": "Kowalska",
        "phone": "600100200",
        "street": "Długa 5",
        "postal_code": "00-950",
        "city": "Warszawa",
        **answers,
    }
    response = client.post("/zamowienie/dostawa/", data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    summary = client.get("/zamowienie/podsumowanie/")
    assert summary.status_code == 200
    form = summary.context["form"]
    return {
        "checkout_token": form.initial["checkout_token"],
        "expected_total": form.initial["expected_total"],
        "accept_terms": "on",
    }


def test_add_to_cart_and_see_the_cart_with_free_shipping_progress(browser, store, shop):
    v = VariantFactory(store=store, stock=5, price=D("88.30"))
    response = add(browser, v, 2)
    assert response.status_code == 302 and response["Location"] == "/koszyk/"
    page = browser.get("/koszyk/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "23,40\xa0zł more for free delivery" in html
    assert "Kurier InPost: 14,99\xa0zł" in html and "Paczkomat InPost: 12,99\xa0zł" in html
    assert page.context["mini_cart"].quantity == 2


def test_free_shipping_message_is_polish_by_default(client, store, shop):
    v = VariantFactory(store=store, stock=5, price=D("88.30"))
    add(client, v, 2)
    assert "Brakuje 23,40\xa0zł do darmowej dostawy" in client.get("/koszyk/").content.decode()


@pytest.mark.parametrize(
    ("variant", "quantity"),
    [
        ("abc", 1),
        ("", 1),
        ("999999", 1),
        ("{v}", 0),
        ("{v}", -5),
        ("{v}", "x"),
        ("{v}", 10**15),
        ("{other}", 1),
    ],
)
def test_bad_add_to_cart_input_gives_a_message_never_a_500(browser, store, variant, quantity):
    v = VariantFactory(store=store, stock=5)
    other = VariantFactory(store=StoreFactory(), stock=5)
    data = {"variant": str(variant).format(v=v.pk, other=other.pk), "quantity": quantity}
    response = browser.post("/koszyk/dodaj/", data, follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages and not Cart.objects.filter(lines__isnull=False).exists()
    json_response = browser.post("/koszyk/dodaj/", data, headers={"Accept": "application/json"})
    assert json_response.status_code == 400 and json_response.json()["ok"] is False


def test_json_add_to_cart_for_progressive_enhancement(browser, store):
    v = VariantFactory(store=store, stock=5)
    response = browser.post("/koszyk/dodaj/", {"variant": v.pk}, headers={"Accept": "application/json"})
    assert response.json() == {"ok": True, "quantity": 1, "line_quantity": 1}


def test_update_and_remove_lines_only_in_your_own_cart(browser, store):
    v = VariantFactory(store=store, stock=5)
    add(browser, v)
    line = Cart.objects.get().lines.get()
    browser.post(f"/koszyk/linia/{line.pk}/", {"quantity": 3})
    line.refresh_from_db()
    assert line.quantity == 3
    response = browser.post(f"/koszyk/linia/{line.pk}/", {"quantity": "lots"}, follow=True)
    assert "whole number" in " ".join(str(m) for m in response.context["messages"])
    stranger = Client()
    stranger.cookies.load(EN)
    response = stranger.post(f"/koszyk/linia/{line.pk}/usun/", follow=True)
    assert response.status_code == 200 and "not in your cart" in " ".join(
        str(m) for m in response.context["messages"]
    )
    response = stranger.post(f"/koszyk/linia/{line.pk}/", {"quantity": 1}, follow=True)
    line.refresh_from_db()
    assert line.quantity == 3
    browser.post(f"/koszyk/linia/{line.pk}/usun/")
    assert not Cart.objects.get().lines.exists()


def test_codes_are_applied_and_guessing_is_rate_limited(browser, store, settings):
    settings.CODE_ATTEMPTS_LIMIT = 3
    v = VariantFactory(store=store, stock=5, price=D("100"))
    voucher = VoucherFactory(store=store, code="WITAJ10", value=D("10"))
    add(browser, v)
    response = browser.post("/koszyk/kod/", {"code": "witaj10"}, follow=True)
    assert "Code WITAJ10 applied" in response.content.decode()
    assert Cart.objects.get().voucher == voucher
    for _ in range(3):
        browser.post("/koszyk/kod/", {"code": "GUESS"})
    response = browser.post("/koszyk/kod/", {"code": "WITAJ10"}, follow=True)
    assert "Too many wrong codes" in response.content.decode()
    browser.post("/koszyk/kod/usun/", {"what": "voucher"})
    assert Cart.objects.get().voucher is None


def test_email_is_saved_on_blur_with_csrf(store):
    client = Client(enforce_csrf_checks=True)
    v = VariantFactory(store=store, stock=5)
    client.get("/koszyk/")
    page = client.get("/zamowienie/")
    assert page.status_code == 302  # empty cart: back to the cart
    token = str(client.get("/koszyk/").context["csrf_token"])
    client.post("/koszyk/dodaj/", {"variant": v.pk, "csrfmiddlewaretoken": token})
    page = client.get("/zamowienie/")
    html = page.content.decode()
    assert (
        'type="checkbox" name="marketing_consent"' in html
        and "checked" not in html.split("marketing_consent")[1][:40]
    )
    assert "I agree" in html or "Zgadzam" in html
    assert client.post("/zamowienie/email/", {"email": "a@example.com"}).status_code == 403  # no CSRF token
    bad = client.post("/zamowienie/email/", {"email": "nope", "csrfmiddlewaretoken": token})
    assert bad.status_code == 400 and bad.json()["ok"] is False
    ok = client.post(
        "/zamowienie/email/",
        {"email": "a@example.com", "marketing_consent": "on"},
        headers={"X-CSRFToken": token},
    )
    assert ok.status_code == 200
    cart = Cart.objects.get()
    assert cart.email == "a@example.com" and cart.marketing_consent and cart.consent_version
    assert ConsentRecord.objects.get().text == cart.consent_text


def test_delivery_step_validates_pickup_point_nip_and_cod(browser, store, shop):
    v = VariantFactory(store=store, stock=5)
    add(browser, v)
    browser.post("/zamowienie/", {"email": "a@example.com"})
    base = {
        "first_name": "A",
        "last_name": "B",
        "phone": "600100200",
        "payment_method": shop["test_gateway"].pk,
    }
    response = browser.post(
        "/zamowienie/dostawa/", {**base, "shipping_method": shop["locker"].pk, "pickup_point": "??"}
    )
    assert response.status_code == 200 and "pickup_point" in response.context["form"].errors
    response = browser.post(
        "/zamowienie/dostawa/",
        {
            **base,
            "shipping_method": shop["locker"].pk,
            "pickup_point": "KRA01M",
            "payment_method": shop["cod"].pk,
        },
    )
    assert "payment_method" in response.context["form"].errors
    response = browser.post(
        "/zamowienie/dostawa/",
        {
            **base,
            "shipping_method": shop["locker"].pk,
            "pickup_point": "kra01m",
            "wants_invoice": "on",
            "company_name": "ACME",
            "tax_id": "123",
            "billing_street": "a",
            "billing_postal_code": "00-001",
            "billing_city": "W",
        },
    )
    assert "tax_id" in response.context["form"].errors
    response = browser.post(
        "/zamowienie/dostawa/",
        {
            **base,
            "shipping_method": shop["locker"].pk,
            "pickup_point": "kra01m",
            "wants_invoice": "on",
            "company_name": "ACME",
            "tax_id": "PL 526-000-12-46",
            "billing_street": "a",
            "billing_postal_code": "00-001",
            "billing_city": "W",
        },
    )
    assert response.status_code == 302
    cart = Cart.objects.get()
    assert cart.checkout["pickup_point"] == "KRA01M" and cart.checkout["tax_id"] == "5260001246"
    response = browser.post("/zamowienie/dostawa/", {**base, "shipping_method": "999"})
    assert response.status_code == 200 and "shipping_method" in response.context["form"].errors


def test_guest_checkout_with_the_test_gateway_end_to_end(
    browser, store, shop, gateway_transport, django_capture_on_commit_callbacks
):
    v = VariantFactory(store=store, stock=5, price=D("50"))
    add(browser, v, 2)
    data = checkout(browser, shop)
    data["expected_total"] = "0.01"  # tampered: never a price
    response = browser.post("/zamowienie/podsumowanie/", data, follow=True)
    assert "The total is now 114,99\xa0zł" in response.content.decode()
    data = {**data, "expected_total": "114.99", "price": "0.01", "total": "0.01"}
    response = browser.post("/zamowienie/podsumowanie/", data)
    order = Order.objects.get()
    payment = order.payments.get()
    assert response["Location"] == f"/platnosc/test/{payment.gateway_reference}/"
    assert order.total == D("114.99")
    # A double submit lands on the same order.
    again = browser.post("/zamowienie/podsumowanie/", data)
    assert again["Location"] == response["Location"] and Order.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        back = browser.post(response["Location"], {"outcome": "paid"})
    back = browser.get(back["Location"], follow=True)
    assert back.status_code == 200 and back.context["order"].status == "paid"
    assert 'data-status="paid"' in back.content.decode()


@pytest.mark.parametrize(
    ("kind", "payment"),
    [
        (k, p)
        for k in ("variant", "set", "preorder", "digital", "gift_card")
        for p in ("cod", "bank_transfer", "test_gateway")
    ],
)
def test_every_product_kind_with_every_payment_method(
    browser, store, shop, kind, payment, gateway_transport, django_capture_on_commit_callbacks
):
    physical = VariantFactory(store=store, stock=5, price=D("40"))
    if kind == "variant":
        item = physical
    elif kind == "set":
        item = make_set(store=store, components=[(physical, 2)], price=D("70"))
    elif kind == "preorder":
        item = PreorderVariantFactory(store=store, price=D("60"), preorder_limit=5)
    elif kind == "digital":
        item = DigitalVariantFactory(store=store)
        DigitalAssetFactory(variant=item)
    else:
        item = VariantFactory(product=GiftCardProductFactory(store=store), price=D("100"))
    add(browser, item)
    if payment == "cod" and kind in ("digital", "gift_card"):
        add(browser, physical)  # cash on delivery needs a parcel to travel with
    with django_capture_on_commit_callbacks(execute=True):
        data = checkout(browser, shop, payment=payment)
        response = browser.post("/zamowienie/podsumowanie/", data)
    order = Order.objects.get()
    if payment == "test_gateway":
        with django_capture_on_commit_callbacks(execute=True):
            browser.post(response["Location"], {"outcome": "paid"})
    else:
        assert response["Location"] == order.get_absolute_url()
        page = browser.get(response["Location"])
        assert order.number in page.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            from orders import services

            if payment == "bank_transfer":
                services.change_status(order=order, status="paid")
            else:
                for status in ("packed", "shipped", "delivered"):
                    services.change_status(order=order, status=status)
    order.refresh_from_db()
    assert order.payment_status == "paid"
    kinds = set(order.emails.filter(sent_at__isnull=False).values_list("kind", flat=True))
    assert {"placed", "paid" if payment != "cod" else "delivered"} <= kinds
    if kind == "gift_card":
        assert "gift_cards" in kinds
    if kind == "digital":
        assert "downloads" in kinds
    if kind == "preorder":
        assert order.ships_on and "Pre-order" in browser.get(order.get_absolute_url()).content.decode()
    if kind in ("variant", "set"):
        expected = 5 - (2 if kind == "set" else 1) - (1 if payment == "cod" and kind in ("digital",) else 0)
        assert StockItem.objects.get(variant=physical).quantity == expected


def test_order_page_of_someone_else_is_404(browser, store, shop, settings):
    settings.ALLOWED_HOSTS = ["*"]
    v = VariantFactory(store=store, stock=5)
    add(browser, v)
    browser.post("/zamowienie/podsumowanie/", checkout(browser, shop, payment="bank_transfer"))
    order = Order.objects.get()
    assert browser.get(order.get_absolute_url()).status_code == 200
    assert Client().get(order.get_absolute_url()).status_code == 200  # the link is the key
    assert Client().get("/zamowienie/" + "x" * 32 + "/").status_code == 404
    tampered = order.token[:-1] + ("B" if order.token.endswith("A") else "A")
    assert Client().get("/zamowienie/" + tampered + "/").status_code == 404
    assert Client().post(f"/zamowienie/{'x' * 30}/zaplac/").status_code == 404
    other_store = StoreFactory(domain="inny.example.pl")
    assert Client(HTTP_HOST=other_store.domain).get(order.get_absolute_url()).status_code == 404


def test_losers_of_the_last_unit_get_a_clear_message(browser, store, shop):
    v = VariantFactory(store=store, stock=1)
    add(browser, v)
    data = checkout(browser, shop)
    StockItem.objects.filter(variant=v).update(quantity=0)  # someone else was faster
    response = browser.post("/zamowienie/podsumowanie/", data, follow=True)
    html = response.content.decode()
    assert "someone has just bought the last one" in html and "tell when it is back" not in html
    assert "ask to be told when it is back" in html
    assert not Order.objects.exists()


def test_retry_payment_after_a_failure(
    browser, store, shop, gateway_transport, django_capture_on_commit_callbacks
):
    v = VariantFactory(store=store, stock=5)
    add(browser, v)
    response = browser.post("/zamowienie/podsumowanie/", checkout(browser, shop))
    with django_capture_on_commit_callbacks(execute=True):
        back = browser.post(response["Location"], {"outcome": "failed"})
    page = browser.get(back["Location"], follow=True)
    assert "did not go through" in page.content.decode()
    order = Order.objects.get()
    retry = browser.post(f"/zamowienie/{order.token}/zaplac/")
    new = order.payments.order_by("-pk").first()
    assert (
        retry["Location"] == f"/platnosc/test/{new.gateway_reference}/"
        and new.status == Payment.Status.PENDING
    )


def test_login_merges_the_guest_cart(store):
    user = UserFactory(email="jan@example.com")
    v = VariantFactory(store=store, stock=5)
    client = Client()
    add(client, v, 2)
    guest_cart = Cart.objects.get()
    assert client.get("/konto/logowanie/").status_code == 200
    response = client.post(
        "/konto/logowanie/", {"username": "jan@example.com", "password": "haslo-testowe-123"}
    )
    assert response.status_code == 302
    guest_cart.refresh_from_db()
    assert guest_cart.user == user
    assert client.get("/koszyk/").context["mini_cart"].quantity == 2
    assert client.session[CART_SESSION_KEY] == guest_cart.token
    client.post("/konto/wyloguj/")
    assert client.get("/koszyk/").context["mini_cart"].quantity == 0


def _fill_cart(client, store, n):
    for _ in range(n):
        add(client, VariantFactory(store=store, stock=5))


@pytest.mark.parametrize(
    "url", ["/koszyk/", "/zamowienie/", "/zamowienie/dostawa/", "/zamowienie/podsumowanie/"]
)
def test_cart_and_checkout_pages_cost_the_same_for_1_or_20_lines(
    store, shop, url, django_assert_max_num_queries
):
    counts = []
    for n in (1, 20):
        client = Client()
        _fill_cart(client, store, n)
        checkout(client, shop)
        client.get(url)  # warm the store cache
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        # Count the page's own queries: the session, the store lookup and other apps' cached
        # context (categories) depend on a cache that parallel test workers share.
        ours = re.compile(r'FROM "(orders_|catalog_(product|variant|stock|setcomponent))')
        counts.append(len([q for q in ctx.captured_queries if ours.search(q["sql"])]))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(20):
        client.get(url)


def test_mini_cart_costs_at_most_one_query(rf, store):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.cache import SessionStore

    from orders.context_processors import mini_cart
    from orders.services import add_to_cart, get_or_create_cart

    cart = get_or_create_cart(store=store)
    add_to_cart(cart=cart, variant_id=VariantFactory(store=store, stock=5).pk, quantity=3)
    request = rf.get("/")
    request.store, request.user, request.session = store, AnonymousUser(), SessionStore()
    request.session[CART_SESSION_KEY] = cart.token
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert mini_cart(request)["mini_cart"].quantity == 3
    assert len(ctx.captured_queries) == 1
    request.session = SessionStore()
    with CaptureQueriesContext(connection) as ctx:
        assert mini_cart(request)["mini_cart"].quantity == 0
    assert len(ctx.captured_queries) == 0
    assert reverse("orders:cart-add") == "/koszyk/dodaj/"
