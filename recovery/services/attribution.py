"""What shoppers did with the messages: opens, clicks, restores, and the orders that followed.

An order is *recovered via link* when it was placed from a cart filled by a restore link, and
*recovered after a click* when the same cart or email clicked a reminder within
RECOVERY_ATTRIBUTION_DAYS before the order. Nothing else counts: an order by the same email at
some later point is "ordered", not "recovered".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import Cart, Order

from .. import carts
from ..models import Reminder, Restore, TrackedCart, TrackingEvent
from .detection import cancel_planned

log = logging.getLogger(__name__)

OPEN_STATES = [TrackedCart.State.ABANDONED, TrackedCart.State.REMINDED, TrackedCart.State.ACTIVE]


def record_open(*, reminder_id: int) -> bool:
    reminder = Reminder.objects.filter(pk=reminder_id).select_related("tracked").first()
    if reminder is None:
        return False
    now = timezone.now()
    TrackingEvent.objects.create(tracked=reminder.tracked, reminder=reminder, kind=TrackingEvent.Kind.OPEN)
    Reminder.objects.filter(pk=reminder.pk, opened_at__isnull=True).update(opened_at=now)
    return True


def record_click(*, reminder_id: int, now=None) -> Reminder | None:
    reminder = Reminder.objects.filter(pk=reminder_id).select_related("tracked").first()
    if reminder is None:
        return None
    now = now or timezone.now()
    TrackingEvent.objects.create(
        tracked=reminder.tracked, reminder=reminder, kind=TrackingEvent.Kind.CLICK, created_at=now
    )
    # A click implies the message was opened (images may be blocked).
    Reminder.objects.filter(pk=reminder.pk, clicked_at__isnull=True).update(clicked_at=now)
    Reminder.objects.filter(pk=reminder.pk, opened_at__isnull=True).update(opened_at=now)
    TrackedCart.objects.filter(pk=reminder.tracked_id).update(clicked_at=now)
    return reminder


@dataclass
class RestoreResult:
    cart: Cart | None
    restored: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    coupon_applied: bool = False
    coupon_code: str = ""
    already_ordered: bool = False


def restore_cart(*, request, store, tracked_id: int, cart_id: int, reminder_id: int | None) -> RestoreResult:
    """Fill the visitor's cart (this session, any device) with the tracked cart's lines at today's
    prices and apply the step's coupon. The original cart's email, address and consent are not
    copied and nobody is logged in: whoever holds the link sees the products, nothing else."""
    from catalog.models import Variant

    tracked = TrackedCart.objects.filter(pk=tracked_id, cart_id=cart_id, store=store).first()
    if tracked is None:
        return RestoreResult(cart=None)
    original = Cart.objects.filter(pk=cart_id).first()
    if original is None or original.status != Cart.Status.OPEN:
        return RestoreResult(cart=None, already_ordered=True)
    wanted = [(line.variant_id, line.quantity) for line in carts.lines_of(original)]
    if not wanted:
        wanted = [(int(item["variant"]), int(item["quantity"])) for item in tracked.snapshot]
    reminder = None
    if reminder_id:
        reminder = Reminder.objects.filter(pk=reminder_id, tracked=tracked).select_related("voucher").first()
    with transaction.atomic():
        current = carts.visitor_cart(request=request, store=store)
        if current is None:
            # Another device (or a new session): a fresh cart for this visitor rather than the
            # original, which carries the shopper's email and checkout answers.
            current = carts.new_guest_cart(request=request, store=store, language=original.language)
        ok, gone_ids = carts.refill(cart=current, wanted=wanted)
        carts.put_in_session(request=request, cart=current)
        names = {
            v.pk: str(v)
            for v in Variant.objects.filter(pk__in=[w[0] for w in wanted]).select_related("product")
        }
        result = RestoreResult(
            cart=current,
            restored=[names.get(i, "") for i in ok],
            gone=[names.get(i, "?") for i in gone_ids],
        )
        if reminder is not None and reminder.voucher is not None:
            result.coupon_applied = carts.apply_voucher(cart=current, voucher=reminder.voucher)
            result.coupon_code = reminder.voucher.code if result.coupon_applied else ""
        now = timezone.now()
        Restore.objects.create(tracked=tracked, reminder=reminder, cart=current, created_at=now)
        TrackingEvent.objects.create(
            tracked=tracked, reminder=reminder, kind=TrackingEvent.Kind.RESTORE, created_at=now
        )
        TrackedCart.objects.filter(pk=tracked.pk).update(restored_at=now)
    if reminder is not None:
        record_click(reminder_id=reminder.pk)
    return result


def _attribute(order: Order) -> tuple[TrackedCart | None, str]:
    if order.cart_id:
        restore = (
            Restore.objects.filter(cart_id=order.cart_id)
            .select_related("tracked")
            .order_by("-created_at")
            .first()
        )
        if restore is not None:
            return restore.tracked, TrackedCart.Attribution.VIA_LINK
    window_start = order.created_at - timedelta(days=settings.RECOVERY_ATTRIBUTION_DAYS)
    who = Q(cart_id=order.cart_id) if order.cart_id else Q(pk__in=[])
    if order.email:
        who |= Q(email=order.email.strip().lower())
    clicked = (
        TrackedCart.objects.filter(
            who, store_id=order.store_id, clicked_at__gte=window_start, clicked_at__lte=order.created_at
        )
        .exclude(state__in=[TrackedCart.State.RECOVERED])
        .order_by("-clicked_at")
        .first()
    )
    if clicked is not None:
        return clicked, TrackedCart.Attribution.AFTER_CLICK
    return None, ""


@transaction.atomic
def handle_order_placed(*, order_id: int) -> str:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "missing"
    if TrackedCart.objects.filter(recovered_order=order).exists():
        return "already"
    now = timezone.now()
    tracked, via = _attribute(order)
    result = "none"
    if tracked is not None:
        TrackedCart.objects.filter(pk=tracked.pk).update(
            state=TrackedCart.State.RECOVERED,
            recovered_order=order,
            recovered_via=via,
            recovered_at=now,
            recovered_revenue=order.total,
            ordered_at=order.created_at,
            updated_at=now,
        )
        TrackingEvent.objects.create(tracked=tracked, kind=TrackingEvent.Kind.ORDER, created_at=now)
        result = via
    # Every followed cart of this shopper stops: the order's own cart and the same email's.
    who = Q(cart_id=order.cart_id) if order.cart_id else Q(pk__in=[])
    if order.email:
        who |= Q(email=order.email.strip().lower())
    others = TrackedCart.objects.filter(who, store_id=order.store_id, state__in=OPEN_STATES)
    if tracked is not None:
        others = others.exclude(pk=tracked.pk)
    other_ids = list(others.values_list("pk", flat=True))
    if other_ids:
        TrackedCart.objects.filter(pk__in=other_ids).exclude(state=TrackedCart.State.ACTIVE).update(
            state=TrackedCart.State.ORDERED, ordered_at=order.created_at, updated_at=now
        )
    stop = [*other_ids, *([tracked.pk] if tracked is not None else [])]
    if stop:
        cancel_planned(tracked_ids=stop, reason="ordered")
    return result


def handle_order_event(event) -> None:
    order_id = event.payload.get("order_id") or event.payload.get("order")
    if order_id:
        handle_order_placed(order_id=int(order_id))
