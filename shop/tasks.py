"""Shop-wide periodic work: event delivery, its sweep, and backups."""

from __future__ import annotations

from celery import shared_task

from . import events


@shared_task(bind=True, acks_late=True, max_retries=8, default_retry_delay=10)
def deliver_event(self, event_id: int) -> None:
    if not events.deliver(event_id):
        raise self.retry(countdown=min(600, 10 * 2**self.request.retries))


@shared_task(acks_late=True)
def sweep_events() -> int:
    """Deliver events whose after-commit enqueue was lost (broker outage, crash)."""
    ids = events.open_events()
    for event_id in ids:
        events.deliver(event_id)
    return len(ids)


@shared_task(acks_late=True)
def daily_backup() -> str:
    from .backup import create_backup, prune_backups

    backup = create_backup()
    prune_backups()
    return backup.name
