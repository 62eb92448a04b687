"""What the shop keeps about its sales channels (marketplaces and hubs).

``ChannelListing`` is one variant as offered through one connector: the partner's ids, what was
last pushed (so an unchanged variant is not pushed again) and whether a push is due. Stock and
price changes in the shop only mark listings ``push_due``; a periodic job pushes the due ones in
batches, which is how pushes are debounced and batched (see ``integrations.channels.services``).

``ChannelOrder`` is one order imported from a partner. The unique ``(config, external_id)`` pair is
what makes an import idempotent: an order seen twice is recognised, never created twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import MONEY, Variant
from integrations.models import ConnectorConfig
from orders.models import Order


class ChannelListing(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the partner")
        ACTIVE = "active", _("active")
        ERROR = "error", _("error")
        ENDED = "ended", _("ended")

    config = models.ForeignKey(ConnectorConfig, on_delete=models.CASCADE, related_name="channel_listings")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="channel_listings")
    external_id = models.CharField(
        _("partner's id"),
        max_length=100,
        blank=True,
        help_text=_("Offer, product or item id at the partner."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    push_due = models.BooleanField(_("push due"), default=True)
    last_pushed_quantity = models.IntegerField(_("last pushed stock"), null=True, blank=True)
    last_pushed_price = models.DecimalField(_("last pushed price"), **MONEY, null=True, blank=True)
    last_pushed_at = models.DateTimeField(_("last pushed"), null=True, blank=True)
    pushing_since = models.DateTimeField(
        _("being pushed since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set while a push of this listing is under way (a crashed push is redone)."),
    )
    error = models.TextField(_("last error"), blank=True)
    data = models.JSONField(default=dict, blank=True, help_text=_("Connector-specific state."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["config", "variant"]
        verbose_name = _("channel listing")
        verbose_name_plural = _("channel listings")
        constraints = [
            models.UniqueConstraint(fields=["config", "variant"], name="channel_listing_variant_once"),
        ]
        indexes = [
            models.Index(fields=["config", "external_id"], name="channel_listing_external"),
            models.Index(fields=["config"], condition=Q(push_due=True), name="channel_listing_push_due"),
        ]

    def __str__(self) -> str:
        return f"{self.config} · {self.variant_id} · {self.external_id or '-'}"


class ChannelOrder(models.Model):
    config = models.ForeignKey(ConnectorConfig, on_delete=models.CASCADE, related_name="channel_orders")
    external_id = models.CharField(_("partner's order id"), max_length=100)
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="channel_order"
    )
    external_status = models.CharField(_("partner's status"), max_length=60, blank=True)
    fulfilment_status_sent = models.CharField(
        _("status sent back"),
        max_length=60,
        blank=True,
        help_text=_("Last fulfilment status sent to the partner."),
    )
    payload = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("last error"), blank=True)
    attempts = models.PositiveIntegerField(
        _("failed attempts"), default=0, help_text=_("Imports that failed (unknown item, no stock).")
    )
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-imported_at", "-pk"]
        verbose_name = _("channel order")
        verbose_name_plural = _("channel orders")
        constraints = [
            models.UniqueConstraint(fields=["config", "external_id"], name="channel_order_external_once"),
        ]
        indexes = [
            models.Index(fields=["config"], condition=Q(order__isnull=True), name="channel_order_not_placed"),
        ]

    def __str__(self) -> str:
        return f"{self.config} · {self.external_id}"
