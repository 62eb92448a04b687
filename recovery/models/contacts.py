"""Who must not be contacted (suppression) and who asked for web push."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store


class Suppression(models.Model):
    """An address that unsubscribed: honoured store-wide from the moment it is written."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="recovery_suppressions")
    email = models.EmailField(_("email"))
    source = models.CharField(_("source"), max_length=20, default="link")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("unsubscribed address")
        verbose_name_plural = _("unsubscribed addresses")
        constraints = [models.UniqueConstraint(fields=["store", "email"], name="suppression_once_per_store")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class PushSubscription(models.Model):
    """A browser's Web Push subscription, given from the storefront opt-in."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="push_subscriptions")
    cart = models.ForeignKey(
        "orders.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(_("email"), blank=True)
    endpoint = models.URLField(_("endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("web push subscription")
        verbose_name_plural = _("web push subscriptions")

    def __str__(self) -> str:
        return self.endpoint[:60]

    def as_subscription_info(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}
