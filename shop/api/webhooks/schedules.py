"""The API's periodic jobs, as django-celery-beat entries the merchant can see in the admin."""

from __future__ import annotations

from django.conf import settings

from shop.schedules import ensure_periodic_task


def install_api_schedules(**kwargs) -> None:
    ensure_periodic_task(
        name="Webhooks: retry due deliveries",
        task="shop.api.webhooks.tasks.deliver_due_webhooks",
        every_seconds=settings.WEBHOOK_SWEEP_SECONDS,
        description="Sends webhook deliveries whose retry time has come.",
    )
    ensure_periodic_task(
        name="API: purge idempotency records and old webhook logs",
        task="shop.api.webhooks.tasks.purge_api_records",
        crontab={"minute": "15", "hour": "4"},
        description="Keeps API_IDEMPOTENCY_HOURS of idempotency records and "
        "WEBHOOK_LOG_RETENTION_DAYS of webhook delivery logs.",
    )
