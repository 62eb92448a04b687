"""Shopper emails about orders: rendered in the order's language, sent once.

Rows are planned by the services (:func:`orders.services.plan_email`) in the transaction of the
change; :func:`send_order_email` is what the Celery task runs after commit, and the periodic
resend runs it again for rows a broker outage left unsent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from .models import GiftCard, OrderEmail
from .services.codes import format_gift_card_code

log = logging.getLogger(__name__)

SUBJECTS = {
    OrderEmail.Kind.PLACED: _("Thank you for your order %(number)s"),
    OrderEmail.Kind.PAID: _("Payment received for order %(number)s"),
    OrderEmail.Kind.SHIPPED: _("Your order %(number)s is on its way"),
    OrderEmail.Kind.DELIVERED: _("Your order %(number)s has been delivered"),
    OrderEmail.Kind.CANCELLED: _("Your order %(number)s has been cancelled"),
    OrderEmail.Kind.GIFT_CARDS: _("Your gift card from order %(number)s"),
    OrderEmail.Kind.DOWNLOADS: _("Your downloads from order %(number)s"),
    OrderEmail.Kind.RETURN: _("Your return for order %(number)s"),
    OrderEmail.Kind.INVOICE: _("Invoice for order %(number)s"),
}


# The e-mails that repeat what was bought and what it cost.
SUMMARY_KINDS = (
    OrderEmail.Kind.PLACED,
    OrderEmail.Kind.PAID,
    OrderEmail.Kind.SHIPPED,
    OrderEmail.Kind.CANCELLED,
)


def order_summary(order, lines) -> dict:
    """The parts of the summary that are not plain order fields: the VAT breakdown (the very one
    the invoice prints, from :mod:`orders.invoices`), where the parcel goes, and who is invoiced."""
    from .invoices import invoice_lines, vat_summary

    delivery = None
    address = order.shipping_address
    if order.shipping_method_name and address is not None:
        point = None
        if order.pickup_point:
            details = {}
            cart = order.cart if order.cart_id else None
            if cart is not None:
                details = (cart.checkout or {}).get("pickup_point_details") or {}
            point = {
                "name": order.pickup_point,
                "address": details.get("address", "") if details.get("name") == order.pickup_point else "",
            }
        delivery = {"point": point, "lines": address.as_lines(), "phone": address.phone or order.phone}
    billing = None
    if (
        order.wants_invoice
        and order.billing_address is not None
        and order.billing_address_id != (order.shipping_address_id)
    ):
        billing = {"lines": order.billing_address.as_lines()}
    return {"vat": vat_summary(invoice_lines(order, lines)), "delivery": delivery, "billing": billing}


def email_context(email: OrderEmail, *, preview: bool = False) -> dict:
    from .payments.base import PaymentGatewayError
    from .services.payments import open_payment, start_payment

    order = email.order
    store = order.store
    context = {
        "email": email,
        "kind": email.kind,
        "order": order,
        "store": store,
        "lines": list(order.lines.all()),
        "order_url": store.absolute_url(order.get_absolute_url()),
        "LANGUAGE_CODE": email.language,
        "extra": email.context or {},
    }
    if email.kind in SUMMARY_KINDS:
        context["summary"] = order_summary(order, context["lines"])
    if email.kind == OrderEmail.Kind.PLACED and order.amount_due > 0 and preview:
        context["payment_instructions"] = ""  # a preview never starts a payment at the gateway
    elif email.kind == OrderEmail.Kind.PLACED and order.amount_due > 0:
        payment = open_payment(order)
        try:
            started = start_payment(order=order, payment=payment) if payment else None
        except PaymentGatewayError:
            started = None  # gateway down while the email renders: the order page links to paying
        context["payment_instructions"] = started.instructions if started else ""
    if email.kind == OrderEmail.Kind.GIFT_CARDS:
        ids = (email.context or {}).get("gift_card_ids", [])
        context["gift_cards"] = [
            {"code": format_gift_card_code(c.code), "amount": c.initial_balance, "expires_at": c.expires_at}
            for c in GiftCard.objects.filter(pk__in=ids).order_by("pk")
        ]
    if email.kind == OrderEmail.Kind.DOWNLOADS:
        context["downloads"] = (email.context or {}).get("downloads", [])
    if email.kind == OrderEmail.Kind.SHIPPED and order.tracking_number:
        from .carriers import tracking_url_for

        # The method's own link pattern, else the carrier's link for the parcel or its tracking page.
        context["tracking_url"] = tracking_url_for(order)
    return context


def render_email(email: OrderEmail, *, template=None, preview: bool = False) -> EmailMultiAlternatives:
    """The message for ``email``: the merchant's subject and message when the store edited them
    (:mod:`orders.email_templates`; ``template`` forces one, for the admin preview), else the
    shop's own."""
    from . import email_templates

    with translation.override(email.language or "pl"):
        context = email_context(email, preview=preview)
        subject = str(SUBJECTS.get(email.kind, _("Order %(number)s"))) % {"number": email.order.number}
        edited = email_templates.texts_for(email, template)
        if edited is not None:
            subject = edited.subject
            context["custom_message"] = edited.message
        # A planned email may name its own template pair (returns: orders/emails/return_<event>).
        template = (email.context or {}).get("template") or "orders/email/order"
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    store = email.order.store
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=store.sender,
        to=[email.recipient],
        reply_to=[store.support_email] if store.support_email else None,
    )
    message.attach_alternative(html, "text/html")
    invoice_id = (email.context or {}).get("invoice_id")
    if invoice_id:  # an invoice e-mail (a correction) carries its PDF
        from .invoices import invoice_pdf, pdf_filename
        from .models import Invoice

        invoice = Invoice.objects.select_related("order", "store").filter(pk=invoice_id).first()
        if invoice is not None:
            message.attach(pdf_filename(invoice), invoice_pdf(invoice), "application/pdf")
    return message


def send_order_email(email_id: int) -> bool:
    """Send one planned email unless it went out already. The row is locked while sending, so
    two workers never send the same email; a failure is recorded and retried by the resend."""
    with transaction.atomic():
        email = (
            OrderEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=email_id, sent_at__isnull=True)
            .select_related(
                "order__store", "order__shipping_method", "order__shipping_address", "order__billing_address"
            )
            .first()
        )
        if email is None:
            return False
        email.attempts += 1
        try:
            render_email(email).send()
        except Exception as exc:
            log.warning("Order email %s failed: %s", email.pk, exc, exc_info=True)
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            email.save(update_fields=["attempts", "last_error"])
            return False
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=["attempts", "sent_at", "last_error"])
    return True


def unsent_email_ids(*, limit: int = 200) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_EMAIL_RESEND_AFTER_SECONDS)
    return list(
        OrderEmail.objects.filter(
            sent_at__isnull=True, created_at__lte=cutoff, attempts__lt=settings.ORDER_EMAIL_MAX_ATTEMPTS
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
