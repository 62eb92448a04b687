"""Thin Celery tasks: they take ids, call a service and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def detect_abandoned_carts() -> int:
    result = services.detect_abandoned()
    services.expire_stale()
    return result.abandoned


@shared_task(acks_late=True, ignore_result=True)
def dispatch_due_reminders() -> int:
    services.reap_expired_leases()
    return services.dispatch_due()


@shared_task(acks_late=True, ignore_result=True)
def send_reminder_task(reminder_id: int) -> str:
    # The claim inside send_reminder makes a duplicate delivery of this task a no-op.
    return services.send_reminder(reminder_id=reminder_id)


@shared_task(acks_late=True, ignore_result=True)
def purge_recovery_data() -> int:
    return services.purge_expired()
