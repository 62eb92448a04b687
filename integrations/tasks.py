"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import purchase_orders, services
from .models import SyncRun


@shared_task(name="integrations.tasks.run_connector", acks_late=True)
def run_connector(
    config_id: int, direction: str, trigger: str = SyncRun.Trigger.SCHEDULE, dry_run: bool = False
) -> int:
    """One scheduled (or admin-requested) run; the lock makes a duplicate delivery a skipped run."""
    from .models import ConnectorConfig

    config = ConnectorConfig.objects.filter(pk=config_id).first()
    if config is None or (trigger == SyncRun.Trigger.SCHEDULE and not config.is_active):
        return 0
    run = services.run_connector(config_id=config_id, direction=direction, trigger=trigger, dry_run=dry_run)
    return run.pk


@shared_task(
    name="integrations.tasks.send_purchase_order",
    acks_late=True,
)
def send_purchase_order_task(purchase_order_id: int) -> str:
    return purchase_orders.send_purchase_order(purchase_order_id=purchase_order_id).status


@shared_task(name="integrations.tasks.retry_purchase_orders", acks_late=True)
def retry_purchase_orders() -> int:
    """Periodic: send purchase orders whose retry time has come."""
    ids = purchase_orders.due_purchase_orders()
    for pk in ids:
        purchase_orders.send_purchase_order(purchase_order_id=pk)
    return len(ids)


@shared_task(name="integrations.tasks.cleanup_runs", acks_late=True)
def cleanup_runs() -> int:
    return services.cleanup_runs()
