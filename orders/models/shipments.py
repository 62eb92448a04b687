"""Parcels sent through a carrier: the store's carrier accounts, shipments and tracking events.

A merchant pastes the credentials a carrier gave them into the admin (stored encrypted with
``shop.crypto``, purpose "carriers", never shown back in full). A :class:`Shipment` is one parcel
of one order at one carrier; the database allows one active (not cancelled) shipment per order
and carrier, and every shipment carries its own ``reference`` that is sent to the carrier, so a
retry after a timeout finds the parcel instead of creating a second one.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store

from .common import MONEY, ExternalAccount

PURPOSE = "carriers"


class Carrier(models.TextChoices):
    INPOST = "inpost", _("InPost ShipX")
    APACZKA = "apaczka", _("Apaczka")


class ParcelTemplate(models.TextChoices):
    """InPost parcel locker sizes (A, B, C)."""

    SMALL = "small", _("small (A: 8 × 38 × 64 cm)")
    MEDIUM = "medium", _("medium (B: 19 × 38 × 64 cm)")
    LARGE = "large", _("large (C: 41 × 38 × 64 cm)")


class CarrierAccount(ExternalAccount):
    """One store's credentials at one carrier, sandbox or production, and the sender address."""

    # Which values each carrier needs (and how they are checked) and the settings naming its hosts
    # are declared by its backend class in ``orders.carriers`` (``account_fields``, ``url_settings``).
    SECRETS_PURPOSE = PURPOSE
    KIND_FIELD = "carrier"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="carrier_accounts")
    carrier = models.CharField(_("carrier"), max_length=16, choices=Carrier.choices)
    is_sandbox = models.BooleanField(
        _("sandbox"), default=True, help_text=_("Use the carrier's test environment: no real parcels.")
    )
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)
    sender_company = models.CharField(_("sender company"), max_length=200, blank=True)
    sender_email = models.EmailField(_("sender email"), blank=True)
    sender_phone = models.CharField(_("sender phone"), max_length=32, blank=True)
    sender_street = models.CharField(_("sender street and number"), max_length=200, blank=True)
    sender_postal_code = models.CharField(_("sender postal code"), max_length=10, blank=True)
    sender_city = models.CharField(_("sender city"), max_length=100, blank=True)
    sender_country = models.CharField(_("sender country"), max_length=2, default="PL")

    class Meta:
        ordering = ["store", "carrier"]
        verbose_name = _("carrier account")
        verbose_name_plural = _("carrier accounts")
        constraints = [
            models.UniqueConstraint(fields=["store", "carrier"], name="carrier_account_per_store"),
        ]

    @staticmethod
    def registry():
        from ..carriers.base import carriers

        return carriers

    @property
    def has_sender_address(self) -> bool:
        return all((self.sender_street, self.sender_postal_code, self.sender_city))


def new_shipment_reference() -> str:
    return "KSZ" + uuid.uuid4().hex[:20].upper()


class Shipment(models.Model):
    """One parcel of one order sent through one carrier account.

    ``pending`` -> ``sending`` -> ``submitted`` (the carrier accepted it and prepares the label)
    -> ``confirmed`` (label ready) -> ``in_transit`` -> ``delivered``; ``error`` (with a message,
    retryable), ``cancelled`` and ``returned`` on the side.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("sending to the carrier")
        SUBMITTED = "submitted", _("waiting for the carrier's confirmation")
        CONFIRMED = "confirmed", _("label ready")
        IN_TRANSIT = "in_transit", _("in transit")
        DELIVERED = "delivered", _("delivered")
        RETURNED = "returned", _("returned to sender")
        ERROR = "error", _("error")
        CANCELLED = "cancelled", _("cancelled")

    # Statuses whose label can be printed, and those the tracking job follows.
    LABEL_STATUSES = (Status.CONFIRMED, Status.IN_TRANSIT, Status.DELIVERED)
    TRACKED_STATUSES = (Status.CONFIRMED, Status.IN_TRANSIT)

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    account = models.ForeignKey(CarrierAccount, on_delete=models.PROTECT, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=16, choices=Carrier.choices)
    service = models.CharField(_("carrier service"), max_length=64)
    reference = models.CharField(
        _("our reference"), max_length=32, unique=True, default=new_shipment_reference, editable=False
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    carrier_status = models.CharField(_("carrier's status"), max_length=64, blank=True)
    carrier_shipment_id = models.CharField(_("carrier's shipment id"), max_length=64, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    tracking_url = models.CharField(_("tracking link"), max_length=500, blank=True)
    parcel_template = models.CharField(
        _("parcel size"), max_length=8, choices=ParcelTemplate.choices, blank=True
    )
    length_mm = models.PositiveIntegerField(_("length (mm)"), null=True, blank=True)
    width_mm = models.PositiveIntegerField(_("width (mm)"), null=True, blank=True)
    height_mm = models.PositiveIntegerField(_("height (mm)"), null=True, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    target_point = models.CharField(_("pickup point"), max_length=32, blank=True)
    cod_amount = models.DecimalField(_("cash on delivery"), **MONEY, null=True, blank=True)
    insurance_amount = models.DecimalField(_("insurance"), **MONEY, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="PLN")
    error_message = models.TextField(_("error"), blank=True)
    error_details = models.JSONField(_("error details"), default=dict, blank=True)
    submit_attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    poll_attempts = models.PositiveSmallIntegerField(_("confirmation checks"), default=0)
    submitted_at = models.DateTimeField(
        _("first sent at"),
        null=True,
        blank=True,
        help_text=_("Set before the first create call: a later attempt looks the parcel up first."),
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_tracked_at = models.DateTimeField(_("last tracked at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        permissions = [("manage_shipments", _("Can create shipments, print labels and cancel shipments"))]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "carrier"],
                condition=~Q(status="cancelled"),
                name="shipment_one_active_per_order_carrier",
            ),
            models.CheckConstraint(
                condition=(Q(cod_amount__isnull=True) | Q(cod_amount__gte=0))
                & (Q(insurance_amount__isnull=True) | Q(insurance_amount__gte=0)),
                name="shipment_money_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "last_tracked_at"], name="shipment_status_tracked_idx"),
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
        ]

    def __str__(self) -> str:
        return self.tracking_number or self.reference

    @property
    def has_label(self) -> bool:
        return bool(self.carrier_shipment_id) and self.status in self.LABEL_STATUSES

    @property
    def can_retry(self) -> bool:
        return self.status == self.Status.ERROR

    @property
    def can_cancel(self) -> bool:
        return self.status in (
            self.Status.PENDING,
            self.Status.ERROR,
            self.Status.SUBMITTED,
            self.Status.CONFIRMED,
        )


class ShipmentEvent(models.Model):
    """One step of a parcel's journey as the carrier reported it."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=12, choices=Shipment.Status.choices)
    carrier_status = models.CharField(_("carrier's status"), max_length=64)
    description = models.CharField(_("description"), max_length=255, blank=True)
    occurred_at = models.DateTimeField(_("when"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "carrier_status", "occurred_at"], name="shipment_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.carrier_status}"


# Dimension bounds a merchant may type (mm, g): generous for any Polish carrier's courier parcel.
DIMENSION_VALIDATORS = [MinValueValidator(1), MaxValueValidator(3000)]
WEIGHT_VALIDATORS = [MinValueValidator(1), MaxValueValidator(100_000)]
