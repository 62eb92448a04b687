"""The provider interface.

A provider knows how a shopper pays with it (``start``: a redirect to a gateway or instructions
to show) and, for online gateways, how to read the gateway's server-to-server notifications
(``handle_notification``: verify the signature first, then act through
``orders.services.payment_succeeded`` / ``payment_failed``).

Real gateways (``przelewy24``, ``payu``, ``stripe_checkout``) also settle, refund, look a payment
up and test a merchant's credentials; those methods are optional, with harmless defaults, so the
offline providers (cash on delivery, bank transfer) stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpRequest, JsonResponse

from ..external_accounts import AccountProvider, ProviderRegistry


@dataclass
class PaymentStart:
    redirect_url: str = ""
    instructions: str = ""


class PaymentGatewayError(Exception):
    """A gateway could not be reached (timeout, 5xx) or refused a call. ``message`` is safe to
    show to a shopper or a merchant; ``detail`` (the gateway's own words) goes to the log."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


@dataclass
class RefundResult:
    """What a gateway said about a refund request, normalised.

    ``status``: "succeeded" (money is on its way back), "pending" (accepted, the gateway confirms
    later by a notification), "failed" (refused, and the gateway has no refund under our reference;
    ``message`` says why), "unknown" (the gateway says it has our reference but we cannot see the
    refund yet: it stays pending until a notification or a later look-up) or "unsupported"."""

    status: str
    gateway_reference: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "pending")


@dataclass
class PaymentLookup:
    """The gateway's view of a payment: ``status`` is a ``Payment.Status`` value or "unknown"."""

    status: str
    gateway_reference: str = ""
    amount: Decimal | None = None
    currency: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class ConnectionCheck:
    ok: bool
    message: str = ""


# Every provider module registers its class with ``@register`` (see ``orders.external_accounts``).
gateways = ProviderRegistry("orders.payments")
register = gateways.register


class PaymentProvider(AccountProvider):
    code: str = ""
    webhook_slug: str = ""  # /platnosc/webhook/<slug>/ ; empty: no notifications
    is_online: bool = False
    supports_refunds: bool = False

    def start(self, payment) -> PaymentStart:
        raise NotImplementedError

    def handle_notification(self, request: HttpRequest):
        return JsonResponse({"error": "this provider sends no notifications"}, status=404)

    def verify(self, payment, notification: dict) -> bool:
        """Confirm a notified payment with the gateway where it requires it (Przelewy24: without
        it the money is not settled). Default: nothing to confirm."""
        return True

    def capture(self, payment) -> bool:
        """Capture an authorised payment (PayU WAITING_FOR_CONFIRMATION). Default: nothing to do."""
        return True

    def refund(self, payment, amount: Decimal, *, reference: str, reason: str = "") -> RefundResult:
        """Give back ``amount`` (full or partial) of a paid ``payment``; ``reference`` is our
        idempotency key for this refund."""
        return RefundResult(status="unsupported", message="this provider cannot refund online")

    def lookup(self, payment) -> PaymentLookup:
        """Ask the gateway about ``payment``. Default: what we know locally."""
        return PaymentLookup(
            status=payment.status, gateway_reference=payment.gateway_reference, amount=payment.amount
        )

    def test_connection(self, account) -> ConnectionCheck:
        """Check a merchant's credentials (``orders.models.GatewayAccount``) against the gateway."""
        return ConnectionCheck(ok=False, message="this provider has no connection to test")


def _providers() -> dict[str, PaymentProvider]:
    return {p.code: p for p in gateways.all()}


def disabled_providers() -> list[str]:
    """Providers never offered to shoppers: the test gateway unless ``TEST_GATEWAY_ENABLED``
    (off by default without ``DEBUG``: it lets a shopper mark their own order paid)."""
    from django.conf import settings

    return [] if settings.TEST_GATEWAY_ENABLED else ["test_gateway"]


def get_provider(code: str) -> PaymentProvider:
    providers = _providers()
    if code not in providers:
        raise KeyError(f"unknown payment provider {code!r}")
    return providers[code]


def provider_for_webhook(slug: str) -> PaymentProvider | None:
    return next((p for p in _providers().values() if p.webhook_slug and p.webhook_slug == slug), None)
