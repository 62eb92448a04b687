"""Lost messages: reminders whose worker died after handing them to a provider that cannot say
whether it took them (status ``unknown``, see "When a worker dies mid-send" in docs/recovery.md).

They are never resent on their own (at most once). The merchant sees them on the dashboard and
in the API and decides: **resend** (accepting that the shopper may get it twice; the claim still
re-checks every rule, so an order, an unsubscribe or a cart change since then stops it) or
**write off** (it counts as not sent; the cart's later steps go on as planned).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ..models import Reminder

LATER_STEP_SENT = "later_step_sent"
NOT_LOST = "not_lost"


@dataclass
class Resolution:
    done: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # id -> NOT_LOST | LATER_STEP_SENT


def _lost(store, ids):
    return (
        Reminder.objects.select_for_update(of=("self",))
        .select_related("step")
        .filter(store=store, pk__in=list(ids), status=Reminder.Status.UNKNOWN)
        .order_by("pk")
    )


@transaction.atomic
def resend_lost(*, store, reminder_ids, now=None) -> Resolution:
    """Plan the lost reminders ``reminder_ids`` of ``store`` again, due now. A reminder whose cart
    has already had a later step is refused: an earlier message after a later one makes no sense."""
    now = now or timezone.now()
    ids = {int(i) for i in reminder_ids}
    result = Resolution()
    for reminder in _lost(store, ids):
        later = (
            Reminder.objects.filter(
                tracked_id=reminder.tracked_id,
                step__position__gt=reminder.step.position,
                status__in=[Reminder.Status.SENDING, Reminder.Status.SENT, Reminder.Status.UNKNOWN],
            )
            .exclude(pk=reminder.pk)
            .exists()
        )
        if later:
            result.refused[reminder.pk] = LATER_STEP_SENT
            continue
        Reminder.objects.filter(pk=reminder.pk).update(
            status=Reminder.Status.PLANNED,
            reason="resend_requested",
            next_attempt_at=now,
            sending_until=None,
            handoff_at=None,
            updated_at=now,
        )
        result.done.append(reminder.pk)
    for missing in sorted(ids - set(result.done) - set(result.refused)):
        result.refused[missing] = NOT_LOST
    return result


@transaction.atomic
def write_off_lost(*, store, reminder_ids, now=None) -> Resolution:
    """Accept the lost reminders ``reminder_ids`` of ``store`` as not sent (status failed, reason
    ``written_off``): they leave the list and are never sent."""
    now = now or timezone.now()
    ids = {int(i) for i in reminder_ids}
    result = Resolution()
    for reminder in _lost(store, ids):
        Reminder.objects.filter(pk=reminder.pk).update(
            status=Reminder.Status.FAILED, reason="written_off", sending_until=None, updated_at=now
        )
        result.done.append(reminder.pk)
    for missing in sorted(ids - set(result.done)):
        result.refused[missing] = NOT_LOST
    return result
