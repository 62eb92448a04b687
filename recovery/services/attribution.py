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
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import Cart, Order
from orders.payments.refunds import refunded_total

from .. import carts
from ..models import Reminder, Restore, TrackedCart, TrackingEvent
from .detection import cancel_planned
from .publishing import publish_recovered

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


def restore_problem(*, store, tracked_id: int, cart_id: int) -> str:
    """What a restore link would answer, read only (the page a plain GET shows): "" (it can be
    restored), "ordered" or "invalid"."""
    if not TrackedCart.objects.filter(pk=tracked_id, cart_id=cart_id, store=store).exists():
        return "invalid"
    status = Cart.objects.filter(pk=cart_id).values_list("status", flat=True).first()
    return "" if status == Cart.Status.OPEN else "ordered"


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
    clicked = (
        TrackedCart.objects.filter(
            _shopper(order),
            store_id=order.store_id,
            clicked_at__gte=window_start,
            clicked_at__lte=order.created_at,
        )
        .exclude(state__in=[TrackedCart.State.RECOVERED])
        .order_by("-clicked_at")
        .first()
    )
    if clicked is not None:
        return clicked, TrackedCart.Attribution.AFTER_CLICK
    return None, ""


def _shopper(order: Order) -> Q:
    """The tracked carts of the shopper who placed ``order``: its own cart, the same email."""
    who = Q(cart_id=order.cart_id) if order.cart_id else Q(pk__in=[])
    if order.email:
        who |= Q(email=order.email.strip().lower())
    return who


def _ended_by(order: Order):
    """The shopper's followed carts that ``order`` ends: the order's own cart whatever its state
    (every checkout step publishes ``cart_updated``, so a cart being checked out is usually
    "active" when its order arrives), and the same email's other carts whose last activity came
    before the order (a cart touched after the purchase is new shopping, not this sale)."""
    own = Q(cart_id=order.cart_id) if order.cart_id else Q(pk__in=[])
    before = Q(cart__isnull=True) | Q(cart__last_activity_at__lte=order.created_at)
    return TrackedCart.objects.filter(
        own | (_shopper(order) & before), store_id=order.store_id, state__in=OPEN_STATES
    )


@transaction.atomic
def handle_order_placed(*, order_id: int) -> str:
    """Attribute ``order`` once and end the shopper's sequences. Idempotent, and independent of
    the order in which the outbox delivers events: handling the creation, the payment or the
    cancellation first, or again, ends in the same state."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "missing"
    now = timezone.now()
    tracked = TrackedCart.objects.filter(recovered_order=order).first()
    if tracked is not None:
        result = "already"
    else:
        tracked, via = _attribute(order)
        result = via or "none"
        if tracked is not None:
            TrackedCart.objects.filter(pk=tracked.pk).update(
                state=TrackedCart.State.RECOVERED,
                recovered_order=order,
                recovered_via=via,
                recovered_at=now,
                recovered_revenue=net_revenue(order),
                ordered_at=order.created_at,
                updated_at=now,
            )
            TrackingEvent.objects.create(tracked=tracked, kind=TrackingEvent.Kind.ORDER, created_at=now)
            if order.status != Order.Status.CANCELLED:
                publish_recovered(tracked_id=tracked.pk, order=order, via=via)
    # Every followed cart of this shopper that the order ends stops; it counts as "ordered".
    others = _ended_by(order)
    if tracked is not None:
        others = others.exclude(pk=tracked.pk)
    other_ids = list(others.values_list("pk", flat=True))
    if other_ids:
        TrackedCart.objects.filter(pk__in=other_ids).update(
            state=TrackedCart.State.ORDERED, ordered_at=order.created_at, updated_at=now
        )
    stop = [*other_ids, *([tracked.pk] if tracked is not None else [])]
    if stop:
        cancel_planned(tracked_ids=stop, reason="ordered")
    if order.status == Order.Status.CANCELLED:
        # The cancellation was handled first (or the order was cancelled before we saw it).
        handle_order_cancelled(order_id=order.pk)
        return "cancelled"
    return result


@transaction.atomic
def handle_order_cancelled(*, order_id: int) -> int:
    """A cancelled order recovers nothing and converts nobody: the carts it had made "recovered"
    or "ordered" become "cancelled" (no revenue), so the dashboard, the API and the reports,
    which all count by state, stop counting it. Reminders stay stopped: the shopper did order.
    Returns the number of tracked carts changed."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status != Order.Status.CANCELLED:
        return 0
    now = timezone.now()
    recovered = TrackedCart.objects.filter(recovered_order=order, state=TrackedCart.State.RECOVERED)
    changed = recovered.update(
        state=TrackedCart.State.CANCELLED, recovered_revenue=None, recovered_via="", updated_at=now
    )
    # "Ordered" carts keep no link to their order; the order's own cart and the shopper's carts
    # marked ordered at this very order's moment are the ones it ended.
    changed += TrackedCart.objects.filter(
        _shopper(order),
        store_id=order.store_id,
        state=TrackedCart.State.ORDERED,
        ordered_at=order.created_at,
    ).update(state=TrackedCart.State.CANCELLED, updated_at=now)
    return changed


def net_revenue(order: Order) -> Decimal:
    """What a recovered order is worth now: its total less every completed refund, never below
    zero (a fully refunded order recovers no revenue)."""
    return max(Decimal("0.00"), order.total - refunded_total(order))


@transaction.atomic
def handle_order_refunded(*, order_id: int) -> int:
    """Money went back on ``order``: its recovered carts count the total net of every completed
    refund (zero when fully refunded). The cart stays "recovered": the reminder did bring the
    shopper back to a completed sale; a refund is a later after-sales step, unlike a
    cancellation (the sale never happened), which :func:`handle_order_cancelled` handles.
    Recomputed from the order's refunds, not decremented: idempotent and independent of the
    order the events arrive in. Returns the number of tracked carts changed."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return 0
    revenue = net_revenue(order)
    return (
        TrackedCart.objects.filter(recovered_order=order, state=TrackedCart.State.RECOVERED)
        .exclude(recovered_revenue=revenue)
        .update(recovered_revenue=revenue, updated_at=timezone.now())
    )


def handle_refund_event(event) -> None:
    order_id = event.payload.get("order_id")
    if order_id:
        handle_order_refunded(order_id=int(order_id))


def handle_order_event(event) -> None:
    order_id = event.payload.get("order_id") or event.payload.get("order")
    if order_id:
        handle_order_placed(order_id=int(order_id))


def handle_order_status_changed(event) -> None:
    """``order.status_changed`` to cancelled: the order no longer counts (any other status: the
    creation and payment events decide)."""
    order_id = event.payload.get("order_id")
    if order_id and event.payload.get("to") == Order.Status.CANCELLED:
        handle_order_placed(order_id=int(order_id))
