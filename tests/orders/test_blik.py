"""BLIK by code on the shop's payment page, against the fake Przelewy24: the form, codes good,
bad and hostile, P24 refusing a code, one code per attempt, double submits, rate limits, CSRF,
the waiting page and the status endpoint (paid only through the verified notification)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from orders import services
from orders.models import Order, Payment
from tests.fakes.http_server import FakeResponse
from tests.fakes.przelewy24 import FakePrzelewy24, django_deliver
from tests.orders.factories import ShippingMethodFactory, ready_cart
from tests.orders.gateway_checkout import gateway_account, isolate_cache, place_online_order
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db
EN = {"django_language": "en"}
UA = "Mozilla/5.0 (BLIK test)"


@pytest.fixture
def p24(settings):
    isolate_cache(settings)
    with FakePrzelewy24() as fake:
        settings.PRZELEWY24_SANDBOX_URL = fake.url
        settings.PRZELEWY24_URL = "http://127.0.0.1:9"
        yield fake


@pytest.fixture
def account(store, p24):
    return gateway_account(
        store,
        "przelewy24",
        config={"merchant_id": p24.merchant_id, "pos_id": p24.pos_id, "blik": True},
        secrets={"api_key": p24.api_key, "crc": p24.crc},
    )


@pytest.fixture
def order(store, account):
    order, _payment = place_online_order(store, "przelewy24")
    return order


@pytest.fixture
def shopper(client):
    client.cookies.load(EN)
    return client


def url(order, suffix="blik/"):
    return f"/zamowienie/{order.token}/{suffix}"


def pay(client, order, code, **extra):
    return client.post(url(order), {"code": code, **extra}, headers={"User-Agent": UA})


def status(client, order) -> dict:
    response = client.get(url(order, "status/"))
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    return response.json()


# --- the page -------------------------------------------------------------------------------


def test_checkout_with_przelewy24_lands_on_the_blik_page(shopper, store, account):
    from tests.catalog.factories import VariantFactory

    variant = VariantFactory(store=store, stock=3, price=Decimal("50.00"))
    cart = ready_cart(store, [(variant, 1)], payment="przelewy24")
    session = shopper.session
    from orders.selectors import CART_SESSION_KEY

    session[CART_SESSION_KEY] = cart.token
    session.save()
    summary = shopper.get("/zamowienie/podsumowanie/")
    form = summary.context["form"]
    response = shopper.post(
        "/zamowienie/podsumowanie/",
        {
            "checkout_token": form.initial["checkout_token"],
            "expected_total": form.initial["expected_total"],
            "accept_terms": "on",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == url(order)


def test_blik_page_offers_a_numeric_one_time_code_field(shopper, order):
    response = shopper.get(url(order))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'inputmode="numeric"' in html and 'autocomplete="one-time-code"' in html
    assert "csrfmiddlewaretoken" in html and "js/blik.js" in html
    assert "137,99" in html  # amount to pay
    assert 'data-testid="blik-other"' in html


def test_a_good_code_registers_with_psu_charges_and_waits_for_the_notification(shopper, order, p24):
    response = pay(shopper, order, "777 123")
    assert response.status_code == 302 and response["Location"] == url(order, "blik/potwierdz/")
    payment = services.open_payment(order)
    register = json.loads(p24.calls("/transaction/register")[0].body)
    assert register["sessionId"] == payment.reference
    assert register["additional"]["PSU"] == {"IP": "127.0.0.1", "userAgent": UA}
    token = p24.token_for(payment.reference)
    assert json.loads(p24.calls("/blik/chargeByCode")[0].body) == {"token": token, "blikCode": "777123"}

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT  # the browser's word changes nothing
    state = status(shopper, order)
    assert state["paid"] is False and state["waiting"] is True and state["seconds_left"] > 0
    page = shopper.get(url(order, "blik/potwierdz/"))
    assert page.status_code == 200 and "Confirm the payment in your banking app" in page.content.decode()

    status_code, _ = p24.notify(token, django_deliver(Client()))
    assert status_code == 200
    state = status(shopper, order)
    assert state["paid"] is True and state["status"] == "paid" and state["waiting"] is False
    assert 'data-state="paid"' in shopper.get(url(order, "blik/potwierdz/")).content.decode()


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "12345",
        "1234567",
        "abcdef",
        "12a456",
        "<script>alert(1)</script>",
        "1" * 10_000,
        "１２３４５６",
    ],
)
def test_bad_and_hostile_codes_are_refused_before_reaching_the_gateway(shopper, order, p24, code):
    response = pay(shopper, order, code)
    assert response.status_code == 400
    html = response.content.decode()
    assert "6-digit BLIK code" in html or "exactly 6 digits" in html
    assert "<script>alert(1)</script>" not in html
    assert p24.requests == []


def test_a_list_or_missing_code_field_is_refused(shopper, order, p24):
    assert shopper.post(url(order), {}).status_code == 400
    assert shopper.post(url(order), {"code": ["123456", "654321"]}).status_code in (302, 400)


def test_p24_refusing_a_code_is_shown_and_the_next_code_is_a_new_attempt(shopper, order, p24):
    p24.blik_answers["111111"] = FakeResponse(
        400,
        json.dumps({"error": "Incorrect blikCode", "code": 400}).encode(),
        {"Content-Type": "application/json"},
    )
    response = pay(shopper, order, "111111")
    assert response.status_code == 400
    assert "did not accept this BLIK code" in response.content.decode()
    first = Payment.objects.get(order=order)
    assert status(shopper, order)["waiting"] is False

    response = pay(shopper, order, "222222")
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Payment.Status.CANCELLED  # one code per attempt
    second = services.open_payment(order)
    assert second.pk != first.pk
    registered = [json.loads(r.body)["sessionId"] for r in p24.calls("/transaction/register")]
    assert registered == [first.reference, second.reference]


def test_double_submit_charges_the_code_once(shopper, order, p24):
    assert pay(shopper, order, "777123").status_code == 302
    again = pay(shopper, order, "777123")
    assert again.status_code == 302 and again["Location"] == url(order, "blik/potwierdz/")
    other = pay(shopper, order, "888888")  # the old form again, while the first code waits
    assert other.status_code == 302
    assert len(p24.calls("/blik/chargeByCode")) == 1
    assert Payment.objects.filter(order=order).count() == 1


def test_a_new_code_asked_for_while_waiting_is_a_new_attempt(shopper, order, p24):
    assert pay(shopper, order, "777123").status_code == 302
    assert pay(shopper, order, "777123", replace="1").status_code == 302  # the same code: no
    assert len(p24.calls("/blik/chargeByCode")) == 1
    assert pay(shopper, order, "999111", replace="1").status_code == 302
    assert len(p24.calls("/blik/chargeByCode")) == 2
    assert Payment.objects.filter(order=order, status=Payment.Status.PENDING).count() == 1


def test_attempts_are_limited_per_order(shopper, order, p24, settings):
    settings.BLIK_ATTEMPTS_PER_ORDER = 2
    p24.blik_answers.update(
        {c: FakeResponse(400, b'{"error":"expired","code":400}') for c in ("111111", "222222")}
    )
    assert pay(shopper, order, "111111").status_code == 400
    assert pay(shopper, order, "222222").status_code == 400
    limited = pay(shopper, order, "333333")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "Too many BLIK attempts" in limited.content.decode()
    assert len(p24.calls("/blik/chargeByCode")) == 2


def test_attempts_are_limited_per_ip_across_orders(shopper, store, account, p24, settings):
    settings.BLIK_ATTEMPTS_PER_IP = 1
    first, _ = place_online_order(store, "przelewy24", email="a@example.com")
    second, _ = place_online_order(store, "przelewy24", email="b@example.com")
    assert pay(shopper, first, "777123").status_code == 302
    assert pay(shopper, second, "777124").status_code == 429


def test_csrf_is_required(order, p24):
    client = Client(enforce_csrf_checks=True)
    assert client.post(url(order), {"code": "777123"}).status_code == 403
    assert p24.requests == []


def test_gateway_down_is_a_clear_error(shopper, order, p24):
    p24.fail_with = FakeResponse(503, b"down")
    response = pay(shopper, order, "777123")
    assert response.status_code == 502
    assert "payment gateway is having problems" in response.content.decode()


def test_pay_another_way_goes_to_przelewy24(shopper, order, p24):
    response = shopper.post(url(order), {"other": "1"})
    payment = services.open_payment(order)
    assert response.status_code == 302
    assert response["Location"] == f"{p24.url}/trnRequest/{p24.token_for(payment.reference)}"


def test_blik_switched_off_for_the_store(shopper, order, account, p24):
    account.config = {**account.config, "blik": False}
    account.save()
    response = shopper.get(url(order))
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert pay(shopper, order, "777123").status_code == 302
    assert p24.requests == []


def test_blik_is_opt_in_when_the_account_does_not_say(shopper, order, account, settings):
    account.config = {k: v for k, v in account.config.items() if k != "blik"}
    account.save()
    assert shopper.get(url(order)).status_code == 302  # off by default
    settings.PRZELEWY24_BLIK_ENABLED = True
    assert shopper.get(url(order)).status_code == 200


def test_paid_or_other_provider_orders_are_not_offered_blik(shopper, store, order, p24):
    Order.objects.filter(pk=order.pk).update(payment_status="paid", status="paid")
    assert shopper.get(url(order))["Location"] == order.get_absolute_url()
    other, _ = place_online_order(store, "test_gateway", email="c@example.com")
    assert shopper.get(url(other))["Location"] == other.get_absolute_url()


def test_unknown_tokens_and_other_stores_answer_404(shopper, store, order, settings):
    settings.ALLOWED_HOSTS = ["*"]
    assert shopper.get("/zamowienie/nope/blik/").status_code == 404
    assert shopper.get("/zamowienie/nope/status/").status_code == 404
    assert shopper.get("/zamowienie/nope/blik/potwierdz/").status_code == 404
    assert shopper.get("/zamowienie/" + "x" * 500 + "/status/").status_code == 404
    other = StoreFactory(domain="inny.example")
    ShippingMethodFactory(store=other, code="kurier")
    elsewhere = Client(HTTP_HOST="inny.example")
    assert elsewhere.get(url(order)).status_code == 404
    assert elsewhere.get(url(order, "status/")).status_code == 404


def test_waiting_page_offers_a_new_code_when_no_confirmation_came(shopper, order, p24, settings):
    settings.BLIK_CONFIRM_SECONDS = 0
    pay(shopper, order, "777123")
    html = shopper.get(url(order, "blik/potwierdz/")).content.decode()
    assert 'data-state="idle"' in html and 'data-testid="blik-new-code"' in html
    assert status(shopper, order)["waiting"] is False
    assert pay(shopper, order, "777124").status_code == 302  # a new code is allowed now
    assert len(p24.calls("/blik/chargeByCode")) == 2


def test_status_endpoint_costs_one_query(shopper, order, django_assert_max_num_queries):
    shopper.get(url(order, "status/"))
    with django_assert_max_num_queries(3):
        assert shopper.get(url(order, "status/")).status_code == 200


def test_a_code_after_the_time_to_pay_ran_out_is_refused(shopper, order, p24):
    from django.utils import timezone

    Order.objects.filter(pk=order.pk).update(reservation_expires_at=timezone.now())
    Payment.objects.filter(order=order).update(status=Payment.Status.FAILED)
    response = pay(shopper, order, "777123")
    assert response.status_code == 409
    assert "The time to pay for this order has run out" in response.content.decode()
    assert p24.calls("/blik/chargeByCode") == []


def test_checkout_goes_straight_to_przelewy24_when_blik_is_off(shopper, store, account, p24):
    from orders.selectors import CART_SESSION_KEY
    from tests.catalog.factories import VariantFactory

    account.config = {**account.config, "blik": "false"}
    account.save()
    cart = ready_cart(store, [(VariantFactory(store=store, stock=3), 1)], payment="przelewy24")
    session = shopper.session
    session[CART_SESSION_KEY] = cart.token
    session.save()
    form = shopper.get("/zamowienie/podsumowanie/").context["form"]
    response = shopper.post(
        "/zamowienie/podsumowanie/",
        {
            "checkout_token": form.initial["checkout_token"],
            "expected_total": form.initial["expected_total"],
            "accept_terms": "on",
        },
    )
    assert response.status_code == 302 and "/trnRequest/" in response["Location"]


def test_try_again_after_a_failed_payment_offers_blik_again(shopper, order, p24):
    Payment.objects.filter(order=order).update(status=Payment.Status.FAILED)
    response = shopper.post(f"/zamowienie/{order.token}/zaplac/")
    assert response.status_code == 302 and response["Location"] == url(order)
    assert pay(shopper, order, "777123").status_code == 302
    assert Payment.objects.filter(order=order, status=Payment.Status.PENDING).count() == 1
    assert len(p24.calls("/blik/chargeByCode")) == 1
