"""Refunds through a payment's gateway, full or partial, recorded on the order.

``refund_payment`` writes a ``PaymentRefund`` first (its reference is the idempotency key the
gateway sees), under a lock on the payment so two refunds cannot give back more than was paid,
then asks the gateway. Gateways that confirm later (Przelewy24) leave the refund pending until
their verified notification calls ``refund_settled``.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from ..models import Order, Payment, PaymentRefund
from .base import PaymentGatewayError, get_provider

log = logging.getLogger("orders.payments")


class RefundRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def refundable(payment: Payment) -> Decimal:
    """What may still be given back: paid minus refunds pending or done."""
    taken = payment.refunds.exclude(status=PaymentRefund.Status.FAILED).aggregate(s=Sum("amount"))["s"]
    return payment.amount - (taken or Decimal("0"))


def refund_payment(*, payment: Payment, amount: Decimal | None = None, reason: str = "") -> PaymentRefund:
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
        )
    try:
        result = provider.refund(payment, amount, reference=refund.reference, reason=reason)
    except PaymentGatewayError as exc:
        refund.status = PaymentRefund.Status.FAILED
        refund.message = exc.message[:255]
        refund.save(update_fields=["status", "message", "updated_at"])
        raise
    refund.gateway_reference = result.gateway_reference[:100]
    refund.message = result.message[:255]
    refund.save(update_fields=["gateway_reference", "message", "updated_at"])
    if result.status == "succeeded":
        refund_settled(refund=refund, ok=True, message=result.message)
    elif not result.ok:
        refund_settled(refund=refund, ok=False, message=result.message)
    else:
        _note(refund, _("Refund %(ref)s of %(amount)s %(currency)s requested"))
    refund.refresh_from_db()
    return refund


def refund_order(*, order: Order, amount: Decimal | None = None, reason: str = "") -> list[PaymentRefund]:
    """Give back ``amount`` (default: everything still refundable) of an order's online
    payments, newest first: what an accepted return or a cancellation of a paid order calls."""
    payments = [
        p
        for p in order.payments.filter(status=Payment.Status.PAID).order_by("-pk")
        if get_provider(p.provider).supports_refunds
    ]
    left = sum((refundable(p) for p in payments), Decimal("0")) if amount is None else Decimal(amount)
    refunds = []
    for payment in payments:
        if left <= 0:
            break
        part = min(left, refundable(payment))
        if part > 0:
            refunds.append(refund_payment(payment=payment, amount=part, reason=reason))
            left -= part
    return refunds


@transaction.atomic
def refund_settled(*, refund: PaymentRefund, ok: bool, message: str = "") -> bool:
    """The gateway says a refund went through (or not). Idempotent: False when nothing changed."""
    refund = PaymentRefund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != PaymentRefund.Status.PENDING:
        return False
    refund.status = PaymentRefund.Status.SUCCEEDED if ok else PaymentRefund.Status.FAILED
    refund.message = (message or refund.message)[:255]
    refund.save(update_fields=["status", "message", "updated_at"])
    if not ok:
        _note(refund, _("Refund %(ref)s of %(amount)s %(currency)s was refused by the gateway"))
        return True
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    done = payment.refunds.filter(status=PaymentRefund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
    if done >= payment.amount and payment.status != Payment.Status.REFUNDED:
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.REFUNDED)
    order = Order.objects.select_for_update().get(pk=refund.order_id)
    refunded = PaymentRefund.objects.filter(order=order, status=PaymentRefund.Status.SUCCEEDED).aggregate(
        s=Sum("amount")
    )["s"]
    paid = order.payments.filter(status__in=[Payment.Status.PAID, Payment.Status.REFUNDED]).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    state = Order.PaymentStatus.REFUNDED if refunded >= paid else Order.PaymentStatus.PARTIALLY_REFUNDED
    Order.objects.filter(pk=order.pk).update(payment_status=state)
    _note(refund, _("Refund %(ref)s of %(amount)s %(currency)s completed"))
    return True


def _note(refund: PaymentRefund, text: str) -> None:
    from ..services.workflow import add_note

    order = Order.objects.get(pk=refund.order_id)
    add_note(
        order=order,
        text=text % {"ref": refund.reference, "amount": refund.amount, "currency": refund.currency},
    )
