"""Payment attempts: starting, retrying, and what verified gateway notifications do.

An order changes status only here, on a *verified* notification (or a merchant's decision in
the admin), never because a browser came back from a gateway.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import stock

from ..models import Order, Payment
from .errors import CheckoutError, OutOfStock
from .workflow import _stock_lines, add_note, change_status

log = logging.getLogger(__name__)


def is_online(provider_code: str) -> bool:
    """Does this provider send the shopper to an online gateway (and notify us back)?"""
    from ..payments import get_provider

    try:
        return get_provider(provider_code).is_online
    except KeyError:
        return False


def open_payment(order: Order) -> Payment | None:
    """The attempt the shopper is expected to complete now (not a gift card)."""
    return (
        order.payments.filter(status=Payment.Status.PENDING)
        .exclude(provider=Payment.GIFT_CARD)
        .order_by("-pk")
        .first()
    )


def start_payment(*, order: Order, payment: Payment | None = None):
    """Ask the order's provider how the shopper pays: a redirect or instructions."""
    from ..payments import get_provider

    payment = payment or open_payment(order)
    if payment is None:
        return None
    return get_provider(payment.provider).start(payment)


def hold_until(order: Order, now=None):
    """Until when an online payment's stock hold may run: a fresh RESERVATION_MINUTES, but
    never beyond RESERVATION_MAX_MINUTES after the order was placed."""
    now = now or timezone.now()
    return min(
        now + timedelta(minutes=settings.RESERVATION_MINUTES),
        order.created_at + timedelta(minutes=settings.RESERVATION_MAX_MINUTES),
    )


@transaction.atomic
def extend_payment_hold(*, order: Order) -> bool:
    """Keep stock held while the shopper is still paying online (gateway page, pending
    notification). Returns False when the hold is over."""
    order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
    now = timezone.now()
    if order.status != Order.Status.AWAITING_PAYMENT or not is_online(order.payment_provider):
        return False
    if order.reservation_expires_at is None or order.reservation_expires_at <= now:
        return False
    until = hold_until(order, now)
    if until > order.reservation_expires_at:
        minutes = (until - now).total_seconds() / 60
        stock.extend_reservation(reference=order.reservation_reference, minutes=minutes)
        Order.objects.filter(pk=order.pk).update(reservation_expires_at=until)
    return True


@transaction.atomic
def retry_payment(*, order: Order) -> Payment:
    """A new online attempt after a failed one: holds the stock again (the failure let it go)."""
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
    now = timezone.now()
    if order.status != Order.Status.AWAITING_PAYMENT or order.payment_status != Order.PaymentStatus.UNPAID:
        raise CheckoutError(_("This order is not waiting for a payment."))
    if order.reservation_expires_at is None or order.reservation_expires_at <= now:
        raise CheckoutError(_("The time to pay for this order has run out."))
    holding = _stock_lines(order)
    if holding:
        try:
            stock.reserve_stock(
                lines=holding,
                reference=order.reservation_reference,
                minutes=(order.reservation_expires_at - now).total_seconds() / 60,
            )
        except stock.InsufficientStock as exc:
            raise OutOfStock(exc.shortages) from exc
    order.payments.filter(status=Payment.Status.PENDING).exclude(provider=Payment.GIFT_CARD).update(
        status=Payment.Status.CANCELLED
    )
    return Payment.objects.create(
        order=order, provider=order.payment_provider, amount=order.amount_due, currency=order.currency
    )


