"""Order e-mail texts the merchant edits: defaults, variables, validation, rendering, preview.

A merchant rewrites the subject and the message of an order e-mail (per e-mail and language,
:class:`orders.models.OrderEmailTemplate`); what the shop must say stays the shop's own and
follows the message: payment instructions, the tracking number, the order summary with VAT,
addresses, a return's lines and refund, the button to the order. The message is plain text
rendered by the sandboxed engine (:mod:`shop.sandbox_templates`: no ``{% load %}``, no files, no
unknown variables), so the HTML part is the text escaped, with its line breaks: merchant HTML
never reaches a shopper.

Without an edited text nothing changes: the e-mail templates print their own sentences, exactly
as before (``custom_message`` is empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shop import sandbox_templates as sandbox
from shop.money import format_money

from .models import OrderEmail, OrderEmailTemplate

Key = OrderEmailTemplate.Key

# What a text may use (the admin editor lists them).
VARIABLES = {
    "order.number": "the order number",
    "order.total": "the order total, formatted (1 234,50 zł)",
    "order.date": "the order date, dd.mm.yyyy",
    "order.tracking_number": "the parcel's tracking number, or empty",
    "order.is_paid": "true when the order is paid",
    "customer.first_name": "the shopper's first name, or empty",
    "store.name": "the store's name",
    "return_number": "the return's number (return e-mails)",
    "refund_amount": "the refund, formatted (return e-mails)",
    "sold_out": "true when a cancelled order's goods sold out before the payment came",
}
_NAMES = sorted({name.split(".")[0] for name in VARIABLES})


def key_for(email: OrderEmail) -> str | None:
    """The editable text an e-mail uses, or ``None`` (gift-card codes, downloads, invoices)."""
    if email.kind in (Key.PLACED, Key.PAID, Key.SHIPPED, Key.DELIVERED, Key.CANCELLED):
        return email.kind
    if email.kind == OrderEmail.Kind.RETURN:
        event = (email.context or {}).get("event") or (email.context or {}).get("template", "").rsplit(
            "_", 1
        )[-1]
        key = f"return_{event}"
        return key if key in Key.values else None
    return None


def default_subject(key: str, language: str) -> str:
    """Today's subject of ``key`` in ``language`` as a text the editor starts from."""
    from .emails import SUBJECTS

    kind = OrderEmail.Kind.RETURN if key.startswith("return_") else key
    with translation.override(language):
        return str(SUBJECTS[kind]) % {"number": "{{ order.number }}"}


def default_body(key: str, language: str) -> str:
    """Today's message of ``key`` in ``language`` (the sentences the e-mail templates print)."""
    number = {"number": "{{ order.number }}"}
    with translation.override(language):
        hello = _("Hello,")
        if key == Key.PLACED:
            text = _("Thank you for your order %(number)s.") % number
        elif key == Key.PAID:
            text = _("We have received the payment for order %(number)s. We are preparing it now.") % number
        elif key == Key.SHIPPED:
            text = _("Your order %(number)s is on its way.") % number
        elif key == Key.DELIVERED:
            text = _("Your order %(number)s has been delivered. Enjoy!") % number
        elif key == Key.CANCELLED:
            text = (
                _("Your order %(number)s has been cancelled.") % number
                + "{% if sold_out %} "
                + _(
                    "Your payment reached us after the time to pay had run out, and the goods had been "
                    "sold meanwhile."
                )
                + "{% endif %}{% if order.is_paid %} "
                + _("We will refund your payment.")
                + "{% endif %}"
            )
        else:
            ids = {"number": "{{ order.number }}", "id": "{{ return_number }}"}
            text = {
                Key.RETURN_REQUESTED: _(
                    "We have received your return request no. %(id)s for order %(number)s:"
                ),
                Key.RETURN_ACCEPTED: _("Your return no. %(id)s for order %(number)s has been accepted."),
                Key.RETURN_REJECTED: _(
                    "We are sorry: your return no. %(id)s for order %(number)s has not been accepted."
                ),
            }[key] % ids
    return f"{hello}\n\n{text}"


def text_context(*, order, store, language: str, extra: dict | None = None) -> dict:
    """The variables of :data:`VARIABLES` for ``order`` (plain values, never model rows)."""
    extra = extra or {}
    address = getattr(order, "billing_address", None) or getattr(order, "shipping_address", None)
    created = order.created_at or timezone.now()
    refund = extra.get("refund_amount")
    return {
        "order": {
            "number": order.number,
            "total": format_money(order.total, order.currency),
            "date": timezone.localtime(created).strftime("%d.%m.%Y"),
            "tracking_number": order.tracking_number or "",
            "is_paid": order.payment_status == "paid",
        },
        "customer": {"first_name": getattr(address, "first_name", "") if address else ""},
        "store": {"name": store.name},
        "return_number": extra.get("return_id", ""),
        "refund_amount": format_money(Decimal(str(refund)), order.currency) if refund else "",
        "sold_out": extra.get("reason") == "sold_out",
    }


