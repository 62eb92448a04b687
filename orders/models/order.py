"""Placed orders, their lines, numbers, history, notes, addresses and shopper emails."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Variant, VatRate
from shop.models import Store

from .common import MONEY


def new_order_token() -> str:
    return secrets.token_urlsafe(24)


postal_code_pl = RegexValidator(r"^\d{2}-\d{3}$", _("Enter a postal code such as 00-950."))


class Address(models.Model):
    """A postal address with an optional company and tax id.

    Rows with a ``user`` are that customer's address book; an order gets its own copies
    (``user`` empty) so editing the address book never rewrites order history.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    tax_id = models.CharField(_("tax id (NIP)"), max_length=20, blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="PL")
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_default_shipping = models.BooleanField(_("default shipping address"), default=False)
    is_default_billing = models.BooleanField(_("default billing address"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_shipping=True, user__isnull=False),
                name="address_one_default_shipping",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_billing=True, user__isnull=False),
                name="address_one_default_billing",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(p for p in (self.full_name, self.company_name, self.street, self.city) if p)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def as_lines(self) -> list[str]:
        lines = [self.company_name, self.full_name, self.street, f"{self.postal_code} {self.city}".strip()]
        if self.tax_id:
            lines.append(f"NIP: {self.tax_id}")
        return [line for line in lines if line]


