"""Returns ("szybkie zwroty"): a shopper asks, the merchant accepts or rejects, the shop restocks
and computes the refund.

Rules:

- Only shipped or delivered orders can be returned, within ``RETURN_WINDOW_DAYS`` of delivery
  (of shipping while the delivery date is unknown).
- Digital goods and gift cards are not returned here: downloaded content and issued codes cannot
  be sent back (the 14-day withdrawal right ends with delivery of digital content).
- A line can be returned up to the units bought minus the units in open or accepted returns, so
  a double-submitted form or two tabs cannot ask for the same unit twice (the order row is locked
  while a request is checked and written).
- The refund of a line is its gross total after its share of the order's discount, pro rata to
  the units returned; the last units of a line take the remainder, so returning a line in parts
  refunds exactly what was paid for it. If an order-level discount was not spread over the lines,
  it is spread here in proportion to the lines' values. Shipping is refunded only when the
  return completes the return of every returnable unit of the order (EU withdrawal rules: the
  standard delivery cost is refunded on a full withdrawal); the payment fee is never refunded.
- Accepting puts the units back on the shelves they were sold from (``catalog.stock.restock``
  with reason "return") and, once everything was returned, moves the order to "returned".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import stock
from catalog.models import Product, StockMovement
from shop import events
from shop.identifiers import clean_bank_account

from .models import Order, OrderEmail, OrderLine, Return, ReturnLine, money

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
RETURNABLE_STATUSES = (Order.Status.SHIPPED, Order.Status.DELIVERED)
NOT_RETURNABLE_KINDS = (Product.Kind.DIGITAL, Product.Kind.GIFT_CARD)
# Returns whose units are "taken": a rejected return frees its units for a new request.
OPEN_STATUSES = (Return.Status.REQUESTED, Return.Status.ACCEPTED, Return.Status.REFUNDED)
DONE_STATUSES = (Return.Status.ACCEPTED, Return.Status.REFUNDED)

RETURN_REQUESTED = "return.requested"
RETURN_ACCEPTED = "return.accepted"
RETURN_REJECTED = "return.rejected"


class ReturnError(Exception):
    """A return the shop refuses, with a message fit for the shopper or the merchant."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class ReturnableLine:
    line: OrderLine
    requested: int  # units in open or accepted returns
    returnable: int  # units the shopper may still ask to return

    @property
    def unit_price(self) -> Decimal:
        return self.line.unit_price


def window_days() -> int:
    return int(settings.RETURN_WINDOW_DAYS)


def return_deadline(order: Order) -> datetime | None:
    """Until when the shopper may ask for a return (None: not shipped yet)."""
    start = order.delivered_at or order.shipped_at
    if start is None:
        return None
    return start + timedelta(days=window_days())


def returnable_lines(order: Order, lines=None) -> list[ReturnableLine]:
    """Each returnable line with its units already asked for. Two queries (or one when the
    lines are passed in)."""
    lines = list(order.lines.all()) if lines is None else list(lines)
    taken = dict(
        ReturnLine.objects.filter(order_line__order=order, return_request__status__in=OPEN_STATUSES)
        .values("order_line_id")
        .annotate(n=Sum("quantity"))
        .values_list("order_line_id", "n")
    )
    return [
        ReturnableLine(
            line=line, requested=taken.get(line.pk, 0), returnable=line.quantity - taken.get(line.pk, 0)
        )
        for line in lines
        if line.product_kind not in NOT_RETURNABLE_KINDS
    ]


def can_request_return(order: Order, lines=None) -> bool:
    """Whether the shopper may ask to return something from this order right now."""
    if return_refusal(order):
        return False
    return any(r.returnable > 0 for r in returnable_lines(order, lines))


def return_refusal(order: Order, *, now: datetime | None = None) -> str:
    """Why the order cannot be returned now, or ``""`` when it can (lines aside)."""
    now = now or timezone.now()
    if order.status not in RETURNABLE_STATUSES:
        if order.status == Order.Status.RETURNED:
            return _("This order has already been returned.")
        return _("Only shipped or delivered orders can be returned.")
    deadline = return_deadline(order)
    if deadline is None or now > deadline:
        return _("The %(days)d-day return period for this order has ended.") % {"days": window_days()}
    return ""


# --- Refund computation ---------------------------------------------------------------------------


