"""Refunds through a payment's gateway, full or partial, recorded on the order.

``refund_payment`` writes a ``PaymentRefund`` first (its reference is the idempotency key the
gateway sees), under a lock on the payment so two refunds cannot give back more than was paid,
then asks the gateway. Gateways that confirm later (Przelewy24) leave the refund pending until
their verified notification calls ``refund_settled``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import events

from ..models import Order, Payment, PaymentMethod, PaymentRefund, Return
from .base import PaymentGatewayError, get_provider

log = logging.getLogger("orders.payments")


#: Money went back to the shopper: a gateway refund succeeded (whatever started it) or an accepted
#: return was marked refunded. Payload: ``order_id`` and ``refund_id`` or ``return_id``.
ORDER_REFUNDED = "order.refunded"


def refunded_total(order: Order) -> Decimal:
    """What ``order`` has given back, each refund once: succeeded gateway refunds (refund page,
    returns, cancellation) plus returns refunded outside the gateway (their ``refund_amount``).
    The reports count the same (``reports.selectors.common.completed_refunds``)."""
    gateway = PaymentRefund.objects.filter(order=order, status=PaymentRefund.Status.SUCCEEDED).aggregate(
        s=Sum("amount")
    )["s"]
    offline = (
        Return.objects.filter(order=order, status=Return.Status.REFUNDED)
        .exclude(payment_refunds__status=PaymentRefund.Status.SUCCEEDED)
        .aggregate(s=Sum("refund_amount"))["s"]
    )
    return (gateway or Decimal("0")) + (offline or Decimal("0"))


class RefundRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refundable(payment: Payment) -> Decimal:
    """What may still be given back: paid minus refunds pending or done."""
    taken = payment.refunds.exclude(status=PaymentRefund.Status.FAILED).aggregate(s=Sum("amount"))["s"]
    return payment.amount - (taken or Decimal("0"))


def refund_payment(
    *,
    payment: Payment,
    amount: Decimal | None = None,
    reason: str = "",
    source: str = PaymentRefund.Source.MANUAL,
    return_request: Return | None = None,
) -> PaymentRefund:
    provider = get_provider(payment.provider)
    if not provider.supports_refunds:
        raise RefundRefused(_("This payment cannot be refunded online."))
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in (Payment.Status.PAID, Payment.Status.REFUNDED):
            raise RefundRefused(_("Only a paid payment can be refunded."))
        left = refundable(payment)
        amount = left if amount is None else Decimal(amount)
        if amount <= 0 or amount > left:
            raise RefundRefused(
                _("A refund must be more than 0 and at most %(left)s %(currency)s.")
                % {"left": left, "currency": payment.currency}
            )
        refund = PaymentRefund.objects.create(
            payment=payment,
            order_id=payment.order_id,
            amount=amount,
            currency=payment.currency,
            reason=reason[:255],
            source=source,
            return_request=return_request,
        )
    _send(refund, provider=provider, payment=payment)
    refund.refresh_from_db()
    return refund


def _send(refund: PaymentRefund, *, provider, payment: Payment) -> None:
    """Ask the gateway for ``refund`` under its own reference (the gateway's idempotency key).

    A gateway that answers "no" (4xx) and has no refund under our reference fails the refund. A
    "duplicate reference" answer means an earlier request (whose answer was lost) made the refund:
    the provider looks it up and answers with its state. A gateway that cannot be reached (timeout,
    5xx), or that has our reference without showing the refund ("unknown"), leaves the outcome
    unknown: the refund stays pending without a gateway reference, and
    :func:`resend_unconfirmed_refund` asks again with the same reference (answered "duplicate",
    then looked up), so the money can never go back twice. A late notification settles it too."""
    try:
        result = provider.refund(payment, refund.amount, reference=refund.reference, reason=refund.reason)
    except PaymentGatewayError as exc:
        refund.message = (_("Gateway unreachable, will ask again: %(error)s") % {"error": exc.message})[:255]
        refund.save(update_fields=["message", "updated_at"])
        raise
    if result.status == "unknown":  # stays pending and unconfirmed: asked again, never failed
        refund.message = (_("Gateway unreachable, will ask again: %(error)s") % {"error": result.message})[
            :255
        ]
        refund.save(update_fields=["message", "updated_at"])
        return
    refund.gateway_reference = result.gateway_reference[:100]
    refund.message = result.message[:255]
    refund.save(update_fields=["gateway_reference", "message", "updated_at"])
    if result.status == "succeeded":
        refund_settled(refund=refund, ok=True, message=result.message)
    elif not result.ok:
        refund_settled(refund=refund, ok=False, message=result.message)
    else:
        _note(refund, _("Refund %(ref)s of %(amount)s %(currency)s requested"))


def unconfirmed_refunds(*, older_than_seconds: int = 120):
    """Refunds whose request never got an answer from the gateway (unreachable, or the worker
    died between recording the refund and asking)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return PaymentRefund.objects.filter(
        status=PaymentRefund.Status.PENDING, gateway_reference="", updated_at__lt=cutoff
    )


def _resend_unconfirmed(queryset) -> PaymentGatewayError | None:
    for refund in queryset.filter(status=PaymentRefund.Status.PENDING, gateway_reference=""):
        try:
            resend_unconfirmed_refund(refund=refund)
        except PaymentGatewayError as exc:
            return exc
    return None


def resend_unconfirmed_refund(*, refund: PaymentRefund) -> PaymentRefund:
    """Ask the gateway again for a refund it never answered, with the same reference."""
    with transaction.atomic():
        refund = (
            PaymentRefund.objects.select_for_update(of=("self",)).select_related("payment").get(pk=refund.pk)
        )
        if refund.status != PaymentRefund.Status.PENDING or refund.gateway_reference:
            return refund
        _send(refund, provider=get_provider(refund.payment.provider), payment=refund.payment)
    refund.refresh_from_db()
    return refund


def _gateway_refunds(code: str) -> bool:
    try:
        return get_provider(code).supports_refunds
    except KeyError:  # a marketplace's own payment (Allegro, BaseLinker, ...): it refunds, not us
        return False


def online_payments(order: Order) -> list[Payment]:
    """The order's paid payments a gateway of ours can refund, newest first."""
    return [
        p
        for p in order.payments.filter(status=Payment.Status.PAID).order_by("-pk")
        if p.provider != Payment.GIFT_CARD and _gateway_refunds(p.provider)
    ]


def refundable_online(order: Order, payments: list[Payment] | None = None) -> Decimal:
    """What the order's gateways can still give back (the most a refund of it may be)."""
    payments = online_payments(order) if payments is None else payments
    return sum((refundable(p) for p in payments), Decimal("0"))


def refund_order(
    *,
    order: Order,
    amount: Decimal | None = None,
    reason: str = "",
    source: str = PaymentRefund.Source.MANUAL,
    return_request: Return | None = None,
) -> list[PaymentRefund]:
    """Give back ``amount`` (default: everything still refundable) of an order's online
    payments, newest first: what an accepted return or a cancellation of a paid order calls."""
    payments = online_payments(order)
    left = refundable_online(order, payments) if amount is None else Decimal(amount)
    refunds = []
    for payment in payments:
        if left <= 0:
            break
        part = min(left, refundable(payment))
        if part > 0:
            refunds.append(
                refund_payment(
                    payment=payment, amount=part, reason=reason, source=source, return_request=return_request
                )
            )
            left -= part
    return refunds


@transaction.atomic
def refund_settled(*, refund: PaymentRefund, ok: bool, message: str = "") -> bool:
    """The gateway says a refund went through (or not). Idempotent: False when nothing changed.
    A success settles any refund of ours, also one marked failed (the gateway has the last word).

    Lock order (orders/locking.py): Order → Return → Payment → PaymentRefund."""
    order_id, payment_id, return_id = (
        PaymentRefund.objects.filter(pk=refund.pk)
        .values_list("order_id", "payment_id", "return_request_id")
        .get()
    )
    Order.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
    if return_id:
        Return.objects.select_for_update(of=("self",)).filter(pk=return_id).first()
    Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()
    refund = PaymentRefund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
    # A refund we marked failed that the gateway then completes (a late FINALIZED notification) did
    # give the money back: it is recorded, whatever we thought of it before.
    late = refund.status == PaymentRefund.Status.FAILED and ok
    if refund.status != PaymentRefund.Status.PENDING and not late:
        return False
    if late:
        log.warning("refund %s marked failed was completed by the gateway", refund.reference)
    refund.status = PaymentRefund.Status.SUCCEEDED if ok else PaymentRefund.Status.FAILED
    refund.message = (message or refund.message)[:255]
    refund.save(update_fields=["status", "message", "updated_at"])
    if not ok:
        _note(refund, _("Refund %(ref)s of %(amount)s %(currency)s was refused by the gateway"))
        return True
    payment = Payment.objects.get(pk=refund.payment_id)  # locked above
    done = payment.refunds.filter(status=PaymentRefund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    if done >= payment.amount and payment.status != Payment.Status.REFUNDED:
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.REFUNDED)
    order = Order.objects.get(pk=refund.order_id)  # locked above
    refunded = PaymentRefund.objects.filter(order=order, status=PaymentRefund.Status.SUCCEEDED).aggregate(
        s=Sum("amount")
    )["s"]
    paid = order.payments.filter(status__in=[Payment.Status.PAID, Payment.Status.REFUNDED]).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    state = Order.PaymentStatus.REFUNDED if refunded >= paid else Order.PaymentStatus.PARTIALLY_REFUNDED
    Order.objects.filter(pk=order.pk).update(payment_status=state)
    if state == Order.PaymentStatus.REFUNDED:
        from ..services.workflow import withdraw_paid_goods

        withdraw_paid_goods(order)  # all the money is back: bought gift cards and downloads end
    _note(refund, _("Refund %(ref)s of %(amount)s %(currency)s completed"))
    if refund.return_request_id:
        _close_refunded_return(refund.return_request_id)
    events.publish(
        type=ORDER_REFUNDED, payload={"order_id": order.pk, "refund_id": refund.pk}, store=order.store
    )
    return True


def _close_refunded_return(return_id: int) -> None:
    """An accepted return whose gateway refunds now cover its amount becomes "refunded"."""
    ret = Return.objects.select_for_update().get(pk=return_id)
    done = ret.payment_refunds.filter(status=PaymentRefund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    if ret.status == Return.Status.ACCEPTED and (done or 0) >= ret.refund_amount:
        ret.status = Return.Status.REFUNDED
        ret.refunded_at = timezone.now()
        ret.save(update_fields=["status", "refunded_at"])


# --- Automatic refunds: accepted returns and cancelled paid orders -------------------------------


@dataclass
class AutoRefund:
    """What an automatic refund did. ``retry`` is True when a gateway was unreachable (timeout,
    5xx): the caller (a Celery task) tries again later; nothing was given back twice."""

    refunds: list[PaymentRefund] = field(default_factory=list)
    manual_amount: Decimal = Decimal("0")
    error: str = ""
    retry: bool = False


def _transient(exc: PaymentGatewayError) -> bool:
    return exc.status is None or exc.status >= 500 or exc.status == 429


def _already(queryset) -> Decimal:
    return queryset.exclude(status=PaymentRefund.Status.FAILED).aggregate(s=Sum("amount"))["s"] or Decimal(
        "0"
    )


def _give_back(*, order: Order, amount: Decimal, reason: str, source: str, return_request=None) -> AutoRefund:
    outcome = AutoRefund()
    online = refundable_online(order)
    to_gateway = min(amount, online)
    outcome.manual_amount = amount - to_gateway
    if to_gateway > 0:
        try:
            outcome.refunds = refund_order(
                order=order, amount=to_gateway, reason=reason, source=source, return_request=return_request
            )
        except (PaymentGatewayError, RefundRefused) as exc:
            outcome.error = exc.message
            outcome.retry = isinstance(exc, PaymentGatewayError) and _transient(exc)
            log.warning("automatic refund for order %s failed: %s", order.number, exc.message)
    failed = [r for r in outcome.refunds if r.status == PaymentRefund.Status.FAILED]
    if failed and not outcome.error:
        outcome.error = failed[0].message or _("The gateway refused the refund.")
    return outcome


def refund_accepted_return(*, return_request: Return) -> AutoRefund:
    """Give back an accepted return's amount through the order's gateways (what is left of it:
    running twice never refunds twice; the return row is locked while the gateway is asked).
    What no gateway can take back (bank transfer, cash on delivery) is left to staff, with a note
    pointing at the shopper's bank account from the return form."""
    with transaction.atomic():
        # Lock order (orders/locking.py): the order before its return, as returns.py takes them.
        Order.objects.select_for_update(of=("self",)).filter(pk=return_request.order_id).first()
        ret = Return.objects.select_for_update(of=("self",)).select_related("order").get(pk=return_request.pk)
        if ret.status != Return.Status.ACCEPTED or ret.refund_amount <= 0:
            return AutoRefund()
        unreachable = _resend_unconfirmed(ret.payment_refunds.all())
        if unreachable:
            return AutoRefund(error=unreachable.message, retry=True)
        left = ret.refund_amount - _already(ret.payment_refunds.all())
        if left <= 0:
            return AutoRefund()
        order = ret.order
        outcome = _give_back(
            order=order,
            amount=left,
            reason=_("Return #%(id)d") % {"id": ret.pk},
            source=PaymentRefund.Source.RETURN,
            return_request=ret,
        )
        _explain(order, outcome, what=_("return #%(id)d") % {"id": ret.pk}, bank_account=ret.bank_account)
    return outcome


def refund_cancelled_order(*, order: Order) -> AutoRefund:
    """Give back what a paid order that was then cancelled took through its gateways."""
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if order.status != Order.Status.CANCELLED:
            return AutoRefund()
        unreachable = _resend_unconfirmed(PaymentRefund.objects.filter(order=order))
        if unreachable:
            return AutoRefund(error=unreachable.message, retry=True)
        paid = order.payments.filter(status__in=[Payment.Status.PAID, Payment.Status.REFUNDED]).exclude(
            provider=Payment.GIFT_CARD
        )
        taken = paid.aggregate(s=Sum("amount"))["s"] or Decimal("0")
        left = taken - _already(PaymentRefund.objects.filter(order=order))
        if left <= 0:
            return AutoRefund()
        outcome = _give_back(
            order=order,
            amount=left,
            reason=_("Order %(number)s cancelled") % {"number": order.number},
            source=PaymentRefund.Source.CANCELLATION,
        )
        _explain(order, outcome, what=_("the cancellation"), bank_account="")
    return outcome


def _explain(order: Order, outcome: AutoRefund, *, what: str, bank_account: str) -> None:
    from ..services.workflow import add_note

    if outcome.error and not outcome.retry:
        add_note(
            order=order,
            text=_("Automatic refund for %(what)s failed: %(error)s. Refund it from the order page.")
            % {"what": what, "error": outcome.error},
        )
    if outcome.manual_amount > 0:
        text = _(
            "%(amount)s %(currency)s for %(what)s cannot be refunded through a gateway: send it back by hand"
        )
        if bank_account:
            text += _(" to the account %(account)s given by the shopper")
        add_note(
            order=order,
            text=(text + ".")
            % {
                "amount": outcome.manual_amount,
                "currency": order.currency,
                "what": what,
                "account": bank_account,
            },
        )


def returns_due_for_refund():
    """Accepted returns with money to give back through a gateway and no refund attempt yet:
    the safety net for a refund task lost with the broker (failed attempts are left to staff)."""
    online = [code for code in PaymentMethod.Provider.values if _gateway_refunds(code)]
    return Return.objects.filter(
        status=Return.Status.ACCEPTED,
        refund_amount__gt=0,
        payment_refunds__isnull=True,
        order__payments__status=Payment.Status.PAID,
        order__payments__provider__in=online,
    ).distinct()


def cancelled_orders_due_for_refund():
    online = [code for code in PaymentMethod.Provider.values if _gateway_refunds(code)]
    return Order.objects.filter(
        status=Order.Status.CANCELLED,
        payment_refunds__isnull=True,
        payments__status=Payment.Status.PAID,
        payments__provider__in=online,
    ).distinct()


def _note(refund: PaymentRefund, text: str) -> None:
    from ..services.workflow import add_note

    order = Order.objects.get(pk=refund.order_id)
    add_note(
        order=order,
        text=text % {"ref": refund.reference, "amount": refund.amount, "currency": refund.currency},
    )
