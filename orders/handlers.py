"""After-sales reactions to domain events, and their Celery tasks.

Imported from ``OrdersConfig.ready()``: registering here (not with Django signals) means the
outbox delivers each event to each handler exactly once, after the change committed, and retries
a handler that failed (docs/architecture.md, "Domain events (transactional outbox)").
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils.translation import gettext_lazy as _

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
    from .invoices import SellerDataMissing, issue_invoice
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
    try:
        issue_invoice(order=order)
    except SellerDataMissing as exc:
        # Not a failure to retry: nothing changes until the merchant completes the store's company
        # data. The order page says what is missing; the invoice is issued from there afterwards.
        log.warning("Order %s: no invoice issued: %s", order.number, exc)
        note_missing_seller_data(order, exc)


def note_missing_seller_data(order, exc) -> None:
    """An internal note on the order (once) that its invoice waits for the company data."""
    from django.utils import translation

    from .invoices import SellerDataMissing, seller_problems
    from .models import OrderNote

    with translation.override("pl"):
        reason = str(SellerDataMissing(order.store, seller_problems(order.store)))
        text = str(
            _("The invoice was not issued. %(reason)s Complete it and issue the invoice from this page.")
            % {"reason": reason}
        )
    if not OrderNote.objects.filter(order=order, text=text).exists():
        OrderNote.objects.create(order=order, text=text)


def _correct(order, issue) -> None:
    """Issue a correction; a store without complete company data gets a note instead."""
    from .invoices import SellerDataMissing

    try:
        issue()
    except SellerDataMissing as exc:
        log.warning("Order %s: no correcting invoice issued: %s", order.number, exc)
        note_missing_seller_data(order, exc)


def correct_on_return_accepted(event) -> None:
    """``return.accepted`` -> a correcting invoice for the returned units (once per return)."""
    from .corrections import correct_return
    from .models import Return

    ret = Return.objects.select_related("order").filter(pk=_id(event.payload, "return_id")).first()
    if ret is None:
        log.warning("return.accepted event %s names no known return: %r", event.pk, event.payload)
        return
    _correct(ret.order, lambda: correct_return(ret))


def correct_on_refund(event) -> None:
    """``order.refunded`` of a gateway refund that is no return's and no cancelled order's -> a
    correcting invoice lowering the price (once per refund). Returns and cancellations have their
    own corrections."""
    from .corrections import correct_refund
    from .models import Order, PaymentRefund

    refund = (
        PaymentRefund.objects.select_related("order")
        .filter(pk=_id(event.payload, "refund_id"), status=PaymentRefund.Status.SUCCEEDED)
        .first()
    )
    if refund is None or refund.return_request_id or _id(event.payload, "return_id"):
        return
    if refund.source != PaymentRefund.Source.MANUAL or refund.order.status == Order.Status.CANCELLED:
        return
    _correct(refund.order, lambda: correct_refund(refund))


def correct_on_cancelled(event) -> None:
    """``order.status_changed`` to ``cancelled`` of an invoiced order -> a correcting invoice to zero."""
    from .corrections import correct_cancellation
    from .models import Order

    if (event.payload or {}).get("to") != Order.Status.CANCELLED:
        return
    order = Order.objects.filter(pk=_id(event.payload, "order_id")).first()
    if order is not None:
        _correct(order, lambda: correct_cancellation(order))


def _id(payload: dict, key: str) -> int | None:
    value = (payload or {}).get(key)
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None


def register() -> None:
    from . import pickup_points
    from .payments.refunds import ORDER_REFUNDED
    from .returns import RETURN_ACCEPTED

    events.register("order.paid", INVOICE_HANDLER, issue_invoice_on_paid)
    events.register(RETURN_ACCEPTED, "orders.corrections.on_return_accepted", correct_on_return_accepted)
    events.register(ORDER_REFUNDED, "orders.corrections.on_refund", correct_on_refund)
    events.register("order.status_changed", "orders.corrections.on_cancelled", correct_on_cancelled)
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
