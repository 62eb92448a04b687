"""Suppression, the retention purge, and a shopper's export and erasure."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import Cart, ConsentRecord

from ..models import PushSubscription, Reminder, Restore, Suppression, TrackedCart, TrackingEvent
from .detection import cancel_planned


@transaction.atomic
def suppress(*, store, email: str, source: str = "link") -> Suppression:
    """Unsubscribe ``email`` from every reminder of ``store``, effective immediately: planned
    reminders are cancelled now, and the claim re-checks the list before every send."""
    email = (email or "").strip().lower()
    try:
        with transaction.atomic():
            suppression = Suppression.objects.create(store=store, email=email, source=source)
    except IntegrityError:
        suppression = Suppression.objects.get(store=store, email=email)
    tracked = TrackedCart.objects.filter(
        store=store,
        email=email,
        state__in=[TrackedCart.State.ACTIVE, TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED],
    )
    ids = list(tracked.values_list("pk", flat=True))
    TrackedCart.objects.filter(pk__in=ids).update(
        state=TrackedCart.State.OPTED_OUT, updated_at=timezone.now()
    )
    cancel_planned(tracked_ids=ids, reason="suppressed")
    # Carts not tracked yet but already carrying this address are caught at detection.
    return suppression


def _anonymise_tracked(ids: list[int], now) -> None:
    TrackedCart.objects.filter(pk__in=ids).update(
        email="", phone="", shopper_timezone="", snapshot=[], purged_at=now
    )
    Reminder.objects.filter(tracked_id__in=ids).update(recipient="", last_error="")


@transaction.atomic
def purge_expired(*, now=None, batch_size: int = 1000) -> int:
    """Blank the personal data of carts abandoned more than RECOVERY_RETENTION_DAYS ago: our
    copies (email, phone, time zone, line snapshot, recipients) and the abandoned cart's own
    email and checkout answers. Counts for the dashboard stay; consent records (evidence) stay."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RECOVERY_RETENTION_DAYS)
    total = 0
    while True:
        rows = list(
            TrackedCart.objects.filter(purged_at__isnull=True, abandoned_at__lt=cutoff).values_list(
                "pk", "cart_id"
            )[:batch_size]
        )
        if not rows:
            break
        ids = [r[0] for r in rows]
        cart_ids = [r[1] for r in rows if r[1]]
        _anonymise_tracked(ids, now)
        cancel_planned(tracked_ids=ids, reason="purged")
        Cart.objects.filter(pk__in=cart_ids, status=Cart.Status.OPEN).update(
            email="", checkout={}, email_captured_at=None
        )
        PushSubscription.objects.filter(cart_id__in=cart_ids).delete()
        total += len(ids)
        if len(rows) < batch_size:
            break
    return total


def export_shopper(*, store, email: str) -> dict:
    """Everything recovery holds about ``email`` in ``store``, as JSON-ready data."""
    email = (email or "").strip().lower()
    tracked = TrackedCart.objects.filter(store=store, email=email).order_by("pk")
    data = {
        "store": store.domain,
        "email": email,
        "tracked_carts": [],
        "suppressed": None,
        "push_subscriptions": [],
        # Every consent answer per channel, with the text and version shown (kept as evidence).
        "consents": [
            {
                "channel": c.channel,
                "granted": c.granted,
                "text": c.text,
                "version": c.version,
                "source": c.source,
                "at": c.created_at.isoformat(),
            }
            for c in ConsentRecord.objects.filter(store=store, email__iexact=email).order_by(
                "created_at", "pk"
            )
        ],
    }
    for t in tracked:
        data["tracked_carts"].append(
            {
                "cart": t.cart_id,
                "state": t.state,
                "language": t.language,
                "timezone": t.shopper_timezone,
                "phone": t.phone,
                "abandoned_at": t.abandoned_at.isoformat() if t.abandoned_at else None,
                "value": str(t.cart_value),
                "lines": t.snapshot,
                "reminders": [
                    {
                        "step": r.step.position,
                        "channel": r.channel,
                        "status": r.status,
                        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                        "opened_at": r.opened_at.isoformat() if r.opened_at else None,
                        "clicked_at": r.clicked_at.isoformat() if r.clicked_at else None,
                    }
                    for r in t.reminders.select_related("step").order_by("step__position")
                ],
                "events": [
                    {"kind": e.kind, "at": e.created_at.isoformat()} for e in t.events.order_by("created_at")
                ],
            }
        )
    suppression = Suppression.objects.filter(store=store, email=email).first()
    if suppression:
        data["suppressed"] = suppression.created_at.isoformat()
    for sub in PushSubscription.objects.filter(store=store, email=email):
        data["push_subscriptions"].append(
            {"endpoint": sub.endpoint, "created_at": sub.created_at.isoformat()}
        )
    return data


@transaction.atomic
def erase_shopper(*, store, email: str, keep_suppression: bool = True) -> dict[str, int]:
    """Erase ``email`` from recovery in ``store``. The suppression entry is kept by default so
    the address is never contacted again (that is the point of erasing); pass
    ``keep_suppression=False`` to remove it too."""
    email = (email or "").strip().lower()
    now = timezone.now()
    ids = list(TrackedCart.objects.filter(store=store, email=email).values_list("pk", flat=True))
    cart_ids = list(
        TrackedCart.objects.filter(pk__in=ids).exclude(cart=None).values_list("cart_id", flat=True)
    )
    cancel_planned(tracked_ids=ids, reason="erased")
    TrackingEvent.objects.filter(tracked_id__in=ids).delete()
    Restore.objects.filter(tracked_id__in=ids).delete()
    _anonymise_tracked(ids, now)
    Cart.objects.filter(pk__in=cart_ids, status=Cart.Status.OPEN).update(
        email="", checkout={}, email_captured_at=None
    )
    pushes, _ = PushSubscription.objects.filter(store=store, email=email).delete()
    suppressions = 0
    if not keep_suppression:
        suppressions, _ = Suppression.objects.filter(store=store, email=email).delete()
    return {"tracked_carts": len(ids), "push_subscriptions": pushes, "suppressions": suppressions}