def _line_values(lines: list[OrderLine], order: Order) -> dict[int, Decimal]:
    """What each line was paid, after discounts: its own discount, plus any order-level discount
    the lines do not carry, spread in proportion to the lines' values (last line: remainder)."""
    values = {line.pk: line.total - line.discount for line in lines}
    unspread = order.discount_total - sum((line.discount for line in lines), ZERO)
    base = sum(values.values(), ZERO)
    if unspread > 0 and base > 0:
        left = unspread
        ordered = sorted(lines, key=lambda line: (line.position, line.pk))
        for i, line in enumerate(ordered):
            share = left if i == len(ordered) - 1 else money(unspread * values[line.pk] / base)
            share = min(share, values[line.pk])
            values[line.pk] -= share
            left -= share
    return values


def line_refund(
    *, line_value: Decimal, line_quantity: int, quantity: int, already_units: int, already_amount: Decimal
) -> Decimal:
    """Refund for ``quantity`` units of a line worth ``line_value`` for ``line_quantity`` units,
    when ``already_units`` were refunded (``already_amount``) before. The last units take the
    remainder, so the parts always add up to the line."""
    if already_units + quantity >= line_quantity:
        return max(ZERO, line_value - already_amount)
    return money(line_value * quantity / line_quantity)


def compute_refund(
    *,
    order: Order,
    items: dict[int, int],
    exclude_return_id: int | None = None,
    statuses: tuple[str, ...] = OPEN_STATUSES,
) -> tuple[dict[int, Decimal], Decimal, bool]:
    """(refund per line id, shipping refund, completes the order's return) for returning
    ``items`` (order line id -> units) on top of the order's other returns in ``statuses``
    (open ones for the estimate shown when asking, decided ones when accepting)."""
    lines = list(order.lines.all())
    values = _line_values(lines, order)
    others = Return.objects.filter(order=order, status__in=statuses)
    if exclude_return_id is not None:
        others = others.exclude(pk=exclude_return_id)
    others = list(others.prefetch_related("lines"))
    done_units: dict[int, int] = {}
    done_amount: dict[int, Decimal] = {}
    shipping_refunded = ZERO
    for other in others:
        lines_amount = ZERO
        for rl in other.lines.all():
            done_units[rl.order_line_id] = done_units.get(rl.order_line_id, 0) + rl.quantity
            done_amount[rl.order_line_id] = done_amount.get(rl.order_line_id, ZERO) + rl.refund_amount
            lines_amount += rl.refund_amount
        shipping_refunded += other.refund_amount - lines_amount
    per_line = {}
    by_id = {line.pk: line for line in lines}
    for line_id, quantity in items.items():
        line = by_id[line_id]
        per_line[line_id] = line_refund(
            line_value=values[line_id],
            line_quantity=line.quantity,
            quantity=quantity,
            already_units=done_units.get(line_id, 0),
            already_amount=done_amount.get(line_id, ZERO),
        )
    returnable = [line for line in lines if line.product_kind not in NOT_RETURNABLE_KINDS]
    complete = all(done_units.get(line.pk, 0) + items.get(line.pk, 0) >= line.quantity for line in returnable)
    shipping = max(ZERO, order.shipping_total - shipping_refunded) if complete else ZERO
    return per_line, shipping, complete


# --- Requesting ---------------------------------------------------------------------------------------


def _clean_items(order: Order, items: dict) -> dict[int, int]:
    cleaned: dict[int, int] = {}
    for key, value in (items or {}).items():
        try:
            line_id, quantity = int(key), int(value)
        except (TypeError, ValueError):
            raise ReturnError(_("Enter whole numbers of units to return."), field="lines") from None
        if quantity < 0:
            raise ReturnError(_("Quantities cannot be negative."), field="lines")
        if quantity:
            cleaned[line_id] = cleaned.get(line_id, 0) + quantity
    if not cleaned:
        raise ReturnError(_("Choose at least one item to return."), field="lines")
    return cleaned


