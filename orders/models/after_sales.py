"""What happens after the sale: returns and invoices (services and pages live in part B)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store
from shop.storage import private_storage

from .common import MONEY


class Return(models.Model):
    """A shopper's request to send back some lines of an order ("szybki zwrot")."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        REFUNDED = "refunded", _("refunded")

    class Reason(models.TextChoices):
        WITHDRAWAL = "withdrawal", _("changed my mind (14-day withdrawal)")
        DAMAGED = "damaged", _("arrived damaged")
        WRONG_ITEM = "wrong_item", _("wrong item sent")
        NOT_AS_DESCRIBED = "not_as_described", _("not as described")
        OTHER = "other", _("other")

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="returns")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, default=Reason.WITHDRAWAL)
    comment = models.TextField(_("comment"), blank=True)
    bank_account = models.CharField(_("refund bank account"), max_length=40, blank=True)
    refund_amount = models.DecimalField(_("refund amount"), **MONEY, default=Decimal("0"))
    restocked = models.BooleanField(_("restocked"), default=False)
    staff_note = models.TextField(_("staff note"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        constraints = [
            models.CheckConstraint(condition=Q(refund_amount__gte=0), name="return_refund_not_negative")
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="return_status_idx")]

    def __str__(self) -> str:
        return f"{_('Return')} #{self.pk} ({self.order})"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    refund_amount = models.DecimalField(_("refund amount"), **MONEY, default=Decimal("0"))

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity_positive"),
            models.UniqueConstraint(fields=["return_request", "order_line"], name="return_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.product_name}"


class InvoiceCounter(models.Model):
    """The last invoice number per seller (the company's NIP), kind and month; incremented under
    its row lock in the transaction that issues the invoice, so numbering has no gaps.

    Keyed by the seller's NIP rather than the store: two stores of one company share one series
    (numbers are unique among the taxpayer's invoices, art. 106e ust. 1 pkt 2 ustawy o VAT)."""

    seller_tax_id = models.CharField(max_length=10)
    kind = models.CharField(max_length=12, default="invoice")
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller_tax_id", "kind", "year", "month"], name="invoice_counter_per_seller_month"
            ),
            models.CheckConstraint(
                condition=Q(month__gte=1) & Q(month__lte=12), name="invoice_counter_month_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller_tax_id} {self.kind} {self.year}-{self.month:02d}: {self.last_number}"


class Invoice(models.Model):
    """A VAT invoice (or correction) for an order, numbered per store and month without gaps.

    Seller and buyer are frozen as printed (``seller``/``buyer`` JSON); the PDF lives in private
    storage.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("VAT invoice")
        CORRECTION = "correction", _("correcting invoice")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="invoices")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    return_request = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(_("number"), max_length=40)
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    sale_date = models.DateField(_("date of sale"))
    seller = models.JSONField(default=dict)
    buyer = models.JSONField(default=dict)
    currency = models.CharField(max_length=3, default="PLN")
    total_net = models.DecimalField(**MONEY, default=Decimal("0"))
    total_vat = models.DecimalField(**MONEY, default=Decimal("0"))
    total_gross = models.DecimalField(**MONEY, default=Decimal("0"))
    pdf = models.FileField(storage=private_storage, upload_to="invoices/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A correction (faktura korygująca): why, what caused it (one correction per cause, e.g.
    # "return:12", "refund:7", "cancel"), and per position the state before and after.
    reason = models.TextField(_("reason for the correction"), blank=True)
    correction_key = models.CharField(max_length=40, blank=True)
    lines = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="invoice_number_per_store"),
            models.UniqueConstraint(
                fields=["store", "kind", "year", "month", "sequence"], name="invoice_sequence_per_month"
            ),
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="invoice"), name="invoice_one_per_order"
            ),
            models.UniqueConstraint(
                fields=["order", "correction_key"],
                condition=Q(kind="correction"),
                name="invoice_correction_once_per_cause",
            ),
        ]

    def __str__(self) -> str:
        return self.number
