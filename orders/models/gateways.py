"""Payment gateway accounts per store, the sessions opened at a gateway, and refunds.

A merchant pastes the credentials a gateway gave them into the admin; secrets are stored
encrypted (``shop.crypto``, purpose "payments") and never shown back in full.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store

from .common import MONEY, ExternalAccount

PURPOSE = "payments"


class GatewayAccount(ExternalAccount):
    """One store's credentials at one payment gateway, sandbox or production."""

    class Provider(models.TextChoices):
        PRZELEWY24 = "przelewy24", _("Przelewy24")
        PAYU = "payu", _("PayU")
        STRIPE = "stripe_checkout", _("Stripe Checkout")

    # Which values each gateway needs (and how they are checked) and the settings naming its hosts
    # are declared by its provider class in ``orders.payments`` (``account_fields``, ``url_settings``).
    SECRETS_PURPOSE = PURPOSE
    KIND_FIELD = "provider"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="gateway_accounts")
    provider = models.CharField(_("gateway"), max_length=20, choices=Provider.choices)
    is_sandbox = models.BooleanField(
        _("sandbox"), default=True, help_text=_("Use the gateway's test environment: no real money moves.")
    )

    class Meta:
        ordering = ["store", "provider"]
        verbose_name = _("payment gateway account")
        verbose_name_plural = _("payment gateway accounts")
        constraints = [
            models.UniqueConstraint(fields=["store", "provider"], name="gateway_account_per_store"),
        ]

    @staticmethod
    def registry():
        from ..payments.base import gateways

        return gateways

    @classmethod
    def for_payment(cls, payment, provider: str, *, active_only: bool = True) -> GatewayAccount | None:
        """The store's account for ``payment``. Notifications pass ``active_only=False``: a
        payment started before the merchant switched the gateway off must still settle."""
        accounts = cls.objects.filter(store_id=payment.order.store_id, provider=provider)
        return (accounts.filter(is_active=True) if active_only else accounts).first()


class GatewaySession(models.Model):
    """What a gateway answered when a payment was registered: the shopper's redirect and the
    gateway's token, so showing the payment link again (an email, a reload) registers nothing."""

    payment = models.OneToOneField("orders.Payment", on_delete=models.CASCADE, related_name="gateway_session")
    provider = models.CharField(max_length=20)
    token = models.CharField(max_length=255, blank=True)
    redirect_url = models.URLField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("gateway session")
        verbose_name_plural = _("gateway sessions")

    def __str__(self) -> str:
        return f"{self.provider} {self.token}"


def new_refund_reference() -> str:
    return uuid.uuid4().hex[:32]


class PaymentRefund(models.Model):
    """Money given back for a paid payment (full or partial), recorded on the order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class Source(models.TextChoices):
        MANUAL = "manual", _("by staff")
        RETURN = "return", _("accepted return")
        CANCELLATION = "cancellation", _("order cancelled")

    payment = models.ForeignKey("orders.Payment", on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="payment_refunds")
    source = models.CharField(_("triggered by"), max_length=12, choices=Source.choices, default=Source.MANUAL)
    return_request = models.ForeignKey(
        "orders.Return",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_refunds",
        verbose_name=_("return"),
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    reference = models.CharField(_("our reference"), max_length=32, unique=True, default=new_refund_reference)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    message = models.CharField(_("gateway message"), max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.status})"
