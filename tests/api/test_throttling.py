"""Rate limits per client IP and per API key, answered 429 with Retry-After."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import error_of, merchant

pytestmark = pytest.mark.django_db


def _rates(settings, **rates):
    rf = dict(settings.REST_FRAMEWORK)
    rf["DEFAULT_THROTTLE_RATES"] = {"ip": "1000/min", "api_key": "1000/min", "sensitive": "1000/min", **rates}
    settings.REST_FRAMEWORK = rf


def test_per_ip_limit(store, settings):
    _rates(settings, ip="3/min")
    a = APIClient(REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        assert a.get("/api/v1/products/").status_code == 200
    r = a.get("/api/v1/products/")
    assert r.status_code == 429
    assert error_of(r)["code"] == "throttled"
    assert 1 <= int(r["Retry-After"]) <= 60
    # Another address is counted apart; X-Forwarded-For is not trusted by default.
    assert APIClient(REMOTE_ADDR="10.0.0.2").get("/api/v1/products/").status_code == 200
    assert a.get("/api/v1/products/", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_per_key_limit_whatever_the_address(store, settings):
    _rates(settings, api_key="2/min", ip="1/min")
    key_client = merchant(store)
    for ip in ("10.0.0.1", "10.0.0.2"):
        assert key_client.get("/api/v1/manage/orders/", REMOTE_ADDR=ip).status_code == 200
    r = key_client.get("/api/v1/manage/orders/", REMOTE_ADDR="10.0.0.3")
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    # Another key has its own budget.
    assert merchant(store).get("/api/v1/manage/orders/").status_code == 200


def test_sensitive_endpoints_have_a_stricter_limit(store, settings):
    _rates(settings, sensitive="2/min")
    c = APIClient()
    assert c.post("/api/v1/carts/").status_code == 201
    assert c.post("/api/v1/carts/").status_code == 201
    r = c.post("/api/v1/carts/")
    assert r.status_code == 429
    assert "Retry-After" in r


def test_throttled_message_is_wholly_polish_with_retry_after(store, settings):
    _rates(settings, ip="1/min")
    a = APIClient(REMOTE_ADDR="10.0.1.1", HTTP_ACCEPT_LANGUAGE="pl")
    a.get("/api/v1/products/")
    r = a.get("/api/v1/products/")
    assert r.status_code == 429
    wait = int(r["Retry-After"])
    message = error_of(r)["message"]
    assert "Expected" not in message and "seconds" not in message
    from django.utils import translation

    from shop.ratelimit import try_again_message

    with translation.override("pl"):
        assert message == f"Zbyt wiele żądań. {try_again_message(wait)}"
        assert try_again_message(1) == "Spróbuj ponownie za 1 sekundę."
        assert try_again_message(3) == "Spróbuj ponownie za 3 sekundy."
        assert try_again_message(50) == "Spróbuj ponownie za 50 sekund."
        assert try_again_message(120) == "Spróbuj ponownie za 2 minuty."
        assert try_again_message(300) == "Spróbuj ponownie za 5 minut."


def test_windows_slide_instead_of_resetting_on_the_clock(store, settings):
    """A fixed window let 2 x limit through around its boundary and ended locks on the clock."""
    import time_machine

    _rates(settings, ip="3/min")
    a = APIClient(REMOTE_ADDR="10.0.2.1")
    with time_machine.travel(1_800_000_058.0, tick=False) as clock:  # 2 s before a minute boundary
        assert [a.get("/api/v1/products/").status_code for _ in range(4)] == [200, 200, 200, 429]
        clock.shift(3)  # past the boundary: a fixed window would start over here
        r = a.get("/api/v1/products/")
        assert r.status_code == 429
        assert int(r["Retry-After"]) == 57  # the first request is a minute old then
        clock.shift(57)
        assert a.get("/api/v1/products/").status_code == 200


def test_api_login_lockout_says_when_to_retry(store, settings):
    settings.LOGIN_RATE_LIMIT = 2
    a = APIClient(REMOTE_ADDR="10.0.3.1", HTTP_ACCEPT_LANGUAGE="pl")
    for _ in range(2):
        assert (
            a.post("/api/v1/auth/token/", {"email": "nikt@example.com", "password": "x"}).status_code == 401
        )
    r = a.post("/api/v1/auth/token/", {"email": "nikt@example.com", "password": "x"})
    assert r.status_code == 429
    assert error_of(r)["code"] == "throttled"
    assert 1 <= int(r["Retry-After"]) <= settings.LOGIN_RATE_WINDOW
    assert "Spróbuj ponownie za" in error_of(r)["message"]


def test_code_guessing_lockout_answers_retry_after(store, settings, variant, methods):
    settings.CODE_ATTEMPTS_LIMIT = 2
    a = APIClient(REMOTE_ADDR="10.0.4.1", HTTP_ACCEPT_LANGUAGE="pl")
    token = a.post("/api/v1/carts/").json()["token"]
    for _ in range(2):
        assert a.post(f"/api/v1/carts/{token}/voucher/", {"code": "ZGADUJE"}).status_code == 422
    r = a.post(f"/api/v1/carts/{token}/voucher/", {"code": "ZGADUJE"})
    assert r.status_code == 429
    assert 1 <= int(r["Retry-After"]) <= settings.CODE_ATTEMPTS_WINDOW_SECONDS
    assert error_of(r)["message"].startswith("Zbyt wiele błędnych kodów. Spróbuj ponownie za ")


def test_api_checkout_attempts_are_limited_per_cart(store, settings, variant, methods):
    from orders.models import Order
    from tests.api.conftest import ADDRESS

    settings.CHECKOUT_ATTEMPTS_PER_CART = 2
    a = APIClient(REMOTE_ADDR="10.0.5.1", HTTP_ACCEPT_LANGUAGE="pl")
    token = a.post("/api/v1/carts/").json()["token"]
    a.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 1})
    bad = {
        "email": "anna@example.com",
        "expected_total": "1.00",
        "shipping_method": methods["shipping"].pk,
        "payment_method": methods["transfer"].pk,
        "answers": ADDRESS,
    }
    assert [a.post(f"/api/v1/carts/{token}/checkout/", bad).status_code for _ in range(2)] == [409, 409]
    r = a.post(f"/api/v1/carts/{token}/checkout/", {**bad, "expected_total": None})
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert "Koszyk został zachowany" in error_of(r)["message"]
    assert Order.objects.count() == 0
    assert a.get(f"/api/v1/carts/{token}/").json()["lines"]


def test_api_checkout_attempts_are_limited_per_ip_across_carts(store, settings, variant, methods):
    settings.CHECKOUT_ATTEMPTS_PER_IP = 2
    a = APIClient(REMOTE_ADDR="10.0.6.1")
    codes = []
    for _ in range(3):
        token = a.post("/api/v1/carts/").json()["token"]
        codes.append(a.post(f"/api/v1/carts/{token}/checkout/", {}).status_code)
    assert codes == [422, 422, 429]
    # Another address is counted apart.
    b = APIClient(REMOTE_ADDR="10.0.6.2")
    token = b.post("/api/v1/carts/").json()["token"]
    assert b.post(f"/api/v1/carts/{token}/checkout/", {}).status_code == 422


def test_one_proxy_setting_for_the_api_throttles(store, settings):
    _rates(settings, ip="1/min")
    settings.TRUSTED_PROXIES = 1
    behind_proxy = APIClient(REMOTE_ADDR="10.0.0.254")
    assert behind_proxy.get("/api/v1/products/", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert behind_proxy.get("/api/v1/products/", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
    assert behind_proxy.get("/api/v1/products/", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
