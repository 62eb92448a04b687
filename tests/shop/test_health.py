import pytest
from django.db import OperationalError

from shop import health

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_everything_is_up(client, store):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "up",
        "cache": "up",
        "broker": "up",
    }
    assert "no-cache" in response.headers["Cache-Control"]


def test_healthz_names_a_dead_cache(client, store, settings):
    # Port 1 on loopback refuses at once: a real connection failure, not a mock.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    settings.STORE_CACHE_SECONDS = 0
    from django.core.cache import caches

    caches._settings = None
    try:
        result = health.run_checks()
    finally:
        caches._settings = None
    assert result["cache"]["status"] == "down"
    assert "Connection" in result["cache"]["error"] or "refused" in result["cache"]["error"].lower()
    assert result["database"]["status"] == "up"


def test_healthz_is_503_naming_a_dead_broker(client, store, monkeypatch):
    from shop.celery import app

    original = app.conf.broker_url
    # Celery lets the CELERY_BROKER_URL environment variable win over its config, so set both.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "up"


def test_healthz_is_503_naming_a_dead_database(client, store, monkeypatch):
    def broken():
        raise OperationalError("connection to server at 127.0.0.1 port 5432 failed")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert "5432" in response.json()["checks"]["database"]["error"]


def test_healthz_refuses_post(client, store):
    assert client.post("/healthz").status_code == 405
