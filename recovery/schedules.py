"""Recovery's periodic jobs as django-celery-beat entries (created once, then the merchant's)."""

from __future__ import annotations

from django.conf import settings

from shop.schedules import ensure_periodic_task


def install_recovery_schedules(**kwargs) -> None:
    ensure_periodic_task(
        name="Cart recovery: detect abandoned carts",
        task="recovery.tasks.detect_abandoned_carts",
        every_seconds=settings.RECOVERY_DETECT_EVERY_SECONDS,
        description="Finds carts idle for RECOVERY_IDLE_MINUTES and plans their reminders.",
    )
    ensure_periodic_task(
        name="Cart recovery: send due reminders",
        task="recovery.tasks.dispatch_due_reminders",
        every_seconds=settings.RECOVERY_DISPATCH_EVERY_SECONDS,
        description="Queues due reminders (each is claimed before it is sent) and reaps expired leases.",
    )
    ensure_periodic_task(
        name="Cart recovery: purge old personal data",
        task="recovery.tasks.purge_recovery_data",
        crontab={"minute": "15", "hour": "4"},
        description="Blanks personal data of carts abandoned more than RECOVERY_RETENTION_DAYS ago.",
    )


def install_default_campaigns(**kwargs) -> None:
    from shop.models import Store

    from .services import ensure_default_campaign

    for store in Store.objects.all():
        ensure_default_campaign(store=store)
