"""Product feeds: what a partner (Google Merchant Center, Ceneo, Domodi, ...) fetches from a secret
URL, and the log of every generation.

A :class:`Feed` is one configured snapshot file of one store: its format, the filters that choose
its items, the overrides that shape them, its schedule and its secret token. The file itself lives
in private storage (``PRIVATE_ROOT/feeds/<id>/``) and is served only by
``integrations.feeds.views.serve_feed`` after the token is checked. A :class:`FeedRun` records one
generation (items written, items skipped, warnings, size, duration), like the connector
framework's ``SyncRun`` does for imports; see ``docs/decisions.md`` (Feeds) for why feeds have a
log of their own.
"""

from __future__ import annotations

import secrets
import string
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import MONEY, Category, Product, ProductGroup
from shop.models import Store

TITLE_PLACEHOLDERS = ("name", "brand", "variant", "sku", "category")

utm_validator = RegexValidator(r"^[\w.\-]*$", _("Use only letters, digits, dots, hyphens and underscores."))


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def validate_title_template(value: str) -> None:
    """Only ``{name}``, ``{brand}``, ``{variant}``, ``{sku}`` and ``{category}``, no format specs,
    no attribute access: a template must never reach anything but the item's own text."""
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise ValidationError(_("The title template is not valid: %(error)s"), params={"error": exc}) from exc
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TITLE_PLACEHOLDERS or spec or conversion:
            raise ValidationError(
                _("Unknown placeholder {%(field)s}. Use %(allowed)s."),
                params={"field": field, "allowed": ", ".join(f"{{{p}}}" for p in TITLE_PLACEHOLDERS)},
            )


