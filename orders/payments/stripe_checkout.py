"""Stripe Checkout (placeholder until the slice lands)."""

from .base import PaymentProvider


class StripeCheckout(PaymentProvider):
    code = "stripe_checkout"
    webhook_slug = "stripe"
    is_online = True
