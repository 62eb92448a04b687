"""Payment attempts and the gateway notifications about them."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .common import MONEY


def new_payment_reference() -> str:
    return "P" + secrets.token_hex(10).upper()


class Payment(models.Model):
    """One attempt to pay (part of) an order: a gift card, a transfer, an online payment.

    Order status changes only on verified gateway notifications, never on the browser return.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        REFUNDED = "refunded", _("refunded")

    GIFT_CARD = "gift_card"

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="payments")
    provider = models.CharField(_("provider"), max_length=20)
    reference = models.CharField(
        _("our reference"), max_length=32, unique=True, default=new_payment_reference
    )
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="PLN")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=255, blank=True)
    gift_card = models.ForeignKey(
        "orders.GiftCard", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["gateway_reference"], name="payment_gateway_ref_idx")]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.status})"


class PaymentNotification(models.Model):
    """Every server-to-server notification a gateway sent us, valid or not.

    ``signature`` is unique: the very same signed message seen twice is a replay and rejected;
    a gateway that re-sends an event signs it anew (fresh timestamp) and is answered 200.
    """

    provider = models.CharField(max_length=20)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    signature = models.CharField(max_length=128, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    payload = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")

    def __str__(self) -> str:
        return f"{self.provider} {self.status} {self.outcome}"
