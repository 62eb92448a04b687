"""Order e-mail texts a merchant rewrites: a subject and a message per e-mail and language.

The rest of the e-mail (the order summary, payment instructions, tracking link, the return's
lines, the button to the order) stays the shop's own. Rendering, defaults and validation:
:mod:`orders.email_templates`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store


class OrderEmailTemplate(models.Model):
    class Key(models.TextChoices):
        PLACED = "placed", _("order placed")
        PAID = "paid", _("payment received")
        SHIPPED = "shipped", _("shipped")
        DELIVERED = "delivered", _("delivered")
        CANCELLED = "cancelled", _("cancelled")
        RETURN_REQUESTED = "return_requested", _("return requested")
        RETURN_ACCEPTED = "return_accepted", _("return accepted")
        RETURN_REJECTED = "return_rejected", _("return rejected")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="order_email_templates")
    key = models.CharField(_("e-mail"), max_length=24, choices=Key.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=5000)
    is_active = models.BooleanField(
        _("in use"), default=True, help_text=_("Off: the shop's default text is sent.")
    )
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["store", "key", "language"]
        verbose_name = _("order e-mail text")
        verbose_name_plural = _("order e-mail texts")
        constraints = [
            models.UniqueConstraint(fields=["store", "key", "language"], name="order_email_template_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_key_display()} ({self.language})"