@transaction.atomic
def request_return(
    *,
    order: Order,
    items: dict[int, int],
    reason: str,
    comment: str = "",
    bank_account: str = "",
    user=None,
) -> Return:
    """Ask to return ``items`` (order line id -> units) of ``order``.

    Raises :class:`ReturnError` for lines of another order, digital goods, more units than are
    left to return (which is also what a double-submitted form gets), orders that were not
    shipped, or after the return period.
    """
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
    refusal = return_refusal(order)
    if refusal:
        raise ReturnError(refusal)
    if reason not in Return.Reason.values:
        raise ReturnError(_("Choose a reason for the return."), field="reason")
    try:
        bank_account = clean_bank_account(bank_account)
    except ValidationError as exc:
        raise ReturnError(exc.messages[0], field="bank_account") from None
    items = _clean_items(order, items)
    available = {r.line.pk: r for r in returnable_lines(order)}
    all_lines = set(order.lines.values_list("pk", flat=True))
    for line_id, quantity in items.items():
        if line_id not in all_lines:
            raise ReturnError(_("This item is not part of this order."), field="lines")
        entry = available.get(line_id)
        if entry is None:
            raise ReturnError(_("Digital goods and gift cards cannot be returned."), field="lines")
        if quantity > entry.returnable:
            if entry.returnable == 0:
                raise ReturnError(
                    _("%(name)s: you have already asked to return every unit.") % {"name": entry.line.name},
                    field="lines",
                )
            raise ReturnError(
                _("%(name)s: you can return at most %(n)d more.")
                % {"name": entry.line.name, "n": entry.returnable},
                field="lines",
            )
    per_line, shipping, _complete = compute_refund(order=order, items=items)
    return_request = Return.objects.create(
        order=order,
        reason=reason,
        comment=(comment or "").strip()[:2000],
        bank_account=bank_account,
        refund_amount=sum(per_line.values(), ZERO) + shipping,
    )
    ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                return_request=return_request,
                order_line_id=line_id,
                quantity=quantity,
                refund_amount=per_line[line_id],
            )
            for line_id, quantity in sorted(items.items())
        ]
    )
    events.publish(
        type=RETURN_REQUESTED,
        payload={
            "return_id": return_request.pk,
            "order_id": order.pk,
            "order_number": order.number,
            "refund_amount": str(return_request.refund_amount),
            "by_user": user.pk if user is not None and user.is_authenticated else None,
        },
        store=order.store,
    )
    plan_return_email(return_request=return_request, event="requested")
    return return_request


# --- Deciding -----------------------------------------------------------------------------------------


def _lock_return(return_request: Return) -> Return:
    # Order first, then the return: the same order as request_return takes, so no deadlock.
    Order.objects.select_for_update(of=("self",)).filter(pk=return_request.order_id).first()
    return (
        Return.objects.select_for_update(of=("self",))
        .select_related("order__store")
        .get(pk=return_request.pk)
    )


@transaction.atomic
def accept_return(*, return_request: Return, user=None, note: str = "") -> Return:
    """Accept a requested return: restock its units, fix its refund, and close the order when
    everything came back. Accepting twice is refused (no double restock)."""
    ret = _lock_return(return_request)
    if ret.status != Return.Status.REQUESTED:
        raise ReturnError(
            _("Return #%(id)d is already %(status)s.") % {"id": ret.pk, "status": ret.get_status_display()}
        )
    order = ret.order
    lines = list(ret.lines.select_related("order_line__variant__product"))
    items = {rl.order_line_id: rl.quantity for rl in lines}
    per_line, shipping, complete = compute_refund(
        order=order, items=items, exclude_return_id=ret.pk, statuses=DONE_STATUSES
    )
    for rl in lines:
        rl.refund_amount = per_line[rl.order_line_id]
    ReturnLine.objects.bulk_update(lines, ["refund_amount"])
    to_restock = [(rl.order_line.variant, rl.quantity) for rl in lines if rl.order_line.variant is not None]
    if to_restock:
        stock.restock(
            reference=order.reservation_reference,
            lines=to_restock,
            reason=StockMovement.Reason.RETURN,
            user=user,
            store=order.store,
        )
    now = timezone.now()
    ret.status = Return.Status.ACCEPTED
    ret.refund_amount = sum(per_line.values(), ZERO) + shipping
    ret.restocked = bool(to_restock)
    ret.decided_by = user if user is not None and user.is_authenticated else None
    ret.decided_at = now
    if note:
        ret.staff_note = note
    ret.save(update_fields=["status", "refund_amount", "restocked", "decided_by", "decided_at", "staff_note"])
    events.publish(
        type=RETURN_ACCEPTED,
        payload={"return_id": ret.pk, "order_id": order.pk, "refund_amount": str(ret.refund_amount)},
        store=order.store,
    )
    if complete and order.status in RETURNABLE_STATUSES and _everything_returned(order):
        _mark_order_returned(order=order, user=user, return_request=ret)
    plan_return_email(return_request=ret, event="accepted")
    if settings.ORDERS_AUTO_REFUND_RETURNS and ret.refund_amount > 0:
        transaction.on_commit(lambda: _enqueue_refund(ret.pk))
    return ret


