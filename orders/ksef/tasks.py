"""Thin Celery tasks for KSeF: they take ids and are safe to run twice (``services.submit`` claims
an attempt with a lease and never sends an invoice KSeF already took)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def submit_to_ksef(submission_id: int, force: bool = False) -> str:
    from . import services

    sub = services.submit(submission_id, force=force)
    return sub.state if sub is not None else ""


@shared_task(acks_late=True)
def sweep_ksef() -> int:
    """Every submission whose next attempt is due (KSeF was down, refused, or still processing):
    one more attempt each, with the backoff ``next_attempt_at`` carries."""
    from shop import events

    from . import services

    due = services.due_submission_ids()
    for submission_id in due:
        events.safe_delay(submit_to_ksef, submission_id)
    return len(due)