@transaction.atomic
def payment_succeeded(*, payment: Payment, gateway_reference: str = "") -> bool:
    """A verified notification says ``payment`` is paid. Returns False when nothing changed
    (a duplicate notification).

    Lock order (orders/locking.py): the order before its payment -- a cancellation holds the
    order and then cancels its payments -- and never the joined store row, which every insert of
    an order or event of that store needs."""
    order_id = Payment.objects.filter(pk=payment.pk).values_list("order_id", flat=True).get()
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order_id)
    payment = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)
    if payment.status == Payment.Status.PAID:
        return False
    now = timezone.now()
    payment.status = Payment.Status.PAID
    payment.paid_at = now
    payment.gateway_reference = gateway_reference or payment.gateway_reference
    payment.save(update_fields=["status", "paid_at", "gateway_reference", "updated_at"])
    if order.payment_status == Order.PaymentStatus.PAID:
        add_note(
            order=order,
            text=_("Payment %(ref)s arrived for an order already paid: refund it.")
            % {"ref": payment.reference},
        )
        return True
    if order.status == Order.Status.CANCELLED:
        Order.objects.filter(pk=order.pk).update(payment_status=Order.PaymentStatus.PAID, paid_at=now)
        add_note(
            order=order,
            text=_("Payment %(ref)s arrived after the order was cancelled: refund it.")
            % {"ref": payment.reference},
        )
        return True
    if not order.stock_committed and _stock_lines(order):
        # The hold may have expired (a slow payment): take the stock again now, under the lock.
        try:
            with transaction.atomic():
                stock.commit_sale(
                    reference=order.reservation_reference, lines=_stock_lines(order), store=order.store
                )
        except stock.InsufficientStock:
            _paid_for_goods_sold_meanwhile(order=order, payment=payment, now=now)
            return True
        Order.objects.filter(pk=order.pk).update(stock_committed=True)
    change_status(
        order=order,
        status=Order.Status.PAID,
        note=_("Payment %(ref)s confirmed") % {"ref": payment.reference},
    )
    return True


def _paid_for_goods_sold_meanwhile(*, order: Order, payment: Payment, now) -> None:
    """The money arrived after the hold expired and the goods were sold to someone else: the
    order is cancelled and the payment goes back (automatically where the gateway can refund,
    else a note tells staff to refund it), and the shopper hears why. It is never left paid and
    shippable with no stock taken."""
    from ..models import OrderEmail
    from .workflow import plan_email

    Order.objects.filter(pk=order.pk).update(payment_status=Order.PaymentStatus.PAID, paid_at=now)
    order.payment_status = Order.PaymentStatus.PAID
    # Planned before the status change, so the cancellation email carries the reason.
    plan_email(order, OrderEmail.Kind.CANCELLED, context={"reason": "sold_out"})
    change_status(
        order=order,
        status=Order.Status.CANCELLED,
        note=_(
            "Payment %(ref)s arrived after the stock hold expired and the goods were sold meanwhile: "
            "the order is cancelled and the payment refunded."
        )
        % {"ref": payment.reference},
    )


@transaction.atomic
def payment_failed(*, payment: Payment, reason: str = "", status: str = Payment.Status.FAILED) -> bool:
    """A verified notification says ``payment`` failed: the stock is let go at once (a retry
    holds it again); the order waits for another attempt until its time runs out."""
    order_id = Payment.objects.filter(pk=payment.pk).values_list("order_id", flat=True).get()
    order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)  # order before payment
    payment = Payment.objects.select_for_update(of=("self",)).get(pk=payment.pk)
    if payment.status != Payment.Status.PENDING:
        return False
    payment.status = status
    payment.failure_reason = reason[:255]
    payment.save(update_fields=["status", "failure_reason", "updated_at"])
    others = order.payments.filter(status=Payment.Status.PENDING).exclude(provider=Payment.GIFT_CARD).exists()
    if order.status == Order.Status.AWAITING_PAYMENT and not order.stock_committed and not others:
        stock.release_reservation(reference=order.reservation_reference)
    return True


def expire_unpaid_orders(*, now=None, batch: int = 500) -> int:
    """Cancel orders whose time to pay ran out (their stock goes back on sale)."""
    now = now or timezone.now()
    ids = list(
        Order.objects.filter(status=Order.Status.AWAITING_PAYMENT, reservation_expires_at__lte=now)
        .order_by("reservation_expires_at")
        .values_list("pk", flat=True)[:batch]
    )
    done = 0
    for order_id in ids:
        try:
            with transaction.atomic():
                order = Order.objects.select_for_update(of=("self",)).get(pk=order_id)
                if (
                    order.status != Order.Status.AWAITING_PAYMENT
                    or order.payment_status == Order.PaymentStatus.PAID
                ):
                    continue
                if order.reservation_expires_at is None or order.reservation_expires_at > now:
                    continue
                order.payments.filter(status=Payment.Status.PENDING).exclude(
                    provider=Payment.GIFT_CARD
                ).update(status=Payment.Status.EXPIRED)
                change_status(order=order, status=Order.Status.CANCELLED, note=_("Not paid in time"))
                done += 1
        except Exception:
            log.exception("Could not expire order %s", order_id)
    return done
