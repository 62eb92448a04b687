"""The provider interface.

A provider knows how a shopper pays with it (``start``: a redirect to a gateway or instructions
to show) and, for online gateways, how to read the gateway's server-to-server notifications
(``handle_notification``: verify the signature first, then act through
``orders.services.payment_succeeded`` / ``payment_failed``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, JsonResponse


@dataclass
class PaymentStart:
    redirect_url: str = ""
    instructions: str = ""


class PaymentProvider:
    code: str = ""
    webhook_slug: str = ""  # /platnosc/webhook/<slug>/ ; empty: no notifications
    is_online: bool = False

    def start(self, payment) -> PaymentStart:
        raise NotImplementedError

    def handle_notification(self, request: HttpRequest):
        return JsonResponse({"error": "this provider sends no notifications"}, status=404)


def _providers() -> dict[str, PaymentProvider]:
    from .bank_transfer import BankTransfer
    from .cod import CashOnDelivery
    from .test_gateway import TestGateway

    return {p.code: p for p in (CashOnDelivery(), BankTransfer(), TestGateway())}


def get_provider(code: str) -> PaymentProvider:
    providers = _providers()
    if code not in providers:
        raise KeyError(f"unknown payment provider {code!r}")
    return providers[code]


def provider_for_webhook(slug: str) -> PaymentProvider | None:
    return next((p for p in _providers().values() if p.webhook_slug and p.webhook_slug == slug), None)