class Feed(models.Model):
    class Kind(models.TextChoices):
        GOOGLE = "google", _("Google Merchant Center")
        CENEO = "ceneo", _("Ceneo")
        GENERIC = "generic", _("Other partner (Ceneo or Google format)")

    class Format(models.TextChoices):
        GOOGLE_RSS = "google_rss", _("Google RSS 2.0 (XML)")
        GOOGLE_TSV = "google_tsv", _("Google tab-separated text (TSV)")
        CENEO_XML = "ceneo_xml", _("Ceneo XML")

    class Condition(models.TextChoices):
        NEW = "new", _("new")
        REFURBISHED = "refurbished", _("refurbished")
        USED = "used", _("used")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="feeds", verbose_name=_("store"))
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("partner"), max_length=10, choices=Kind.choices, default=Kind.GOOGLE)
    format = models.CharField(
        _("format"),
        max_length=12,
        choices=Format.choices,
        default=Format.GOOGLE_RSS,
        help_text=_("Google feeds use RSS or TSV, Ceneo feeds Ceneo XML; other partners either."),
    )
    partner_name = models.CharField(
        _("partner name"),
        max_length=80,
        blank=True,
        help_text=_(
            "For other partners: who fetches this feed (e.g. Domodi). Used in the log and the admin."
        ),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive feeds are neither regenerated nor served.")
    )
    token = models.CharField(_("secret token"), max_length=64, unique=True, default=new_token, editable=False)

    # --- schedule ----------------------------------------------------------------------------------
    interval_minutes = models.PositiveIntegerField(
        _("regenerate every (minutes)"),
        default=360,
        validators=[MinValueValidator(5), MaxValueValidator(7 * 24 * 60)],
        help_text=_("A django-celery-beat entry runs the regeneration at this interval."),
    )
    regenerate_on_changes = models.BooleanField(
        _("also regenerate after bulk changes"),
        default=True,
        help_text=_(
            "After a wholesaler import or many stock changes, once the catalog has been quiet for a while."
        ),
    )
    change_threshold = models.PositiveIntegerField(
        _("changed variants that trigger a regeneration"),
        default=25,
        validators=[MinValueValidator(1)],
        help_text=_("Fewer stock changes wait for the next scheduled regeneration."),
    )

    # --- filters -----------------------------------------------------------------------------------
    categories = models.ManyToManyField(
        Category,
        blank=True,
        related_name="+",
        verbose_name=_("only these categories"),
        help_text=_("Including their subcategories. Empty: every category (and products without one)."),
    )
    min_stock = models.PositiveIntegerField(
        _("minimum stock"),
        default=0,
        help_text=_("Items with fewer units available are left out. 0: no limit."),
    )
    only_in_stock = models.BooleanField(
        _("only items in stock"),
        default=False,
        help_text=_("Leaves out sold-out, backorder and pre-order items."),
    )
    exclude_preorders = models.BooleanField(_("leave out pre-orders"), default=False)
    exclude_groups = models.ManyToManyField(
        ProductGroup,
        blank=True,
        related_name="+",
        verbose_name=_("leave out products of these groups"),
        help_text=_("Product groups work as tags: e.g. a hand-picked group 'not for Ceneo'."),
    )
    excluded_products = models.ManyToManyField(
        Product, blank=True, related_name="+", verbose_name=_("leave out these products")
    )
    one_offer_per_product = models.BooleanField(
        _("one offer per product"),
        default=False,
        help_text=_(
            "Ceneo format only: one offer per product (cheapest variant's price, all variants' stock) "
            "instead of one per variant."
        ),
    )

    # --- overrides ---------------------------------------------------------------------------------
    title_template = models.CharField(
        _("title template"),
        max_length=200,
        blank=True,
        validators=[validate_title_template],
        help_text=_(
            "Empty: product name and variant name. Placeholders: {name} {brand} {variant} {sku} {category}."
        ),
    )
    brand_fallback = models.CharField(
        _("brand when a product has none"),
        max_length=120,
        blank=True,
        help_text=_("E.g. the shop's own brand."),
    )
    custom_label = models.CharField(
        _("custom label"),
        max_length=100,
        blank=True,
        help_text=_("Google: custom_label_0, for campaign filters."),
    )
    price_markup_percent = models.DecimalField(
        _("price markup for this partner (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("-50")), MaxValueValidator(Decimal("200"))],
        help_text=_(
            "Added to every price in this feed (e.g. to cover a partner's commission). Negative lowers."
        ),
    )
    utm_source = models.CharField(_("UTM source"), max_length=60, blank=True, validators=[utm_validator])
    utm_medium = models.CharField(_("UTM medium"), max_length=60, blank=True, validators=[utm_validator])
    utm_campaign = models.CharField(_("UTM campaign"), max_length=60, blank=True, validators=[utm_validator])
    google_product_category = models.CharField(
        _("Google product category"),
        max_length=250,
        blank=True,
        help_text=_("A Google taxonomy id or path, e.g. 1604 or 'Apparel & Accessories > Clothing'."),
    )
    condition = models.CharField(
        _("condition"), max_length=12, choices=Condition.choices, default=Condition.NEW
    )
    shipping_country = models.CharField(
        _("shipping country"),
        max_length=2,
        default="PL",
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use a two-letter ISO country code such as PL."))],
    )
    shipping_service = models.CharField(_("shipping service name"), max_length=60, blank=True)
    shipping_price = models.DecimalField(
        _("shipping price"),
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Google: g:shipping for every item. Empty: the shipping set up in Merchant Center."),
    )
    backorder_days = models.PositiveSmallIntegerField(
        _("backorder delivery (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("When backorder items ship: Google's availability date and Ceneo's availability code."),
    )

    # --- the current file (kept by services.generate_feed) -----------------------------------------
    file_name = models.CharField(max_length=255, blank=True, editable=False)
    etag = models.CharField(max_length=80, blank=True, editable=False)
    last_generated_at = models.DateTimeField(_("last generated"), null=True, blank=True, editable=False)
    last_items = models.PositiveIntegerField(_("items"), default=0, editable=False)
    last_skipped = models.PositiveIntegerField(_("skipped"), default=0, editable=False)
    last_warnings = models.PositiveIntegerField(_("warnings"), default=0, editable=False)
    last_size = models.PositiveBigIntegerField(_("size (bytes)"), default=0, editable=False)
    last_gzip_size = models.PositiveBigIntegerField(_("gzip size (bytes)"), default=0, editable=False)
    last_duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    # --- changes waiting for a regeneration (kept by services.note_stock_changes) ------------------
    pending_changes = models.PositiveIntegerField(default=0, editable=False)
    first_change_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_change_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "name"]
        verbose_name = _("product feed")
        verbose_name_plural = _("product feeds")
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="feeds_name_per_store"),
            models.CheckConstraint(
                condition=Q(kind="generic")
                | Q(kind="google", format__in=["google_rss", "google_tsv"])
                | Q(kind="ceneo", format="ceneo_xml"),
                name="feeds_format_fits_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.GOOGLE and self.format not in (
            self.Format.GOOGLE_RSS,
            self.Format.GOOGLE_TSV,
        ):
            raise ValidationError({"format": _("A Google Merchant Center feed is RSS or TSV.")})
        if self.kind == self.Kind.CENEO and self.format != self.Format.CENEO_XML:
            raise ValidationError({"format": _("A Ceneo feed uses the Ceneo XML format.")})
        if self.kind == self.Kind.GENERIC and not self.partner_name.strip():
            raise ValidationError({"partner_name": _("Name the partner that fetches this feed.")})

    @property
    def extension(self) -> str:
        return "tsv" if self.format == self.Format.GOOGLE_TSV else "xml"

    @property
    def content_type(self) -> str:
        if self.format == self.Format.GOOGLE_TSV:
            return "text/tab-separated-values; charset=utf-8"
        return "application/xml; charset=utf-8"

    @property
    def is_google_format(self) -> bool:
        return self.format in (self.Format.GOOGLE_RSS, self.Format.GOOGLE_TSV)

    @property
    def partner_label(self) -> str:
        return self.partner_name if self.kind == self.Kind.GENERIC else self.get_kind_display()

    def url_path(self) -> str:
        from django.urls import reverse

        return reverse("feeds:serve", kwargs={"pk": self.pk, "token": self.token, "ext": self.extension})

    def public_url(self) -> str:
        return self.store.absolute_url(self.url_path())


class FeedRun(models.Model):
    """One generation of one feed. At most one is ``running`` per feed (a partial unique index)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("schedule")
        CHANGES = "changes", _("catalog changes")
        ADMIN = "admin", _("admin")
        COMMAND = "command", _("command line")

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="runs", verbose_name=_("feed"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices)
    items = models.PositiveIntegerField(_("items"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    filtered = models.PositiveIntegerField(
        _("left out by filters"),
        default=0,
        help_text=_("Variants the feed's filters left out (not an error)."),
    )
    warning_count = models.PositiveIntegerField(_("warnings"), default=0)
    warnings = models.JSONField(
        _("warnings"), default=list, blank=True, help_text=_("The first warnings: [{'item', 'message'}].")
    )
    warning_summary = models.JSONField(_("warnings by kind"), default=dict, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    gzip_size = models.PositiveBigIntegerField(_("gzip size (bytes)"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("feed run")
        verbose_name_plural = _("feed runs")
        constraints = [
            models.UniqueConstraint(
                fields=["feed"], condition=Q(status="running"), name="feeds_one_running_run_per_feed"
            )
        ]
        indexes = [models.Index(fields=["feed", "-started_at"], name="feeds_run_feed_idx")]

    def __str__(self) -> str:
        return f"{self.feed} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        end = self.finished_at or (timezone.now() if self.status == self.Status.RUNNING else None)
        return end - self.started_at if end else None
