"""API keys, customer tokens, idempotency records and webhooks.

Secrets are never stored: API keys and customer tokens keep a salted SHA-256 of their random
secret (they are 256-bit random strings, so a slow password hash adds nothing), and webhook
signing secrets are encrypted at rest (:mod:`shop.crypto`, purpose "webhooks") and shown back masked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store


class Scope(models.TextChoices):
    """What a merchant API key may do. Every merchant endpoint names the one scope it needs."""

    CATALOG_READ = "catalog:read", _("catalog: read")
    CATALOG_WRITE = "catalog:write", _("catalog: write")
    ORDERS_READ = "orders:read", _("orders: read")
    ORDERS_WRITE = "orders:write", _("orders: write")
    STOCK_WRITE = "stock:write", _("stock: write")
    RECOVERY_READ = "recovery:read", _("cart recovery: read")
    RECOVERY_WRITE = "recovery:write", _("cart recovery: write")
    REPORTS_READ = "reports:read", _("reports: read")


class ApiKey(models.Model):
    """A merchant's key for back-office integrations: ``ksk_<prefix>_<secret>``.

    Only ``prefix`` (to find the row) and a salted hash of the secret are kept; the full key is
    shown once, when it is created in the admin.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, help_text=_("What uses this key, e.g. 'ERP sync'."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    salt = models.CharField(max_length=32, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["store", "name", "pk"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} (ksk_{self.prefix}_…)"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class CustomerToken(models.Model):
    """A shopper's bearer token for the customer endpoints: ``kct_<prefix>_<secret>``."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    salt = models.CharField(max_length=32, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("customer API token")
        verbose_name_plural = _("customer API tokens")

    def __str__(self) -> str:
        return f"{self.user} (kct_{self.prefix}_…)"


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an ``Idempotency-Key`` header.

    ``scope`` says whose key it is (``key:<api key id>``, ``cart:<cart id>``): two callers can
    never see each other's answers. ``status_code`` 0 means the first request is still running.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["store", "scope", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.status_code or 'running'}"


class WebhookEvent(models.TextChoices):
    ORDER_CREATED = "order.created", "order.created"
    ORDER_PAID = "order.paid", "order.paid"
    ORDER_STATUS_CHANGED = "order.status_changed", "order.status_changed"
    STOCK_LOW = "stock.low", "stock.low"
    STOCK_OUT = "stock.out", "stock.out"
    PRODUCT_UPDATED = "product.updated", "product.updated"
    CART_ABANDONED = "cart.abandoned", "cart.abandoned"
    CART_RECOVERED = "cart.recovered", "cart.recovered"
    RETURN_REQUESTED = "return.requested", "return.requested"


class WebhookSubscription(models.Model):
    """A merchant's URL that receives signed JSON for the events it subscribed to."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(_("URL"), max_length=1000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(_("secret"), max_length=16, editable=False, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Consecutive failed attempts and when the streak began (reset by any success).
    failure_count = models.PositiveIntegerField(_("consecutive failures"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["store", "pk"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in (self.events or [])


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one subscription, with every attempt's outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed (gave up)")

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(_("event id"), max_length=64)
    event_type = models.CharField(_("event"), max_length=64)
    payload = models.JSONField()
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response (excerpt)"), blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} → {self.subscription_id}: {self.status}"
