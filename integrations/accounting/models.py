"""What was handed to the merchant's accounting system or fiscal printer, one row per document.

An :class:`ExternalDocument` is created (pending) in the transaction that handles the domain event
(``order.paid``, ``return.accepted``), so a document exists exactly when the event was handled, and
at most once per (connector, order, kind, return): two partial unique constraints hold that in the
database (a plain unique constraint would let two invoices with ``return_request`` NULL through).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store

from ..models import ConnectorConfig


class AccountingConnector(ConnectorConfig):
    """The accounting and POS connectors among all connectors: their own page in the admin, with
    "test connection" and without the wholesaler feed fields."""

    class Meta:
        proxy = True
        verbose_name = _("accounting or POS connector")
        verbose_name_plural = _("accounting and POS connectors")


class ExternalDocument(models.Model):
    """An invoice, correction or receipt sent (or to be sent) to one connector."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("invoice")
        CORRECTION = "correction", _("correcting invoice")
        RECEIPT = "receipt", _("fiscal receipt")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    config = models.ForeignKey(
        ConnectorConfig,
        on_delete=models.PROTECT,
        related_name="external_documents",
        verbose_name=_("connector"),
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="external_documents", verbose_name=_("order")
    )
    return_request = models.ForeignKey(
        "orders.Return",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="external_documents",
        verbose_name=_("return"),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    external_id = models.CharField(_("external id"), max_length=64, blank=True)
    external_number = models.CharField(_("external number"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    needs_lookup = models.BooleanField(
        _("look up before sending"),
        default=False,
        help_text=_(
            "An earlier attempt may have reached the service (timeout): look for it before sending again."
        ),
    )
    last_error = models.TextField(_("last error"), blank=True)
    payload = models.JSONField(_("payload sent"), default=dict, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("external document")
        verbose_name_plural = _("external documents")
        constraints = [
            models.UniqueConstraint(
                fields=["config", "order", "kind"],
                condition=Q(return_request__isnull=True),
                name="accounting_document_once_per_order",
            ),
            models.UniqueConstraint(
                fields=["config", "order", "kind", "return_request"],
                condition=Q(return_request__isnull=False),
                name="accounting_document_once_per_return",
            ),
            models.CheckConstraint(
                condition=Q(kind="correction", return_request__isnull=False) | ~Q(kind="correction"),
                name="accounting_correction_has_return",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="accounting_document_due_idx"),
        ]

    def __str__(self) -> str:
        label = self.external_number or self.get_status_display()
        return f"{self.get_kind_display()} {label} ({self.order_id})"
