"""PayU REST v2.1 (placeholder until the slice lands)."""

from .base import PaymentProvider


class PayU(PaymentProvider):
    code = "payu"
    webhook_slug = "payu"
    is_online = True