def _enqueue_refund(return_id: int) -> None:
    from shop.events import safe_delay

    from .tasks import refund_return

    safe_delay(refund_return, return_id)


@transaction.atomic
def reject_return(*, return_request: Return, user=None, note: str = "") -> Return:
    """Reject a requested return; its units may be asked for again (e.g. with photos)."""
    ret = _lock_return(return_request)
    if ret.status != Return.Status.REQUESTED:
        raise ReturnError(
            _("Return #%(id)d is already %(status)s.") % {"id": ret.pk, "status": ret.get_status_display()}
        )
    ret.status = Return.Status.REJECTED
    ret.refund_amount = ZERO
    ret.decided_by = user if user is not None and user.is_authenticated else None
    ret.decided_at = timezone.now()
    if note:
        ret.staff_note = note
    ret.save(update_fields=["status", "refund_amount", "decided_by", "decided_at", "staff_note"])
    ReturnLine.objects.filter(return_request=ret).update(refund_amount=ZERO)
    events.publish(
        type=RETURN_REJECTED, payload={"return_id": ret.pk, "order_id": ret.order_id}, store=ret.order.store
    )
    plan_return_email(return_request=ret, event="rejected")
    return ret


@transaction.atomic
def mark_refunded(*, return_request: Return, user=None) -> Return:
    """Record that an accepted return's money was sent back; updates the order's payment state."""
    ret = _lock_return(return_request)
    if ret.status != Return.Status.ACCEPTED:
        raise ReturnError(_("Only accepted returns can be marked as refunded."))
    ret.status = Return.Status.REFUNDED
    ret.refunded_at = timezone.now()
    ret.save(update_fields=["status", "refunded_at"])
    order = ret.order
    refunded = (
        Return.objects.filter(order=order, status=Return.Status.REFUNDED).aggregate(n=Sum("refund_amount"))[
            "n"
        ]
        or ZERO
    )
    state = (
        Order.PaymentStatus.REFUNDED if refunded >= order.total else Order.PaymentStatus.PARTIALLY_REFUNDED
    )
    Order.objects.filter(pk=order.pk).update(payment_status=state)
    from .payments.refunds import ORDER_REFUNDED

    events.publish(
        type=ORDER_REFUNDED, payload={"order_id": order.pk, "return_id": ret.pk}, store=order.store
    )
    return ret


def _everything_returned(order: Order) -> bool:
    returned = dict(
        ReturnLine.objects.filter(order_line__order=order, return_request__status__in=DONE_STATUSES)
        .values("order_line_id")
        .annotate(n=Sum("quantity"))
        .values_list("order_line_id", "n")
    )
    return all(
        returned.get(line.pk, 0) >= line.quantity
        for line in order.lines.all()
        if line.product_kind not in NOT_RETURNABLE_KINDS
    )


def _mark_order_returned(*, order: Order, user, return_request: Return) -> None:
    """Move the order to "returned" through the order workflow (history, event, emails)."""
    from .services.workflow import change_status

    note = _("Every item was returned (return #%(id)d).") % {"id": return_request.pk}
    change_status(order=order, status=Order.Status.RETURNED, user=user, note=note)


# --- Emails -----------------------------------------------------------------------------------------

RETURN_EMAIL_EVENTS = ("requested", "accepted", "rejected")


def plan_return_email(*, return_request: Return, event: str):
    """Plan the shopper's email about a return (sent by Celery after commit, in the order's
    language, once per return and event) with the templates ``orders/emails/return_<event>``."""
    from .services.workflow import plan_email

    if event not in RETURN_EMAIL_EVENTS:
        raise ValueError(event)
    order = return_request.order
    return plan_email(
        order,
        OrderEmail.Kind.RETURN,
        key=f"{return_request.pk}:{event}",
        context={
            "template": f"orders/emails/return_{event}",
            "return_id": return_request.pk,
            "event": event,
            "refund_amount": str(return_request.refund_amount),
            "note": return_request.staff_note if event != "requested" else "",
            "lines": [
                {"name": rl.order_line.name, "quantity": rl.quantity}
                for rl in return_request.lines.select_related("order_line").order_by("pk")
            ],
        },
    )
