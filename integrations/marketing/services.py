"""State changes of the marketing tags: events carried to the next page in the session, and the
once-only claim of an order's purchase event."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import ConsentLog, PurchaseReport

SESSION_KEY = "marketing_events"


def flash_events(*, request, events: list[dict]) -> None:
    """Keep ``events`` for the next page the shopper sees (the POST that caused them redirects).
    The list is capped, newest kept, so repeated POSTs cannot grow the session."""
    if not events or not hasattr(request, "session"):
        return
    pending = request.session.get(SESSION_KEY)
    if not isinstance(pending, list):
        pending = []
    pending = (pending + events)[-settings.MARKETING_MAX_PENDING_EVENTS :]
    request.session[SESSION_KEY] = pending


def take_flashed_events(*, request) -> list[dict]:
    """The events kept for this page, removed from the session (shown once)."""
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return []
    pending = session.pop(SESSION_KEY, None)
    if not isinstance(pending, list):
        return []
    return [e for e in pending if isinstance(e, dict)]


def claim_purchase(*, order) -> bool:
    """Record that ``order``'s purchase goes to the browser now; False if it already went.

    One ``INSERT ... ON CONFLICT DO NOTHING`` (PostgreSQL and SQLite alike): of two concurrent
    loads of the thank-you page exactly one gets the row back, and a reload costs one query.
    """
    table = connection.ops.quote_name(PurchaseReport._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (order_id, reported_at) VALUES (%s, %s) "  # noqa: S608 - our own table
            "ON CONFLICT (order_id) DO NOTHING RETURNING id",
            [order.pk, timezone.now()],
        )
        return cursor.fetchone() is not None


def log_consent(*, store, consent_id: str, version: str, analytics: bool, marketing: bool) -> ConsentLog:
    """Keep the proof of one cookie choice."""
    return ConsentLog.objects.create(
        store=store, consent_id=consent_id, version=version, analytics=analytics, marketing=marketing
    )


def delete_old_consent_logs(*, now=None) -> int:
    """Forget choices older than ``MARKETING_CONSENT_LOG_RETENTION_DAYS``; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.MARKETING_CONSENT_LOG_RETENTION_DAYS)
    deleted, _ = ConsentLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
