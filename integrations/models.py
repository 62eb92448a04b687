"""The world outside: connector configurations, sync runs with their logs, what a connector
imported (for incremental runs), and purchase orders sent to wholesalers.

``StagedRow`` and ``StagedPart`` are the per-run staging area: a feed is parsed and validated into
them completely before anything in the catalog changes, so a feed that breaks at row 50,000 leaves
the catalog as it was (see ``integrations.wholesalers.importer``).
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import MONEY, Product, ProductImage, Variant
from shop import crypto
from shop.models import Store
from shop.storage import private_storage

# Connector secrets are encrypted under this purpose (shop.crypto derives a key per purpose).
SECRETS_PURPOSE = "integrations"


class Direction(models.TextChoices):
    FULL = "full", _("full catalog import")
    STOCK = "stock", _("stock and prices import")
    PUSH = "push", _("stock and prices export")
    EXPORT = "export", _("feed export")
    ORDERS = "orders", _("orders import")
    DOCUMENTS = "documents", _("invoices and receipts sent")


class ConnectorConfig(models.Model):
    """One configured connection of a store to the outside world (a wholesaler feed, ...).

    ``settings`` holds the typed, validated options of the connector's schema (JSON-safe: decimals
    as strings); ``secrets_encrypted`` holds its secret options, Fernet-encrypted; ``profile`` an
    optional custom mapping profile (empty: the built-in profile named in ``settings``); ``state``
    what the connector remembers between runs (ETags of downloaded files, ...).
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="connector_configs")
    connector_type = models.CharField(_("connector"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive connectors are not scheduled and not run.")
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    profile = models.JSONField(
        _("custom mapping profile"),
        default=dict,
        blank=True,
        help_text=_("Empty: the built-in profile chosen in the settings."),
    )
    state = models.JSONField(default=dict, blank=True, editable=False)
    feed_file = models.FileField(
        _("uploaded feed file"),
        storage=private_storage,
        upload_to="integrations/feeds/",
        blank=True,
        help_text=_("Used for the profile's first source when it has no URL."),
    )
    full_sync_time = models.TimeField(
        _("daily full import at"), default=dt.time(3, 0), help_text=_("Store's time zone.")
    )
    stock_sync_minutes = models.PositiveIntegerField(
        _("stock and price import every (minutes)"), default=15, help_text=_("0 turns it off.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "name"]
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "connector_type", "name"], name="integrations_connector_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def secrets(self) -> dict[str, str]:
        return crypto.decrypt_secrets(self.secrets_encrypted, purpose=SECRETS_PURPOSE)

    def set_secrets(self, values: dict[str, str]) -> None:
        self.secrets_encrypted = crypto.encrypt_secrets(values, purpose=SECRETS_PURPOSE)

    def masked_secrets(self) -> dict[str, str]:
        try:
            return {k: crypto.mask(v) for k, v in self.secrets.items()}
        except crypto.SecretsUnreadable:
            return {}


class SyncRun(models.Model):
    """One run of a connector in one direction: status, counts, duration and its error log.

    At most one run per connector is ``running`` at a time: a partial unique index is the lock,
    so two workers (or a worker and the command line) cannot both start one.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    class Phase(models.TextChoices):
        FETCHING = "fetching", _("fetching")
        STAGING = "staging", _("reading and checking")
        APPLYING = "applying", _("applying")
        IMAGES = "images", _("images")
        DONE = "done", _("done")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("schedule")
        ADMIN = "admin", _("admin")
        COMMAND = "command", _("command line")
        EVENT = "event", _("event")

    config = models.ForeignKey(ConnectorConfig, on_delete=models.CASCADE, related_name="runs")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    phase = models.CharField(_("phase"), max_length=10, choices=Phase.choices, default=Phase.FETCHING)
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    vanished = models.PositiveIntegerField(_("vanished"), default=0)
    cursor = models.JSONField(
        _("cursor"), default=dict, blank=True, help_text=_("Where an interrupted run resumes.")
    )
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        constraints = [
            models.UniqueConstraint(
                fields=["config"],
                condition=Q(status="running"),
                name="integrations_one_running_run_per_connector",
            )
        ]
        indexes = [models.Index(fields=["config", "-started_at"], name="integrations_run_config_idx")]

    def __str__(self) -> str:
        return f"{self.config} {self.get_direction_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> dt.timedelta | None:
        end = self.finished_at or (timezone.now() if self.status == self.Status.RUNNING else None)
        return end - self.started_at if end else None

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows_total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "vanished": self.vanished,
        }


class SyncRunError(models.Model):
    """One problem of one run: a row that was skipped, an image that was refused, ..."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="errors")
    row_number = models.PositiveIntegerField(_("row"), null=True, blank=True)
    key = models.CharField(_("key"), max_length=128, blank=True)
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "row_number", "pk"]
        verbose_name = _("sync error")
        verbose_name_plural = _("sync errors")

    def __str__(self) -> str:
        return f"{self.row_number or '-'} {self.key}: {self.message}"


class StagedRow(models.Model):
    """A validated, normalised feed row waiting to be applied (deleted when the run ends)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="staged_rows")
    row_number = models.PositiveIntegerField()
    sku = models.CharField(max_length=64)
    group_key = models.CharField(max_length=128)
    data = models.JSONField()
    content_hash = models.CharField(max_length=64)
    stock_hash = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["run", "group_key", "sku"], name="integrations_staged_group_idx"),
            models.Index(fields=["run", "sku"], name="integrations_staged_sku_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.row_number} {self.sku}"


class StagedPart(models.Model):
    """A row of a secondary feed file (prices, stock), joined to the primary rows by key."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="staged_parts")
    source = models.CharField(max_length=32)
    key = models.CharField(max_length=128)
    data = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["run", "source", "key"], name="integrations_part_key_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.source} {self.key}"


class SourceRecord(models.Model):
    """What a connector made of one feed row: the variant, and content hashes that let an
    unchanged row be skipped without touching the catalog."""

    config = models.ForeignKey(ConnectorConfig, on_delete=models.CASCADE, related_name="records")
    sku = models.CharField(_("SKU"), max_length=64)
    group_key = models.CharField(max_length=128, blank=True)
    supplier_code = models.CharField(_("wholesaler's code"), max_length=128, blank=True)
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="source_records")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="source_records")
    content_hash = models.CharField(max_length=64, blank=True)
    stock_hash = models.CharField(max_length=64, blank=True)
    cost_price = models.DecimalField(_("cost price (net)"), **MONEY, null=True, blank=True)
    last_seen_run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vanished_at = models.DateTimeField(_("vanished from the feed"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("imported variant")
        verbose_name_plural = _("imported variants")
        constraints = [
            models.UniqueConstraint(fields=["config", "sku"], name="integrations_record_sku_unique"),
        ]
        indexes = [models.Index(fields=["config", "last_seen_run"], name="integrations_record_seen_idx")]

    def __str__(self) -> str:
        return self.sku


class ImageRecord(models.Model):
    """An image URL of a feed, downloaded once per product (or refused once, with the reason)."""

    class Status(models.TextChoices):
        DONE = "done", _("downloaded")
        FAILED = "failed", _("failed")

    config = models.ForeignKey(ConnectorConfig, on_delete=models.CASCADE, related_name="images")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    url = models.TextField()
    url_hash = models.CharField(max_length=64)
    image = models.ForeignKey(
        ProductImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checksum = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    attempts = models.PositiveSmallIntegerField(default=1)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["config", "product", "url_hash"], name="integrations_image_once_per_product"
            )
        ]

    def __str__(self) -> str:
        return self.url


class PurchaseOrder(models.Model):
    """An order to a wholesaler for the drop-shipped lines of one paid shop order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        CONFIRMED = "confirmed", _("confirmed")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    class Method(models.TextChoices):
        EMAIL = "email", _("email with CSV")
        HTTP = "http", _("HTTP API")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="purchase_orders")
    config = models.ForeignKey(ConnectorConfig, on_delete=models.PROTECT, related_name="purchase_orders")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="purchase_orders")
    number = models.CharField(_("number"), max_length=64)
    method = models.CharField(_("sent by"), max_length=8, choices=Method.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    external_reference = models.CharField(_("wholesaler's reference"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        constraints = [
            models.UniqueConstraint(fields=["order", "config"], name="integrations_po_once_per_order"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="integrations_po_due_idx")]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(_("SKU"), max_length=64)
    supplier_code = models.CharField(_("wholesaler's code"), max_length=128, blank=True)
    ean = models.CharField(_("EAN"), max_length=14, blank=True)
    name = models.CharField(_("name"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_cost = models.DecimalField(_("unit cost (net)"), **MONEY, null=True, blank=True)

    class Meta:
        ordering = ["purchase_order", "pk"]
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"
