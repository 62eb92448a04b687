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

_migrations_applied = False


def check_migrations() -> None:
    """No migration of the code on this node is unapplied. Once true it stays true in a process
    (nothing un-applies migrations under a running node), so later probes skip the graph."""
    global _migrations_applied
    if _migrations_applied:
        return
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        raise RuntimeError(f"{len(plan)} unapplied migration(s): {names}{more}")
    _migrations_applied = True


# /readyz: can this node take traffic? The database first: migrations need it.
READINESS_CHECKS = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
    "broker": check_broker,
}


def run_checks(checks: dict | None = None) -> dict[str, dict[str, str]]:
    results: dict[str, dict[str, str]] = {}
    for name, check in (CHECKS if checks is None else checks).items():
        try:
            check()
        except Exception as exc:  # a health check reports every failure, whatever its kind
            results[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            results[name] = {"status": "up"}
    return results