def sample_text_context(*, store, language: str) -> dict:
    """Variables of a made-up order, to check a text (and to preview a store without orders)."""
    return {
        "order": {
            "number": "2026/000123",
            "total": format_money(Decimal("249.90"), store.currency),
            "date": timezone.localtime().strftime("%d.%m.%Y"),
            "tracking_number": "620000000000000000000000",
            "is_paid": True,
        },
        "customer": {"first_name": "Anna"},
        "store": {"name": store.name},
        "return_number": 17,
        "refund_amount": format_money(Decimal("89.00"), store.currency),
        "sold_out": False,
    }


def validate(*, subject: str, body: str, store, language: str) -> None:
    """Raise ``ValidationError`` per field with a message the merchant can act on."""
    context = sample_text_context(store=store, language=language)
    errors = {}
    for field, source in (("subject", subject), ("body", body)):
        if not (source or "").strip():
            errors[field] = _("This text cannot be empty.")
            continue
        problem = sandbox.check(source, context, autoescape=False, variables=_NAMES)
        if problem:
            errors[field] = problem
    if not errors and not " ".join(sandbox.render(subject, context, autoescape=False).split()):
        errors["subject"] = _("The subject comes out empty.")
    if errors:
        raise ValidationError(errors)


@dataclass
class Texts:
    subject: str
    message: str


def render_texts(template: OrderEmailTemplate, context: dict) -> Texts:
    subject = " ".join(sandbox.render(template.subject, context, autoescape=False).split())
    message = sandbox.render(template.body, context, autoescape=False).strip()
    return Texts(subject=subject[:250], message=message)


def edited_template(email: OrderEmail) -> OrderEmailTemplate | None:
    key = key_for(email)
    if key is None:
        return None
    return OrderEmailTemplate.objects.filter(
        store_id=email.order.store_id, key=key, language=email.language or "pl", is_active=True
    ).first()


def texts_for(email: OrderEmail, template: OrderEmailTemplate | None = None) -> Texts | None:
    """The merchant's subject and message for ``email``, or ``None`` for the shop's own."""
    template = template or edited_template(email)
    if template is None:
        return None
    order = email.order
    context = text_context(order=order, store=order.store, language=email.language, extra=email.context)
    try:
        return render_texts(template, context)
    except Exception:  # a text valid when saved that fails on a real order: the shop's own is sent
        import logging

        logging.getLogger(__name__).warning(
            "Order e-mail text %s failed to render", template.pk, exc_info=True
        )
        return None


def save_template(
    *, store, key: str, language: str, subject: str, body: str, is_active: bool = True, user=None
) -> OrderEmailTemplate:
    """Create or change the text of ``key`` in ``language`` after :func:`validate`."""
    validate(subject=subject, body=body, store=store, language=language)
    template, _created = OrderEmailTemplate.objects.update_or_create(
        store=store,
        key=key,
        language=language,
        defaults={
            "subject": subject,
            "body": body,
            "is_active": is_active,
            "updated_at": timezone.now(),
            "updated_by": user if getattr(user, "is_authenticated", False) else None,
        },
    )
    return template


# --- Preview and test send ------------------------------------------------------------------------

_KIND_FOR_KEY = {
    Key.PLACED: OrderEmail.Kind.PLACED,
    Key.PAID: OrderEmail.Kind.PAID,
    Key.SHIPPED: OrderEmail.Kind.SHIPPED,
    Key.DELIVERED: OrderEmail.Kind.DELIVERED,
    Key.CANCELLED: OrderEmail.Kind.CANCELLED,
}


def preview_email(*, template: OrderEmailTemplate, order, recipient: str):
    """The whole e-mail ``template`` gives for ``order`` (an ``EmailMultiAlternatives``, not sent):
    rendered by :func:`orders.emails.render_email` like a real one, with this text even when it is
    switched off or not saved yet."""
    from .emails import render_email

    if template.key.startswith("return_"):
        event = template.key.removeprefix("return_")
        last_return = order.returns.order_by("-pk").first() if order.pk else None
        context = {
            "template": f"orders/emails/return_{event}",
            "event": event,
            "return_id": last_return.pk if last_return else 1,
            "refund_amount": str(last_return.refund_amount if last_return else order.subtotal),
            "note": "",
            "lines": [{"name": line.name, "quantity": line.quantity} for line in order.lines.all()[:3]],
        }
        email = OrderEmail(order=order, kind=OrderEmail.Kind.RETURN, context=context)
    else:
        email = OrderEmail(order=order, kind=_KIND_FOR_KEY[template.key], context={})
    email.language = template.language
    email.recipient = recipient
    return render_email(email, template=template, preview=True)
