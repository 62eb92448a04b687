"""After-sales reactions to domain events, and their Celery tasks.

Imported from ``OrdersConfig.ready()``: registering here (not with Django signals) means the
outbox delivers each event to each handler exactly once, after the change committed, and retries
a handler that failed (docs/architecture.md, "Domain events (transactional outbox)").
"""

from __future__ import annotations

import logging

from celery import shared_task

from shop import events

log = logging.getLogger(__name__)

INVOICE_HANDLER = "orders.invoices.issue_on_paid"


def _order_id(payload: dict) -> int | None:
    for key in ("order_id", "order"):
        value = payload.get(key)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return int(value)
    return None


def issue_invoice_on_paid(event) -> None:
    """``order.paid`` -> the order's VAT invoice. Safe to run twice: ``issue_invoice`` returns the
    existing invoice on a second delivery."""
    from .invoices import issue_invoice
    from .models import Order

    order_id = _order_id(event.payload or {})
    order = None
    if order_id is not None:
        order = Order.objects.filter(pk=order_id).first()
    elif event.payload.get("number") and event.store_id:
        order = Order.objects.filter(store_id=event.store_id, number=event.payload["number"]).first()
    if order is None:
        log.warning("order.paid event %s names no known order: %r", event.pk, event.payload)
        return
    issue_invoice(order=order)


def register() -> None:
    from . import pickup_points

    events.register("order.paid", INVOICE_HANDLER, issue_invoice_on_paid)
    pickup_points.register()  # order.created: note a parcel locker that could not be verified


@shared_task(acks_late=True, max_retries=5, default_retry_delay=30)
def render_invoice_pdf(invoice_id: int) -> bool:
    """Render an invoice's PDF once it committed. Safe to run twice (skips a rendered one)."""
    from .invoices import render_pdf
    from .models import Invoice

    invoice = Invoice.objects.select_related("order", "store").filter(pk=invoice_id).first()
    if invoice is None:
        return False
    render_pdf(invoice=invoice)
    return True


register()
