"""Payment providers behind one small interface (see :mod:`orders.payments.base`)."""

from .base import PaymentProvider, PaymentStart, get_provider, provider_for_webhook

__all__ = ["PaymentProvider", "PaymentStart", "get_provider", "provider_for_webhook"]
