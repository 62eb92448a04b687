"""Cash on delivery: the courier collects the money; the order ships unpaid."""

from __future__ import annotations

from django.utils.translation import gettext as _

from shop.money import format_money

from .base import PaymentProvider, PaymentStart, register


def instructions(amount, currency: str) -> str:
    # Neutral about who collects: a courier, or the parcel locker's terminal (InPost COD).
    return _("You pay %(amount)s when you collect the parcel.") % {"amount": format_money(amount, currency)}


@register
class CashOnDelivery(PaymentProvider):
    code = "cod"

    def start(self, payment) -> PaymentStart:
        return PaymentStart(instructions=instructions(payment.amount, payment.currency))
