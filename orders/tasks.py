"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from catalog import stock

from . import emails
from .carriers import tasks as carrier_tasks  # noqa: F401  (registers the carrier tasks)
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
