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
