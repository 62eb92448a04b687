"""The store's customers: one row per (store, e-mail), guests and accounts alike, and the
customer groups (wholesale / B2B buyers) with their own prices.

A :class:`Customer` row is a read model: nothing but :mod:`customers.directory` writes its
figures, recomputed from the orders, consent records, carts and accounts that carry the address
(after every order, payment, refund, cart and registration event, and by ``refresh_customers``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from shop.models import Store

MONEY = {"max_digits": 12, "decimal_places": 2}


class Customer(models.Model):
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="customers", verbose_name=_("store")
    )
    email = models.EmailField(_("e-mail"), max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer_rows",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=250, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    orders_count = models.PositiveIntegerField(_("orders"), default=0)
    total_spent = models.DecimalField(_("spent"), **MONEY, default=Decimal("0"))
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    # The newest answer per channel (None: never asked).
    consent_email = models.BooleanField(_("e-mail consent"), null=True)
    consent_sms = models.BooleanField(_("SMS consent"), null=True)
    consent_push = models.BooleanField(_("web push consent"), null=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = [models.F("last_order_at").desc(nulls_last=True), "-pk"]
        default_permissions = ("view",)
        permissions = [
            ("export_customer", _("Can export a customer's data")),
            ("erase_customer", _("Can erase a customer's personal data")),
        ]
        constraints = [models.UniqueConstraint(fields=["store", "email"], name="customer_once_per_store")]
        indexes = [
            models.Index(fields=["store", "-last_order_at"], name="customer_last_order_idx"),
            models.Index(fields=["store", "-total_spent"], name="customer_spent_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def is_account(self) -> bool:
        return self.user_id is not None


class CustomerGroup(models.Model):
    """Buyers with their own prices: a percentage off every product and/or a price per variant
    (a per-variant price wins over the percentage). Members are accounts."""

    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="customer_groups", verbose_name=_("store")
    )
    name = models.CharField(_("name"), max_length=120)
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Off every product's price for the group's members; 0 for none."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("customer group")
        verbose_name_plural = _("customer groups")
        ordering = ["store", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="customer_group_name_once")]

    def __str__(self) -> str:
        return self.name


class CustomerGroupPrice(models.Model):
    group = models.ForeignKey(CustomerGroup, on_delete=models.CASCADE, related_name="prices")
    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, related_name="+", verbose_name=_("variant")
    )
    price = models.DecimalField(_("price (gross)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("group price")
        verbose_name_plural = _("group prices")
        constraints = [models.UniqueConstraint(fields=["group", "variant"], name="customer_group_price_once")]

    def __str__(self) -> str:
        return f"{self.variant}: {self.price}"


class CustomerGroupMember(models.Model):
    """An account in a group, with the company the checkout prefills for a company invoice."""

    group = models.ForeignKey(CustomerGroup, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_groups",
        verbose_name=_("account"),
    )
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    tax_id = models.CharField(_("NIP"), max_length=20, blank=True)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="customer_group_member_once")]

    def __str__(self) -> str:
        return str(self.user)
