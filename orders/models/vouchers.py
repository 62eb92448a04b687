"""Discount codes and gift cards."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store

from .common import MONEY


class Voucher(models.Model):
    """A discount code: a percentage, a fixed amount, or free shipping.

    ``used_count`` is incremented under the voucher's row lock when an order is placed, so a
    code limited to N uses is used at most N times however many shoppers try at once.
    """

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", _("percentage")
        FIXED = "fixed", _("fixed amount")
        FREE_SHIPPING = "free_shipping", _("free shipping")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="vouchers")
    code = models.CharField(_("code"), max_length=40, help_text=_("Case does not matter; stored upper-case."))
    name = models.CharField(_("name"), max_length=120, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PERCENTAGE)
    value = models.DecimalField(
        _("value"),
        **MONEY,
        default=Decimal("0"),
        help_text=_("Percent for percentage codes, amount otherwise."),
    )
    min_basket = models.DecimalField(_("minimum basket"), **MONEY, null=True, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    usage_limit = models.PositiveIntegerField(_("total uses allowed"), null=True, blank=True)
    usage_limit_per_customer = models.PositiveIntegerField(_("uses per customer"), null=True, blank=True)
    used_count = models.PositiveIntegerField(_("times used"), default=0, editable=False)
    is_single_use = models.BooleanField(_("generated single-use code"), default=False)
    source = models.CharField(
        _("source"),
        max_length=40,
        blank=True,
        help_text=_("Who created it, e.g. 'recovery' for cart reminders."),
    )
    batch = models.ForeignKey(
        "VoucherBatch",
        null=True,
        blank=True,
        editable=False,  # set only when a set is generated (its limit then applies to the code)
        on_delete=models.PROTECT,
        related_name="vouchers",
        verbose_name=_("batch"),
    )
    products = models.ManyToManyField(
        "catalog.Product",
        blank=True,
        related_name="+",
        verbose_name=_("only these products"),
        help_text=_("Empty: every product. A batch's codes follow the batch's limit."),
    )
    categories = models.ManyToManyField(
        "catalog.Category",
        blank=True,
        related_name="+",
        verbose_name=_("only these categories"),
        help_text=_("Products in these categories or their subcategories."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="voucher_code_per_store"),
            models.CheckConstraint(condition=Q(value__gte=0), name="voucher_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100), name="voucher_percentage_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(used_count__lte=F("usage_limit")),
                name="voucher_used_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lt=F("valid_until")),
                name="voucher_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)


class VoucherBatch(models.Model):
    """Single-use codes generated together (a newsletter, a printed flyer): what they give, where
    they apply and until when. Its vouchers copy the value, minimum and dates; the product and
    category limit is read from the batch (:func:`orders.services.codes.voucher_scope`)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="voucher_batches")
    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(_("prefix"), max_length=12, blank=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=Voucher.Kind.choices, default=Voucher.Kind.PERCENTAGE
    )
    value = models.DecimalField(_("value"), **MONEY, default=Decimal("0"))
    min_basket = models.DecimalField(_("minimum basket"), **MONEY, null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    count = models.PositiveIntegerField(_("number of codes"))
    products = models.ManyToManyField(
        "catalog.Product", blank=True, related_name="+", verbose_name=_("only these products")
    )
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", verbose_name=_("only these categories")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("voucher batch")
        verbose_name_plural = _("voucher batches")
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="voucher_batch_value_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100),
                name="voucher_batch_percentage_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(count__gte=1) & Q(count__lte=10000), name="voucher_batch_count_in_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class VoucherRedemption(models.Model):
    """One use of a voucher by one order (deleted again when that order is cancelled)."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="voucher_redemptions")
    email = models.EmailField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    amount = models.DecimalField(_("discount"), **MONEY)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("voucher use")
        verbose_name_plural = _("voucher uses")
        constraints = [models.UniqueConstraint(fields=["voucher", "order"], name="voucher_once_per_order")]
        indexes = [models.Index(fields=["voucher", "email"], name="voucher_redemption_email_idx")]

    def __str__(self) -> str:
        return f"{self.voucher} → {self.order}"


class GiftCard(models.Model):
    """A prepaid card: bought as a product, redeemed at checkout as a payment.

    ``balance`` only changes inside a transaction holding the card's row lock, through a
    conditional update, so two orders can never spend the same money.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="gift_cards")
    code = models.CharField(_("code"), max_length=32, unique=True)
    initial_balance = models.DecimalField(_("initial value"), **MONEY)
    balance = models.DecimalField(_("balance"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="PLN")
    order_line = models.ForeignKey(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gift_cards",
        help_text=_("The purchase that created this card."),
    )
    sequence = models.PositiveSmallIntegerField(default=1, help_text=_("Which unit of the purchased line."))
    recipient_email = models.EmailField(_("sent to"), blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="gift_card_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(balance__lte=F("initial_balance")), name="gift_card_balance_at_most_initial"
            ),
            models.UniqueConstraint(
                fields=["order_line", "sequence"],
                condition=Q(order_line__isnull=False),
                name="gift_card_once_per_purchased_unit",
            ),
        ]

    def __str__(self) -> str:
        return self.masked_code

    @property
    def masked_code(self) -> str:
        return f"••••-{self.code[-4:]}"


class GiftCardTransaction(models.Model):
    """Every change of a gift card's balance."""

    class Kind(models.TextChoices):
        ISSUE = "issue", _("issued")
        REDEEM = "redeem", _("spent")
        REFUND = "refund", _("returned to card")

    gift_card = models.ForeignKey(GiftCard, on_delete=models.CASCADE, related_name="transactions")
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gift_card_transactions",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY, help_text=_("Negative when spent."))
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("gift card transaction")
        verbose_name_plural = _("gift card transactions")

    def __str__(self) -> str:
        return f"{self.gift_card}: {self.amount}"
