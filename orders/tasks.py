"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from catalog import stock

from . import emails
from .carriers import tasks as carrier_tasks  # noqa: F401  (registers the carrier tasks)
from .ksef import tasks as ksef_tasks  # noqa: F401  (registers the KSeF tasks)
from .payments import test_gateway


@shared_task(acks_late=True)
def send_order_email(email_id: int) -> bool:
    return emails.send_order_email(email_id)


@shared_task(acks_late=True)
def resend_unsent_order_emails() -> int:
    """Send order emails whose after-commit enqueue was lost (broker outage) or that failed."""
    sent = 0
    for email_id in emails.unsent_email_ids():
        sent += emails.send_order_email(email_id)
    return sent


@shared_task(acks_late=True)
def expire_unpaid_orders() -> int:
    """Cancel orders not paid in time and let their stock go (then tidy expired holds)."""
    from .services import expire_unpaid_orders as expire

    done = expire()
    stock.sweep_expired_reservations()
    return done


@shared_task(acks_late=True)
def sweep_reservations() -> int:
    return stock.sweep_expired_reservations()


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=6,
    autoretry_for=(test_gateway.GatewayRetry, test_gateway.httpx.TransportError),
    retry_backoff=5,
    retry_backoff_max=300,
)
def test_gateway_notify(self, gateway_reference: str, outcome: str) -> int:
    """The test gateway's own worker: tell the shop how a payment ended (signed webhook)."""
    return test_gateway.send_notification(gateway_reference, outcome)


@shared_task(bind=True, acks_late=True, max_retries=None)
def refund_return(self, return_id: int) -> str:
    """Refund an accepted return through the order's gateways (safe to run twice)."""
    from django.conf import settings

    from .models import Return
    from .payments import refunds

    ret = Return.objects.filter(pk=return_id).first()
    if ret is None:
        return "gone"
    outcome = refunds.refund_accepted_return(return_request=ret)
    if outcome.retry and self.request.retries < settings.ORDERS_REFUND_RETRIES:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return outcome.error or f"{len(outcome.refunds)} refund(s)"


@shared_task(bind=True, acks_late=True, max_retries=None)
def refund_cancelled_order(self, order_id: int) -> str:
    """Refund what a paid, then cancelled, order took through its gateways (safe to run twice)."""
    from django.conf import settings

    from .models import Order
    from .payments import refunds

    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "gone"
    outcome = refunds.refund_cancelled_order(order=order)
    if outcome.retry and self.request.retries < settings.ORDERS_REFUND_RETRIES:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600))
    return outcome.error or f"{len(outcome.refunds)} refund(s)"


@shared_task(acks_late=True)
def sweep_refunds() -> int:
    """The safety net: unanswered refunds asked again; returns and cancellations whose refund
    task was lost (broker outage) started. Failed attempts are left to staff (order note)."""
    from django.conf import settings

    from .payments import refunds
    from .payments.base import PaymentGatewayError

    done = 0
    for refund in refunds.unconfirmed_refunds()[:200]:
        try:
            refunds.resend_unconfirmed_refund(refund=refund)
            done += 1
        except PaymentGatewayError:
            continue
    if settings.ORDERS_AUTO_REFUND_RETURNS:
        for ret in refunds.returns_due_for_refund()[:200]:
            done += bool(refunds.refund_accepted_return(return_request=ret).refunds)
    if settings.ORDERS_AUTO_REFUND_CANCELLATIONS:
        for order in refunds.cancelled_orders_due_for_refund()[:200]:
            done += bool(refunds.refund_cancelled_order(order=order).refunds)
    return done