class OrderCounter(models.Model):
    """The last order number handed out per store and month.

    Incremented under its row lock in the placing transaction, so numbers have no gaps: a
    rolled-back checkout rolls its number back too.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=4, help_text="YYMM")
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "period"], name="order_counter_per_period")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.period}: {self.last_number}"


class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("new")
        AWAITING_PAYMENT = "awaiting_payment", _("awaiting payment")
        PAID = "paid", _("paid")
        PACKED = "packed", _("packed")
        SHIPPED = "shipped", _("shipped")
        DELIVERED = "delivered", _("delivered")
        CANCELLED = "cancelled", _("cancelled")
        RETURNED = "returned", _("returned")

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", _("not paid")
        PAID = "paid", _("paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("partially refunded")
        REFUNDED = "refunded", _("refunded")

    class Channel(models.TextChoices):
        STOREFRONT = "storefront", _("storefront")
        API = "api", _("API")
        MARKETPLACE = "marketplace", _("marketplace")
        ADMIN = "admin", _("admin (phone order)")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
    number = models.CharField(_("number"), max_length=32)
    token = models.CharField(max_length=64, unique=True, default=new_order_token, editable=False)
    cart = models.OneToOneField(
        "orders.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="order"
    )
    idempotency_key = models.CharField(max_length=64, blank=True, editable=False)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.STOREFRONT
    )
    external_reference = models.CharField(
        _("external reference"), max_length=100, blank=True, help_text=_("Marketplace or API order id.")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, default="pl")
    currency = models.CharField(_("currency"), max_length=3, default="PLN")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    payment_status = models.CharField(
        _("payment"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    shipping_address = models.ForeignKey(
        Address,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("shipping address"),
    )
    billing_address = models.ForeignKey(
        Address,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("billing address"),
    )
    wants_invoice = models.BooleanField(_("company invoice requested"), default=False)
    shipping_method = models.ForeignKey(
        "orders.ShippingMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    shipping_method_name = models.CharField(_("shipping"), max_length=120, blank=True)
    pickup_point = models.CharField(_("pickup point"), max_length=32, blank=True)
    payment_method = models.ForeignKey(
        "orders.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    payment_method_name = models.CharField(_("payment method"), max_length=120, blank=True)
    payment_provider = models.CharField(_("payment provider"), max_length=20, blank=True)
    voucher = models.ForeignKey(
        "orders.Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    voucher_code = models.CharField(_("voucher code"), max_length=40, blank=True)
    # Money, all gross and in ``currency``: total = subtotal - discount + shipping + payment fee.
    subtotal = models.DecimalField(_("products"), **MONEY, default=Decimal("0"))
    discount_total = models.DecimalField(_("discount"), **MONEY, default=Decimal("0"))
    shipping_total = models.DecimalField(_("shipping"), **MONEY, default=Decimal("0"))
    shipping_vat_rate = models.CharField(max_length=2, choices=VatRate.choices, default=VatRate.STANDARD)
    payment_fee = models.DecimalField(_("payment fee"), **MONEY, default=Decimal("0"))
    total = models.DecimalField(_("total"), **MONEY, default=Decimal("0"))
    total_net = models.DecimalField(_("total net"), **MONEY, default=Decimal("0"))
    gift_card_total = models.DecimalField(_("paid with gift cards"), **MONEY, default=Decimal("0"))
    customer_note = models.TextField(_("note from the shopper"), blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    reservation_expires_at = models.DateTimeField(_("stock held until"), null=True, blank=True)
    stock_committed = models.BooleanField(_("stock taken"), default=False, editable=False)
    ships_on = models.DateField(
        _("ships on"), null=True, blank=True, help_text=_("Latest release date of its pre-order lines.")
    )
    created_at = models.DateTimeField(_("placed at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="order_number_per_store"),
            models.UniqueConstraint(
                fields=["store", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="order_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(discount_total__gte=0)
                & Q(shipping_total__gte=0)
                & Q(payment_fee__gte=0)
                & Q(total__gte=0)
                & Q(gift_card_total__gte=0),
                name="order_money_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(gift_card_total__lte=F("total")), name="order_gift_card_within_total"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="order_store_created_idx"),
            models.Index(fields=["store", "status", "-created_at"], name="order_store_status_idx"),
            models.Index(fields=["user", "-created_at"], name="order_user_idx"),
            models.Index(fields=["email"], name="order_email_idx"),
            models.Index(
                fields=["reservation_expires_at"],
                condition=Q(status="awaiting_payment"),
                name="order_awaiting_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:order", kwargs={"token": self.token})

    @property
    def reservation_reference(self) -> str:
        return f"order:{self.store_id}:{self.number}"

    @property
    def amount_due(self) -> Decimal:
        """What the shopper pays with the chosen payment method (gift cards already deducted)."""
        return self.total - self.gift_card_total

    @property
    def is_cancellable(self) -> bool:
        return self.status in (
            self.Status.NEW,
            self.Status.AWAITING_PAYMENT,
            self.Status.PAID,
            self.Status.PACKED,
        )


class OrderLine(models.Model):
    """One thing bought, frozen as it was sold: names, SKU, price and VAT never change later."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    product_kind = models.CharField(
        max_length=16, choices=Product.Kind.choices, default=Product.Kind.STANDARD
    )
    product_name = models.CharField(_("product"), max_length=200)
    variant_name = models.CharField(_("variant"), max_length=200, blank=True)
    sku = models.CharField(_("SKU"), max_length=64)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price (gross)"), **MONEY)
    vat_rate = models.CharField(
        _("VAT rate"), max_length=2, choices=VatRate.choices, default=VatRate.STANDARD
    )
    total = models.DecimalField(_("total (gross)"), **MONEY, help_text=_("unit price × quantity"))
    discount = models.DecimalField(_("discount"), **MONEY, default=Decimal("0"))
    total_net = models.DecimalField(_("total net after discount"), **MONEY, default=Decimal("0"))
    total_vat = models.DecimalField(_("VAT after discount"), **MONEY, default=Decimal("0"))
    weight_grams = models.PositiveIntegerField(default=0)
    is_preorder = models.BooleanField(_("pre-order"), default=False)
    ships_on = models.DateField(_("ships on"), null=True, blank=True)
    components = models.JSONField(
        default=list, blank=True, help_text=_("For sets: [{sku, name, quantity}] per set, for packing.")
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "position", "pk"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0)
                & Q(total__gte=0)
                & Q(discount__gte=0)
                & Q(discount__lte=F("total")),
                name="order_line_money_valid",
            ),
        ]
        indexes = [models.Index(fields=["sku"], name="order_line_sku_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name}"

    @property
    def name(self) -> str:
        return f"{self.product_name} – {self.variant_name}" if self.variant_name else self.product_name

    @property
    def total_after_discount(self) -> Decimal:
        return self.total - self.discount

    @property
    def is_digital(self) -> bool:
        return self.product_kind == Product.Kind.DIGITAL

    @property
    def is_gift_card(self) -> bool:
        return self.product_kind == Product.Kind.GIFT_CARD


class OrderStatusChange(models.Model):
    """Who moved an order from which status to which, when, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Order.Status.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("status change")
        verbose_name_plural = _("status history")
        indexes = [models.Index(fields=["order", "created_at"], name="order_status_change_idx")]

    def __str__(self) -> str:
        # Labels, never the stored codes ("oczekuje na płatność → opłacone", not "awaiting_payment → paid").
        labels = dict(Order.Status.choices)
        return f"{labels.get(self.from_status, self.from_status) or '—'} → {labels.get(self.to_status, self.to_status)}"


class OrderNote(models.Model):
    """An internal note by staff (or the system) on an order; never shown to the shopper."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")

    def __str__(self) -> str:
        return self.text[:60]


class OrderEmail(models.Model):
    """One email to the shopper about an order, planned in the transaction of the change.

    Sent by a Celery task after commit; ``sent_at`` stays empty until it went out, so the
    periodic resend picks up whatever a broker outage delayed, and (order, kind, key) is unique,
    so nothing is planned -- or sent -- twice.
    """

    class Kind(models.TextChoices):
        PLACED = "placed", _("order placed")
        PAID = "paid", _("payment received")
        SHIPPED = "shipped", _("shipped")
        DELIVERED = "delivered", _("delivered")
        CANCELLED = "cancelled", _("cancelled")
        GIFT_CARDS = "gift_cards", _("gift card codes")
        DOWNLOADS = "downloads", _("download links")
        RETURN = "return", _("return update")
        INVOICE = "invoice", _("invoice")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(
        max_length=40, blank=True, help_text=_("Distinguishes repeated kinds, e.g. a return id.")
    )
    recipient = models.EmailField()
    language = models.CharField(max_length=8, default="pl")
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("order email")
        verbose_name_plural = _("order emails")
        constraints = [models.UniqueConstraint(fields=["order", "kind", "key"], name="order_email_once")]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="order_email_unsent_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} · {self.get_kind_display()} → {self.recipient}"
