from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from recovery import services


def run_due(at=None):
    """Dispatch and send everything due at ``at`` inline (the worker's job, synchronously)."""
    at = at or timezone.now()
    results = []
    services.dispatch_due(
        now=at, enqueue=lambda rid: results.append(services.send_reminder(reminder_id=rid, now=at))
    )
    return results


def hours(n: float):
    return timezone.now() + timedelta(hours=n)
