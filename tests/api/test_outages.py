"""A cache outage degrades, never breaks; a killed worker's Idempotency-Key does not stay stuck.

The Redis tests start a real ``redis-server`` on a free port, point the cache at it and kill it
(SIGKILL) half way: rate limits then count in the process's memory, logged once, and the headless
shop keeps selling through the API.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Order
from shop import ratelimit
from shop.api.models import IdempotencyRecord
from tests.api.conftest import ADDRESS, error_of
from tests.shop.factories import UserFactory

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, on a free port; yields (url, kill)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)

    def kill():
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    yield f"redis://127.0.0.1:{port}/0", kill
    kill()


@pytest.fixture
def on_own_redis(settings, own_redis):
    url, kill = own_redis
    settings.CACHES = {
        "default": {
            "BACKEND": "shop.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "outage",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    previous = settings.CACHES
    ratelimit.reset_local()
    yield kill
    kill()
    settings.CACHES = {**previous, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ratelimit.reset_local()


def _checkout(client, variant, methods, email):
    token = client.post("/api/v1/carts/").json()["token"]
    assert (
        client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 1}).status_code
        == 201
    )
    return client.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "email": email,
            "marketing_consent": False,
            "shipping_method": methods["shipping"].pk,
            "payment_method": methods["transfer"].pk,
            "answers": ADDRESS,
        },
        HTTP_IDEMPOTENCY_KEY=f"key-{email}",
    )


def test_with_redis_killed_the_api_keeps_selling_and_limits_fall_back_to_memory(
    on_own_redis, settings, store, variant, methods, caplog
):
    kill = on_own_redis
    client = APIClient(REMOTE_ADDR="10.7.0.1")
    assert _checkout(client, variant, methods, "przed@example.com").status_code == 201
    assert caches["default"].get("outage-probe") is None  # the cache really is that Redis

    kill()
    with caplog.at_level(logging.ERROR, logger="shop.ratelimit"):
        assert client.get("/api/v1/products/").status_code == 200
        assert client.get("/api/schema/").status_code == 200
        placed = _checkout(client, variant, methods, "po@example.com")
        assert placed.status_code == 201, placed.content
        cart = client.post("/api/v1/carts/").json()["token"]
        code = client.post(f"/api/v1/carts/{cart}/voucher/", {"code": "NIEMA"})
        assert code.status_code == 422, code.content
        assert error_of(code)["code"] == "refused"
        UserFactory(email="anna@example.com")
        login = client.post(
            "/api/v1/auth/token/", {"email": "anna@example.com", "password": "haslo-testowe-123"}
        )
        assert login.status_code == 201, login.content
    assert Order.objects.filter(email="po@example.com").count() == 1
    # One log line for the whole outage, not one a request.
    fallbacks = [r for r in caplog.records if "fall back" in r.getMessage()]
    assert len(fallbacks) == 1
    assert "unreachable" in fallbacks[0].getMessage()

    # The fallback still limits: the per-IP rate now counts in this process's memory.
    rf = dict(settings.REST_FRAMEWORK)
    rf["DEFAULT_THROTTLE_RATES"] = {**rf["DEFAULT_THROTTLE_RATES"], "ip": "3/min"}
    settings.REST_FRAMEWORK = rf
    other = APIClient(REMOTE_ADDR="10.7.0.2")
    assert [other.get("/api/v1/products/").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_with_redis_killed_storefront_login_and_codes_answer_without_error(
    on_own_redis, store, settings, variant
):
    kill = on_own_redis
    client = Client()
    settings.LOGIN_RATE_LIMIT = 2
    settings.CODE_ATTEMPTS_LIMIT = 2
    UserFactory(email="ewa@example.com")
    kill()
    login = "/konto/logowanie/"
    assert (
        client.post(login, {"username": "ewa@example.com", "password": "haslo-testowe-123"}).status_code
        == 302
    )
    client.post("/konto/wyloguj/")
    # Locks still hold, in this process's memory.
    for _ in range(2):
        assert client.post(login, {"username": "ewa@example.com", "password": "zle"}).status_code == 200
    assert (
        client.post(login, {"username": "ewa@example.com", "password": "haslo-testowe-123"}).status_code
        == 429
    )

    assert client.post("/koszyk/dodaj/", {"variant": variant.pk, "quantity": 1}).status_code in (200, 302)
    answers = [client.post("/koszyk/kod/", {"code": "NIEMA"}).status_code for _ in range(3)]
    assert 500 not in answers
    page = client.get("/koszyk/")
    assert page.status_code == 200


CHECKOUT_BODY = {"email": "anna@example.com"}


def _fingerprint_of(path: str, body: dict) -> str:
    """The fingerprint the API records for this request (built the way APIClient sends it)."""
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from shop.api.idempotency import fingerprint

    return fingerprint(Request(APIRequestFactory().post(path, body, format="json")))


def _filled_cart(client, variant, methods) -> tuple[str, int]:
    from orders.models import Cart

    token = client.post("/api/v1/carts/").json()["token"]
    client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 1})
    r = client.patch(
        f"/api/v1/carts/{token}/",
        {
            "email": "anna@example.com",
            "shipping_method": methods["shipping"].pk,
            "payment_method": methods["transfer"].pk,
            "answers": ADDRESS,
        },
    )
    assert r.status_code == 200, r.content
    return token, Cart.objects.get(token=token).pk


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def test_a_key_left_in_progress_by_a_killed_worker_answers_the_order_it_placed(
    client, store, variant, methods, settings, clock
):
    settings.API_IDEMPOTENCY_STALE_SECONDS = 70
    token, _ = _filled_cart(client, variant, methods)
    path = f"/api/v1/carts/{token}/checkout/"
    first = client.post(path, CHECKOUT_BODY, HTTP_IDEMPOTENCY_KEY="k-placed")
    assert first.status_code == 201
    # The worker was killed after the order committed, before its answer was recorded.
    IdempotencyRecord.objects.filter(key="k-placed").update(status_code=0, response_body=None)

    clock.shift(timedelta(seconds=30))
    busy = client.post(path, CHECKOUT_BODY, HTTP_IDEMPOTENCY_KEY="k-placed")
    assert busy.status_code == 409
    assert error_of(busy)["code"] == "idempotency_in_progress"
    assert int(busy["Retry-After"]) == 40  # until the record counts as abandoned

    clock.shift(timedelta(seconds=41))
    late = client.post(path, CHECKOUT_BODY, HTTP_IDEMPOTENCY_KEY="k-placed")
    assert late.status_code == 200, late.content
    assert late.json()["order"]["number"] == first.json()["order"]["number"]
    assert Order.objects.count() == 1
    # From now on the key answers that order again, replayed.
    again = client.post(path, CHECKOUT_BODY, HTTP_IDEMPOTENCY_KEY="k-placed")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["order"]["number"] == first.json()["order"]["number"]


def test_a_key_left_in_progress_before_the_order_was_placed_places_it_on_retry(
    client, store, variant, methods, settings, clock
):
    settings.API_IDEMPOTENCY_STALE_SECONDS = 70
    token, cart_pk = _filled_cart(client, variant, methods)
    path = f"/api/v1/carts/{token}/checkout/"
    # The worker was killed mid-request: the record is written, the order transaction rolled back.
    IdempotencyRecord.objects.create(
        store=store, scope=f"cart:{cart_pk}", key="k-lost", fingerprint=_fingerprint_of(path, CHECKOUT_BODY)
    )
    assert client.post(path, CHECKOUT_BODY, HTTP_IDEMPOTENCY_KEY="k-lost").status_code == 409
    assert Order.objects.count() == 0

    clock.shift(timedelta(seconds=71))
    placed = client.post(path, CHECKOUT_BODY, HTTP_IDEMPOTENCY_KEY="k-lost")
    assert placed.status_code == 201, placed.content
    assert Order.objects.count() == 1
    assert placed.json()["order"]["number"] == Order.objects.get().number
    # A different body under the same key is still refused.
    other = client.post(path, {"email": "inna@example.com"}, HTTP_IDEMPOTENCY_KEY="k-lost")
    assert other.status_code == 422


def test_the_stale_time_follows_the_web_timeout():
    from django.conf import settings

    assert settings.API_IDEMPOTENCY_STALE_SECONDS > settings.WEB_TIMEOUT_SECONDS


@pytest.mark.django_db(transaction=True)
def test_a_stale_record_whose_row_is_still_locked_is_alive_and_never_run_twice(store, settings):
    """An atomic request (bulk stock) holds its record's row until it commits: past the stale time
    (no gunicorn timeout in front: runserver) a retry that finds it locked answers 409, does not
    run the rows a second time, and does not wait for it."""
    from django.db import connection

    from shop.api import keys
    from tests.catalog.factories import VariantFactory, give_stock

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    import psycopg

    settings.API_IDEMPOTENCY_STALE_SECONDS = 70
    item = give_stock(VariantFactory(store=store, sku="RAZ"), 10)
    api_key, raw = keys.create_api_key(store=store, name="ERP", scopes=["stock:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    path, body = "/api/v1/stock/bulk/", {"rows": [{"sku": "RAZ", "delta": 2}]}
    record = IdempotencyRecord.objects.create(
        store=store,
        scope=f"key:{api_key.pk}",
        key="count-1",
        api_key=api_key,
        fingerprint=_fingerprint_of(path, body),
        created_at=timezone.now() - timedelta(seconds=300),
    )
    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or "postgres",
        "host": db.get("HOST") or "127.0.0.1",
    }
    params.update({k: str(db[k.upper()]) for k in ("port", "password") if db.get(k.upper())})
    with psycopg.connect(**params) as holder:  # an open transaction: the running request
        holder.execute("SELECT 1 FROM api_idempotencyrecord WHERE id = %s FOR UPDATE", [record.pk])
        busy = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="count-1")
        assert busy.status_code == 409, busy.content
        assert error_of(busy)["code"] == "idempotency_in_progress"
        assert busy["Retry-After"] == "5"
        item.refresh_from_db()
        assert item.quantity == 10
    # Its transaction ended without an answer (it died): now the retry takes it over, once.
    applied = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="count-1")
    assert applied.status_code == 200, applied.content
    again = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY="count-1")
    assert again["Idempotent-Replayed"] == "true"
    item.refresh_from_db()
    assert item.quantity == 12
