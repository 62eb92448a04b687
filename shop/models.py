"""Shop-wide models: the user, the store, and the domain-event outbox."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in: a shopper with an account or a member of staff.

    Shoppers log in with their email address, so the email is the username.
    """

    email = models.EmailField(_("email address"), unique=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    # Staff see the stores they are assigned to (Store.staff); this flag lets an owner of every
    # store work on all of them without being a superuser. Superusers always see every store.
    all_stores = models.BooleanField(
        _("all stores"),
        default=False,
        help_text=_("Works on every store, including stores added later."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The address the owner proved to read (a signed link from orders/accounts.py was opened);
    # a changed ``email`` is unverified again until its own link is opened.
    verified_email = models.EmailField(_("verified email address"), blank=True)
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = type(self).objects.normalize_email(self.email).lower()

    @property
    def email_verified(self) -> bool:
        return bool(self.verified_email) and self.verified_email.lower() == (self.email or "").lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


domain_validator = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
    _("Enter a host name such as sklep.example.pl (lower case, no scheme, no port)."),
)


class Store(models.Model):
    """One shop front: its own domain, currency, language and sender. One admin runs many."""

    name = models.CharField(_("name"), max_length=120)
    domain = models.CharField(
        _("domain"),
        max_length=253,
        unique=True,
        validators=[domain_validator],
        help_text=_("Host name the storefront answers on, e.g. sklep.example.pl"),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="PLN",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as PLN."))],
    )
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="pl"
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Warsaw", validators=[validate_timezone]
    )
    sender_email = models.EmailField(_("sender email"), default="sklep@localhost")
    support_email = models.EmailField(_("support email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # Seller data printed on invoices and emails.
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    company_address = models.TextField(_("company address"), blank=True)
    company_tax_id = models.CharField(_("tax id (NIP)"), max_length=20, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    custom_js = models.TextField(
        _("custom JavaScript"),
        blank=True,
        help_text=_("Inserted at the end of every storefront page. Staff with 'change store' only."),
    )
    is_default = models.BooleanField(_("default store"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        related_name="staff_stores",
        blank=True,
        help_text=_("Employees who see and change this store's data in the admin."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="store_single_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.domain})"

    def save(self, *args, **kwargs):
        self.domain = (self.domain or "").strip().lower()
        super().save(*args, **kwargs)
        from .stores import forget_cached_stores

        forget_cached_stores()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def sender(self) -> str:
        return f"{self.name} <{self.sender_email}>"

    def absolute_url(self, path: str = "/") -> str:
        """Public URL of a path on this store (for emails, feeds and structured data)."""
        base = settings.SITE_URL
        if not settings.DEBUG and self.domain not in ("localhost", "testserver"):
            base = f"https://{self.domain}"
        return f"{base}{path}"


class RoleAppGrant(models.Model):
    """Which apps' permissions a staff role (permission group) has been given by ``install_roles``.

    A role's group is created with its permissions once and the merchant's edits are kept; an app
    added by an upgrade (customers, the store's look, content pages...) is granted to the roles
    whose patterns name it once, the first time it appears, and never again."""

    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="+")
    app_label = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "app_label"], name="role_app_grant_once")]

    def __str__(self):
        return f"{self.group} · {self.app_label}"


class Event(models.Model):
    """A domain event in the transactional outbox.

    Written in the same transaction as the change it describes, so it exists exactly when the
    change committed. ``shop.events`` delivers it to every handler registered for its type.
    """

    type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    # Set once every handler has succeeded (or given up); the sweep looks at open events only.
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(processed_at__isnull=True), name="event_open_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class EventDelivery(models.Model):
    """One handler's delivery of one event: at most one success per (event, handler)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    event = models.ForeignKey(Event, related_name="deliveries", on_delete=models.CASCADE)
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="event_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.handler}: {self.status}"
