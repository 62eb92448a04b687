"""Thin Celery tasks for webhooks: they take ids and call the services; safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .. import idempotency
from . import services


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> str | None:
    return services.send(delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_due_webhooks() -> int:
    """Retries whose time has come (and first attempts whose enqueue was lost)."""
    ids = services.due_deliveries()
    for delivery_id in ids:
        services.send(delivery_id)
    return len(ids)


@shared_task(acks_late=True, ignore_result=True)
def purge_api_records() -> int:
    """Expired idempotency records and old webhook delivery logs."""
    return idempotency.purge_expired() + services.purge_old_deliveries()
