"""/readyz: migrations applied, database, cache and broker reachable -> 200; else 503 naming them."""

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder

from shop import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_migration_check(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_readyz_is_200_when_the_node_can_take_traffic(client, store):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "cache", "broker"}
    assert "no-cache" in response.headers["Cache-Control"]
    assert response["Content-Type"] == "application/json"
    # The security headers middleware gives non-HTML answers its fixed policy.
    assert "Content-Security-Policy" in response or "Content-Security-Policy-Report-Only" in response


def test_readyz_is_503_when_a_migration_is_not_applied(client, store):
    recorder = MigrationRecorder(connection)
    applied = recorder.migration_qs.filter(app="shop").order_by("-name").first()
    recorder.migration_qs.filter(pk=applied.pk).delete()  # rolled back with the test
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    assert f"shop.{applied.name}" in body["checks"]["migrations"]["error"]
    assert body["checks"]["database"]["status"] == "up"


def test_readyz_is_503_naming_a_dead_broker(client, store, monkeypatch):
    from shop.celery import app

    original = app.conf.broker_url
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["migrations"]["status"] == "up"
    # No secrets: the broker's URL (which may carry a password) is not echoed.
    assert "redis://" not in response.content.decode()


def test_readyz_is_503_naming_a_dead_database(client, store, monkeypatch):
    def broken():
        raise OperationalError("connection to server at 127.0.0.1 port 5432 failed")

    monkeypatch.setitem(health.READINESS_CHECKS, "database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json()["failing"]


def test_readyz_refuses_post(client, store):
    assert client.post("/readyz").status_code == 405


def test_a_positive_migration_check_is_remembered(monkeypatch):
    calls = []
    from django.db.migrations import executor

    original = executor.MigrationExecutor.migration_plan

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(executor.MigrationExecutor, "migration_plan", counting)
    health.check_migrations()
    health.check_migrations()
    assert len(calls) == 1


def test_readyz_and_metrics_need_no_store_domain(client, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.STORE_HOST_FALLBACK = False
    settings.METRICS_TOKEN = "t" * 20
    assert client.get("/readyz", HTTP_HOST="10.0.0.7").status_code == 200
    assert (
        client.get("/metrics", HTTP_HOST="10.0.0.7", HTTP_AUTHORIZATION="Bearer " + "t" * 20).status_code
        == 200
    )
