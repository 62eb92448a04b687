"""Fixtures of the API tests: two stores on two hosts, keys with chosen scopes, a shopper with a
token, a small catalog with stock, and delivery/payment methods."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import PaymentMethod, ShippingMethod
from shop.api import keys
from shop.api.models import Scope
from tests.catalog.factories import VariantFactory, give_stock
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory
from tests.shop.factories import StoreFactory, UserFactory

OTHER_HOST = "drugi.example.pl"
ALL_SCOPES = list(Scope.values)
ADDRESS = {
    "first_name": "Anna",
    "last_name": "Kowalska",
    "phone": "600 100 200",
    "street": "ul. Długa 5/3",
    "postal_code": "00-950",
    "city": "Warszawa",
}


@pytest.fixture(autouse=True)
def _api_settings(settings):
    settings.ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", OTHER_HOST]
    rf = dict(settings.REST_FRAMEWORK)
    rf["DEFAULT_THROTTLE_RATES"] = {"ip": "100000/min", "api_key": "100000/min", "sensitive": "100000/min"}
    settings.REST_FRAMEWORK = rf
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.CODE_ATTEMPTS_LIMIT = 1000
    if not settings.REDIS_URL:
        # The embedded file cache is shared by xdist workers, whose cache.clear() would reset
        # another worker's throttle counters mid-test; Redis runs keep the real backend.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    else:
        # The Redis database of an xdist worker is shared with other suites running at the same
        # time on the same server (another database, same pks): a key prefix of this process's
        # own keeps their cached stores and counters out of ours.
        default = {**settings.CACHES["default"], "KEY_PREFIX": f"api-tests-{os.getpid()}"}
        settings.CACHES = {**settings.CACHES, "default": default}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def other_store(db):
    return StoreFactory(domain=OTHER_HOST, name="Drugi sklep")


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def other_client():
    return APIClient(SERVER_NAME=OTHER_HOST)


def make_key(store, scopes=None):
    _key, raw = keys.create_api_key(store=store, name="test", scopes=ALL_SCOPES if scopes is None else scopes)
    return raw


def merchant(store, scopes=None, host=None) -> APIClient:
    c = APIClient(SERVER_NAME=host) if host else APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(store, scopes)}")
    return c


@pytest.fixture
def merchant_client(store):
    return merchant(store)


@pytest.fixture
def shopper(store):
    return UserFactory(email="anna@example.com")


@pytest.fixture
def customer_client(store, shopper):
    _, raw = keys.create_customer_token(store=store, user=shopper)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return c


@pytest.fixture
def variant(store):
    v = VariantFactory(store=store, price=Decimal("100.00"), sku="SUK-1")
    give_stock(v, 10)
    return v


@pytest.fixture
def methods(store):
    shipping = ShippingMethodFactory(
        store=store, code="kurier", price=Decimal("15.00"), kind=ShippingMethod.Kind.COURIER
    )
    online = PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.TEST_GATEWAY)
    transfer = PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.BANK_TRANSFER)
    return {"shipping": shipping, "online": online, "transfer": transfer}


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def reload_live_server_middleware(live_server) -> None:
    """The session-wide live server built its middleware before the per-test settings (no HTTPS
    redirect in tests) applied: build it again with the current settings."""
    handler = live_server.thread.httpd.get_app()
    while hasattr(handler, "application"):  # static and media file handlers wrap the WSGIHandler
        handler = handler.application
    handler.load_middleware()
