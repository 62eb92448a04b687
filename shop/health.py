"""Health of the parts the shop needs: database, cache and Celery broker."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("unexpected answer to SELECT 1")


def check_cache() -> None:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "ok", 10)
    if cache.get(key) != "ok":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(key)


def check_broker() -> None:
    from kombu import Connection

    from shop.celery import app

    # A fresh connection every time: the point is to find out whether a new one can be made now.
    with Connection(
        app.conf.broker_url,
        transport_options=app.conf.broker_transport_options or {},
        connect_timeout=settings.HEALTHZ_TIMEOUT_SECONDS,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.HEALTHZ_TIMEOUT_SECONDS)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def run_checks() -> dict[str, dict[str, str]]:
    results: dict[str, dict[str, str]] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # a health check reports every failure, whatever its kind
            results[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"status": "up"}
    return results
