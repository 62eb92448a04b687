"""Thin Celery tasks of the marketing tags."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="integrations.marketing.tasks.delete_old_consent_logs", acks_late=True)
def delete_old_consent_logs() -> int:
    return services.delete_old_consent_logs()
