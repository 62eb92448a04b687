"""The cart: what a shopper intends to buy, and what they told us at checkout so far."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from shop.models import Store

from .common import MONEY
from .consent import ConsentChannel


def new_cart_token() -> str:
    return secrets.token_urlsafe(32)


class Cart(models.Model):
    """One shopper's cart in one store.

    Guests are identified by ``token`` (kept in their session, never in a URL); logged-in
    shoppers by ``user`` (one open cart per user and store). ``email`` and the consent fields are
    saved as soon as the shopper types them at checkout: that is what abandoned-cart recovery
    works from. ``checkout`` holds the answers of the checkout steps (address, pickup point,
    company data) until the order is placed.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ORDERED = "ordered", _("ordered")
        MERGED = "merged", _("merged into another cart")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="carts")
    token = models.CharField(max_length=64, unique=True, default=new_cart_token, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="carts"
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    language = models.CharField(_("language"), max_length=8, default="pl")
    email = models.EmailField(_("email"), blank=True)
    email_captured_at = models.DateTimeField(_("email captured at"), null=True, blank=True)
    # The latest marketing/reminder consent answer (the full history is in ConsentRecord).
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    consent_text = models.TextField(_("consent text shown"), blank=True)
    consent_version = models.CharField(_("consent text version"), max_length=32, blank=True)
    consent_at = models.DateTimeField(_("consent answered at"), null=True, blank=True)
    # The newest checkout consent event applied (a client-side sequence number): an older
    # request that arrives later changes nothing (orders.services.carts.save_checkout_email).
    consent_seq = models.BigIntegerField(default=0, editable=False)
    shipping_method = models.ForeignKey(
        "orders.ShippingMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_method = models.ForeignKey(
        "orders.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    voucher = models.ForeignKey(
        "orders.Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )
    gift_card = models.ForeignKey(
        "orders.GiftCard", null=True, blank=True, on_delete=models.SET_NULL, related_name="carts"
    )
    checkout = models.JSONField(_("checkout answers"), default=dict, blank=True)
    # One-time token printed into the final checkout form: a double submit places one order.
    checkout_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now)
    ordered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "user"],
                condition=Q(status="open", user__isnull=False),
                name="cart_one_open_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "status", "last_activity_at"], name="cart_activity_idx"),
            models.Index(fields=["email"], condition=~Q(email=""), name="cart_email_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.email or self.user or _('guest')}"


class CartLine(models.Model):
    """A variant (also a set or a gift card) in a cart, with the price the shopper saw."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="cart_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    price_when_added = models.DecimalField(_("price when added"), **MONEY)
    added_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_variant_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant}"


class ConsentRecord(models.Model):
    """Every answer a shopper gave to a consent question, with the exact text and its version.

    Append-only: the latest row per (store, email, purpose) is the shopper's current answer.
    """

    class Purpose(models.TextChoices):
        MARKETING = "marketing", _("marketing and cart reminders")

    Channel = ConsentChannel

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="consent_records")
    email = models.EmailField(_("email"))
    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.MARKETING
    )
    # Which channel the answer is for; every answer recorded before channels existed was given to
    # a text about e-mails only, so e-mail is the default (and what migration 0007 gave them).
    channel = models.CharField(
        _("channel"), max_length=8, choices=ConsentChannel.choices, default=ConsentChannel.EMAIL
    )
    granted = models.BooleanField(_("granted"))
    text = models.TextField(_("text shown"))
    version = models.CharField(_("text version"), max_length=32)
    source = models.CharField(_("source"), max_length=32, default="checkout")
    cart = models.ForeignKey(Cart, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [
            models.Index(
                fields=["store", "email", "purpose", "channel", "-created_at"],
                name="consent_channel_lookup_idx",
            )
        ]

    def __str__(self) -> str:
        answer = _("granted") if self.granted else _("refused")
        return f"{self.email}: {self.get_channel_display()} — {answer} ({self.version})"
