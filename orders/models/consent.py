"""Consent is asked per channel (e-mail, SMS, web push), each with its own versioned wording.

A merchant edits the wording per channel in Polish and English (Admin -> Consent texts); every
edit gets a new version, and each :class:`~orders.models.ConsentRecord` keeps the exact text and
the version the shopper saw. Without an edited text the built-in wording (``orders.consent``) is
shown, with its own version.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")
    PUSH = "push", _("web push notifications")


def new_version() -> str:
    """The moment of the edit, to the microsecond: two edits never share a version."""
    return timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f")


class ConsentText(models.Model):
    """The store's own wording of one channel's consent question."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="consent_texts")
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    text_pl = models.TextField(_("text (Polish)"))
    text_en = models.TextField(
        _("text (English)"), blank=True, help_text=_("Shown to shoppers browsing in English.")
    )
    version = models.CharField(
        _("version"), max_length=32, editable=False, help_text=_("Changes with every edit of the text.")
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        ordering = ["store", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["store", "channel"], name="consent_text_once_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} ({self.version})"

    def save(self, *args, **kwargs):
        old = ConsentText.objects.filter(pk=self.pk).values("text_pl", "text_en").first() if self.pk else None
        if not self.version or old != {"text_pl": self.text_pl, "text_en": self.text_en}:
            self.version = new_version()
            if "update_fields" in kwargs and kwargs["update_fields"] is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)

    def text_for(self, language: str | None) -> str:
        if (language or "").startswith("en") and self.text_en.strip():
            return self.text_en
        return self.text_pl
