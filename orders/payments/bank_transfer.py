"""Bank transfer: we show the store's account and the order number as the transfer title; the
merchant marks the order paid in the admin when the money arrives."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from shop.money import format_money

from .base import PaymentProvider, PaymentStart, register


@register
class BankTransfer(PaymentProvider):
    code = "bank_transfer"

    def start(self, payment) -> PaymentStart:
        order = payment.order
        store = order.store
        return PaymentStart(
            instructions=_(
                "Please transfer %(amount)s to %(company)s, account %(account)s, with the title "
                "“%(number)s”. We hold your items for %(days)s days."
            )
            % {
                "amount": format_money(payment.amount, payment.currency),
                "company": store.company_name or store.name,
                "account": store.bank_account or _("(the account number is in the order email)"),
                "number": order.number,
                "days": f"{settings.BANK_TRANSFER_RESERVATION_DAYS:g}",
            }
        )
