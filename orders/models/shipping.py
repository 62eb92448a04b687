"""How orders travel: shipping methods with their price rules, and how they are paid."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import VatRate
from shop.models import Store

from .common import MONEY
from .shipments import Carrier, ParcelTemplate

# InPost-style parcel locker codes: three letters, two or three digits, up to three letters
# (KRA01M, WAW123A, POZ08APP). Merchants can change the pattern per method.
DEFAULT_PICKUP_POINT_PATTERN = r"^[A-Z]{3}[0-9]{2,4}[A-Z]{0,3}$"


class ShippingMethod(models.Model):
    """A way to get goods to the shopper, with a base price and optional rules."""

    class Kind(models.TextChoices):
        COURIER = "courier", _("courier")
        PARCEL_LOCKER = "parcel_locker", _("parcel locker")
        PICKUP = "pickup", _("personal pickup")

    class CashOnDelivery(models.TextChoices):
        NO = "no", _("not available")
        ALLOWED = "allowed", _("available")
        ONLY = "only", _("cash on delivery only")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="shipping_methods")
    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.COURIER)
    description = models.CharField(_("description"), max_length=255, blank=True)
    price = models.DecimalField(
        _("price (gross)"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    vat_rate = models.CharField(
        _("VAT rate"), max_length=2, choices=VatRate.choices, default=VatRate.STANDARD
    )
    free_shipping_threshold = models.DecimalField(
        _("free shipping from"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("Basket value (after discounts) from which this method costs nothing."),
    )
    min_order_value = models.DecimalField(_("available from basket value"), **MONEY, null=True, blank=True)
    max_order_value = models.DecimalField(_("available up to basket value"), **MONEY, null=True, blank=True)
    max_weight_grams = models.PositiveIntegerField(_("maximum weight (g)"), null=True, blank=True)
    cash_on_delivery = models.CharField(
        _("cash on delivery"), max_length=8, choices=CashOnDelivery.choices, default=CashOnDelivery.NO
    )
    pickup_point_pattern = models.CharField(
        _("pickup point code pattern"),
        max_length=120,
        blank=True,
        default=DEFAULT_PICKUP_POINT_PATTERN,
        help_text=_("Regular expression a parcel locker code must match."),
    )
    delivery_days_min = models.PositiveSmallIntegerField(_("delivery days (from)"), default=1)
    delivery_days_max = models.PositiveSmallIntegerField(_("delivery days (to)"), default=2)
    tracking_url = models.CharField(
        _("tracking URL"), max_length=255, blank=True, help_text=_("Use {number} for the tracking number.")
    )
    # Carrier integration (orders.carriers): which carrier sends the parcels of this method, with
    # which of its services, and the parcel defaults a merchant can change per shipment.
    carrier = models.CharField(
        _("carrier"),
        max_length=16,
        choices=Carrier.choices,
        blank=True,
        help_text=_("Create shipments and labels for these orders through this carrier."),
    )
    carrier_service = models.CharField(
        _("carrier service"),
        max_length=64,
        blank=True,
        help_text=_(
            "InPost: inpost_locker_standard or inpost_courier_standard (empty: chosen by kind); "
            "Apaczka: the service id from its service list."
        ),
    )
    parcel_template = models.CharField(
        _("default parcel size"), max_length=8, choices=ParcelTemplate.choices, blank=True
    )
    parcel_length_mm = models.PositiveIntegerField(_("default parcel length (mm)"), null=True, blank=True)
    parcel_width_mm = models.PositiveIntegerField(_("default parcel width (mm)"), null=True, blank=True)
    parcel_height_mm = models.PositiveIntegerField(_("default parcel height (mm)"), null=True, blank=True)
    parcel_weight_grams = models.PositiveIntegerField(_("default parcel weight (g)"), null=True, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="shipping_method_code_per_store"),
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_price_not_negative"),
            models.CheckConstraint(
                condition=Q(delivery_days_min__lte=F("delivery_days_max")), name="shipping_days_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_pickup_point(self) -> bool:
        return self.kind == self.Kind.PARCEL_LOCKER

    @property
    def needs_address(self) -> bool:
        return self.kind == self.Kind.COURIER

    def clean(self) -> None:
        """A carrier service the carrier knows (InPost's names, Apaczka's numeric ids)."""
        super().clean()
        from django.core.exceptions import ValidationError

        from ..carriers.inpost import COURIER_SERVICES, LOCKER_SERVICES

        service = self.carrier_service.strip()
        if self.carrier == Carrier.APACZKA and not service.isdigit():
            raise ValidationError(
                {"carrier_service": _("Enter the Apaczka service id (a number from its service list).")}
            )
        if (
            self.carrier == Carrier.INPOST
            and service
            and service not in (*LOCKER_SERVICES, *COURIER_SERVICES)
        ):
            raise ValidationError(
                {
                    "carrier_service": _("Unknown InPost service; use one of: %(services)s.")
                    % {"services": ", ".join((*LOCKER_SERVICES, *COURIER_SERVICES))}
                }
            )


class ShippingRate(models.Model):
    """A price rule of a shipping method: the first matching rule (by position) sets the price."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="rates")
    min_weight_grams = models.PositiveIntegerField(_("from weight (g)"), default=0)
    max_weight_grams = models.PositiveIntegerField(_("up to weight (g)"), null=True, blank=True)
    min_order_value = models.DecimalField(_("from basket value"), **MONEY, default=Decimal("0"))
    max_order_value = models.DecimalField(_("up to basket value"), **MONEY, null=True, blank=True)
    price = models.DecimalField(_("price (gross)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("shipping rate")
        verbose_name_plural = _("shipping rates")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_rate_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.method}: {self.price}"

    def matches(self, *, weight_grams: int, value: Decimal) -> bool:
        if weight_grams < self.min_weight_grams or value < self.min_order_value:
            return False
        if self.max_weight_grams is not None and weight_grams > self.max_weight_grams:
            return False
        return not (self.max_order_value is not None and value > self.max_order_value)


class PaymentMethod(models.Model):
    """A payment option offered at checkout, handled by one provider in ``orders.payments``."""

    class Provider(models.TextChoices):
        CASH_ON_DELIVERY = "cod", _("cash on delivery")
        BANK_TRANSFER = "bank_transfer", _("bank transfer")
        TEST_GATEWAY = "test_gateway", _("online payment (test gateway)")
        PRZELEWY24 = "przelewy24", _("Przelewy24 (transfers, BLIK, cards)")
        PAYU = "payu", _("PayU")
        STRIPE_CHECKOUT = "stripe_checkout", _("Stripe Checkout (international cards)")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="payment_methods")
    name = models.CharField(_("name"), max_length=120)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    description = models.CharField(_("description"), max_length=255, blank=True)
    fee = models.DecimalField(
        _("fee (gross)"), **MONEY, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        constraints = [
            models.UniqueConstraint(fields=["store", "provider"], name="payment_method_provider_per_store"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="payment_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_cash_on_delivery(self) -> bool:
        return self.provider == self.Provider.CASH_ON_DELIVERY
