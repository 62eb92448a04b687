"""Domain events through a transactional outbox.

``publish()`` writes an :class:`~shop.models.Event` row inside the caller's transaction and asks
Celery (after commit) to deliver it. Higher apps register handlers for event types in their
``AppConfig.ready()``::

    events.register("order.paid", "recovery.mark_recovered", handle_order_paid)

Delivery runs every registered handler once per event and records the outcome per handler in
:class:`~shop.models.EventDelivery`, so a crash or a broker outage delays a reaction but never loses
it: the periodic ``shop.tasks.sweep_events`` re-delivers whatever is still open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Event, EventDelivery, Store

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]
_handlers: dict[str, dict[str, Handler]] = {}


def register(event_type: str, name: str, handler: Handler) -> None:
    """Register ``handler`` under a stable ``name`` (the name is what deliveries are keyed on)."""
    _handlers.setdefault(event_type, {})[name] = handler


def unregister(event_type: str, name: str) -> None:
    _handlers.get(event_type, {}).pop(name, None)


def handlers_for(event_type: str) -> dict[str, Handler]:
    return dict(_handlers.get(event_type, {}))


def publish(*, type: str, payload: dict[str, Any], store: Store | None = None) -> Event:
    """Record an event in the current transaction and deliver it once that transaction commits."""
    event = Event.objects.create(type=type, payload=payload, store=store)
    transaction.on_commit(lambda: enqueue_delivery(event.pk))
    return event


def enqueue_delivery(event_id: int) -> None:
    """Ask a worker to deliver; a broker outage is logged, never raised (the sweep catches up)."""
    from .tasks import deliver_event

    safe_delay(deliver_event, event_id)


def safe_delay(task, *args, **kwargs) -> bool:
    """``task.delay`` that never breaks the caller when the broker is unreachable."""
    try:
        task.apply_async(args=args, kwargs=kwargs)
        return True
    except Exception:  # kombu raises OperationalError and friends; any failure is non-fatal here
        log.warning("Could not enqueue %s; it will be picked up later", task.name, exc_info=True)
        return False


def deliver(event_id: int) -> bool:
    """Run every handler of one event that has not succeeded yet. Returns True when all are done.

    Each handler runs in its own transaction with its delivery row locked, so two workers that
    receive the same event never run the same handler twice.
    """
    event = Event.objects.filter(pk=event_id).first()
    if event is None or event.processed_at is not None:
        return True
    all_done = True
    for name, handler in handlers_for(event.type).items():
        EventDelivery.objects.get_or_create(event=event, handler=name)
        with transaction.atomic():
            delivery = (
                EventDelivery.objects.select_for_update(skip_locked=True)
                .filter(event=event, handler=name, status=EventDelivery.Status.PENDING)
                .first()
            )
            if delivery is None:
                # Done already, given up, or another worker holds it right now.
                still_open = EventDelivery.objects.filter(
                    event=event, handler=name, status=EventDelivery.Status.PENDING
                ).exists()
                all_done = all_done and not still_open
                continue
            delivery.attempts += 1
            try:
                with transaction.atomic():
                    handler(event)
            except Exception as exc:
                log.exception("Handler %s failed for event %s", name, event.pk)
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if delivery.attempts >= settings.EVENT_MAX_ATTEMPTS:
                    delivery.status = EventDelivery.Status.FAILED
                else:
                    all_done = False
            else:
                delivery.status = EventDelivery.Status.DONE
                delivery.last_error = ""
            delivery.save(update_fields=["attempts", "status", "last_error", "updated_at"])
    if all_done:
        Event.objects.filter(pk=event.pk, processed_at__isnull=True).update(processed_at=timezone.now())
    return all_done


def open_events(older_than_seconds: int | None = None, limit: int = 500) -> list[int]:
    """Ids of events not fully delivered that are older than the grace period."""
    seconds = settings.EVENT_SWEEP_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=seconds)
    return list(
        Event.objects.filter(processed_at__isnull=True, created_at__lte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
