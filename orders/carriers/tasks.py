"""Thin Celery tasks for carriers: they take ids, call ``orders.carriers.services``, and are safe
to run twice (each service claims its row or checks its status first). Attempt counters live on
the shipment, so retries end even if the broker redelivers a task."""

from __future__ import annotations

import logging

from celery import shared_task

from shop import events

from . import services

log = logging.getLogger("orders.carriers")


@shared_task(bind=True, acks_late=True, max_retries=None)
def submit_shipment(self, shipment_id: int) -> str:
    outcome = services.submit_shipment(shipment_id)
    if outcome == "retry":
        if self.request.is_eager:  # no broker to wait on (tests, eager setups): try again now
            return submit_shipment.apply(args=[shipment_id], retries=self.request.retries + 1).result
        raise self.retry(countdown=services.submit_delay(self.request.retries))
    if outcome == "poll":
        try:
            poll_shipment.apply_async(args=[shipment_id], countdown=services.poll_delay(0))
        except Exception:  # broker trouble: the periodic job re-checks stale confirmations
            log.warning("Could not queue the confirmation check of shipment %s", shipment_id, exc_info=True)
    return outcome


@shared_task(bind=True, acks_late=True, max_retries=None)
def poll_shipment(self, shipment_id: int) -> str:
    """Wait for the carrier's confirmation with exponential backoff (in the worker, never in a
    request); gives up after ``CARRIER_CONFIRM_MAX_POLLS`` checks with a message on the shipment."""
    outcome = services.poll_shipment(shipment_id)
    if outcome == "poll":
        if self.request.is_eager:
            return poll_shipment.apply(args=[shipment_id], retries=self.request.retries + 1).result
        raise self.retry(countdown=services.poll_delay(self.request.retries + 1))
    return outcome


@shared_task(acks_late=True)
def track_shipment(shipment_id: int) -> str:
    return services.track_shipment(shipment_id)


@shared_task(acks_late=True)
def follow_shipments() -> dict[str, int]:
    """The periodic job: track parcels due for it, re-send shipments whose send was lost and
    re-check confirmations nobody waits for any more (one task per shipment)."""
    due = services.due_for_tracking()
    for shipment_id in due["track"]:
        events.safe_delay(track_shipment, shipment_id)
    for shipment_id in due["resend"]:
        events.safe_delay(submit_shipment, shipment_id)
    for shipment_id in due["repoll"]:
        events.safe_delay(poll_shipment, shipment_id)
    return {name: len(ids) for name, ids in due.items()}
