"""What is sold: products, variants, attributes, categories, groups, sets, stock and prices.

Invariants the database can hold, it holds (CHECK and UNIQUE constraints below); the rest lives
in ``catalog.services`` (writes) and ``catalog.selectors`` (reads).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Store
from shop.storage import private_storage

MONEY = {"max_digits": 12, "decimal_places": 2}


class VatRate(models.TextChoices):
    """Polish VAT rates. Prices are stored gross; net = gross / (1 + rate)."""

    STANDARD = "23", "23%"
    REDUCED_8 = "8", "8%"
    REDUCED_5 = "5", "5%"
    ZERO = "0", "0%"
    EXEMPT = "zw", _("exempt (zw)")

    @classmethod
    def percent(cls, value: str) -> Decimal:
        return Decimal("0") if value == cls.EXEMPT else Decimal(value)


class Attribute(models.Model):
    """A dimension variants differ by: size, colour, material, or anything the merchant defines."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="attributes")
    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(_("slug"), max_length=80)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_swatch = models.BooleanField(
        _("shown as swatches"), default=False, help_text=_("For colours: values carry a hex colour.")
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("attribute")
        verbose_name_plural = _("attributes")
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="attribute_slug_per_store")]

    def __str__(self) -> str:
        return self.name


class AttributeValue(models.Model):
    attribute = models.ForeignKey(Attribute, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(_("value"), max_length=80)
    slug = models.SlugField(_("slug"), max_length=80)
    position = models.PositiveIntegerField(_("position"), default=0)
    color = models.CharField(_("colour (hex)"), max_length=7, blank=True)

    class Meta:
        ordering = ["attribute__position", "position", "value"]
        verbose_name = _("attribute value")
        verbose_name_plural = _("attribute values")
        constraints = [
            models.UniqueConstraint(fields=["attribute", "slug"], name="attribute_value_slug_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.attribute.name}: {self.value}"


EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)


class Manufacturer(models.Model):
    """A product's manufacturer as GPSR (EU 2023/988, art. 19) names it on every offer: name,
    postal address and an electronic address. One row per store, picked on many products."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="manufacturers")
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(
        _("postal address"),
        max_length=500,
        help_text=_("Street and number, postal code and city; the country too when outside Poland."),
    )
    country = models.CharField(
        _("country"), max_length=2, default="PL", help_text=_("Two-letter code, e.g. PL, DE, CN.")
    )
    email = models.EmailField(_("email"), blank=True)
    url = models.URLField(_("website or contact form"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("manufacturer")
        verbose_name_plural = _("manufacturers")
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="manufacturer_name_per_store"),
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(url=""), name="manufacturer_has_electronic_address"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def in_eu(self) -> bool:
        return self.country.upper() in EU_COUNTRIES


class ResponsiblePerson(models.Model):
    """The economic operator in the EU responsible for a product whose manufacturer is outside
    the EU (GPSR art. 16, Regulation 2019/1020 art. 4): name, postal address, e-mail."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="responsible_persons")
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(
        _("postal address"),
        max_length=500,
        help_text=_("Street and number, postal code and city; the country too when outside Poland."),
    )
    country = models.CharField(_("country"), max_length=2, default="PL")
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("EU responsible person")
        verbose_name_plural = _("EU responsible persons")
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="responsible_person_name_per_store"),
        ]

    def __str__(self) -> str:
        return self.name


class SeoFields(models.Model):
    """What a page shows search engines and link previews; empty fields use the defaults of
    ``catalog.seo``."""

    seo_title = models.CharField(
        _("meta title"), max_length=120, blank=True, help_text=_('Empty: "Name — Store".')
    )
    seo_description = models.CharField(
        _("meta description"),
        max_length=300,
        blank=True,
        help_text=_("Empty: the description, cut at a word to 155 characters."),
    )
    h1 = models.CharField(_("page heading (H1)"), max_length=200, blank=True, help_text=_("Empty: the name."))

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._loaded_slug = self.__dict__.get("slug")

    @classmethod
    def from_db(cls, db, field_names, values):
        # The slug as loaded, so a save that changes it can leave a redirect behind
        # (catalog.redirects.slug_changed) without reading the row again.
        instance = super().from_db(db, field_names, values)
        instance._loaded_slug = instance.__dict__.get("slug")
        return instance

    def refresh_from_db(self, *args, **kwargs):
        super().refresh_from_db(*args, **kwargs)
        self._loaded_slug = self.__dict__.get("slug")


class Category(SeoFields):
    """A node of the store's category tree.

    ``path`` is the materialised chain of ancestor ids (``"/3/17/"`` for a child of 3 with id 17),
    kept by ``catalog.services`` so a subtree is one indexed ``path__startswith`` query.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="categories")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140, allow_unicode=False)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_published = models.BooleanField(_("published"), default=True)
    path = models.CharField(max_length=255, blank=True, editable=False, db_index=True)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["path", "position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["store", "slug"], name="category_slug_per_store"),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:category", kwargs={"slug": self.slug})


class Product(SeoFields):
    class Kind(models.TextChoices):
        STANDARD = "standard", _("standard")
        SET = "set", _("product set (bundle)")
        DIGITAL = "digital", _("digital goods")
        GIFT_CARD = "gift_card", _("gift card")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.STANDARD)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=120, blank=True)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="products",
        verbose_name=_("category"),
    )
    vat_rate = models.CharField(
        _("VAT rate"), max_length=2, choices=VatRate.choices, default=VatRate.STANDARD
    )
    variant_attributes = models.ManyToManyField(
        Attribute,
        blank=True,
        related_name="+",
        verbose_name=_("variant attributes"),
        help_text=_("Every variant must have one value of each of these attributes."),
    )
    related = models.ManyToManyField(
        "self",
        blank=True,
        symmetrical=True,
        verbose_name=_("related products"),
        help_text=_("E.g. the other colours of the same model, shown as swatches."),
    )
    recommended = models.ManyToManyField(
        "self",
        blank=True,
        symmetrical=False,
        related_name="recommended_by",
        verbose_name=_("recommended products"),
        help_text=_("Cross-sell and upsell."),
    )
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # Product safety (GPSR): who made it, who answers for it in the EU, how to use it safely.
    manufacturer = models.ForeignKey(
        Manufacturer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("manufacturer"),
    )
    responsible_person = models.ForeignKey(
        ResponsiblePerson,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="products",
        verbose_name=_("EU responsible person"),
        help_text=_("Required when the manufacturer is outside the EU."),
    )
    model_number = models.CharField(
        _("type / model"),
        max_length=100,
        blank=True,
        help_text=_("Type, model or batch that identifies the product (besides the EAN)."),
    )
    safety_information = models.TextField(
        _("warnings and safety information"),
        max_length=5000,
        blank=True,
        help_text=_("Warnings, age limits, safe use, as on the label or in the manual."),
    )
    safety_document = models.FileField(
        _("safety sheet or label (PDF or image)"),
        upload_to="safety/",
        blank=True,
        max_length=200,
    )
    # Units sold in the last 30 days, refreshed from orders; drives "popularity" sorting.
    popularity = models.PositiveIntegerField(default=0, editable=False)
    # Denormalised text the search looks at (name, brand, SKUs, EANs, category), kept by services.
    search_text = models.TextField(blank=True, editable=False)
    # Cheapest active variant's gross price, kept by services: sorting and price filters.
    min_price = models.DecimalField(**MONEY, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["store", "slug"], name="product_slug_per_store"),
        ]
        indexes = [
            models.Index(fields=["store", "is_published", "category"], name="product_listing_idx"),
            models.Index(fields=["store", "is_published", "min_price"], name="product_price_idx"),
            models.Index(fields=["store", "is_published", "-popularity"], name="product_popular_idx"),
            models.Index(fields=["store", "is_published", "-published_at"], name="product_newest_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:product", kwargs={"slug": self.slug})


class Variant(models.Model):
    """What a shopper actually buys. A product without options has exactly one variant."""

    class Backorder(models.TextChoices):
        DENY = "deny", _("do not sell when out of stock")
        ALLOW = "allow", _("allow backorders")

    class Unit(models.TextChoices):
        GRAM = "g", _("g")
        KILOGRAM = "kg", _("kg")
        MILLILITRE = "ml", _("ml")
        LITRE = "l", _("l")
        CENTIMETRE = "cm", _("cm")
        METRE = "m", _("m")
        SQUARE_METRE = "m2", _("m²")
        PIECE = "szt", _("pcs")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="variants")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(_("SKU"), max_length=64)
    ean = models.CharField(_("EAN / GTIN"), max_length=14, blank=True, db_index=True)
    name = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("Empty: built from the attribute values.")
    )
    attribute_values = models.ManyToManyField(
        AttributeValue, blank=True, related_name="variants", verbose_name=_("attribute values")
    )
    price = models.DecimalField(_("price (gross)"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    compare_at_price = models.DecimalField(
        _("compare-at price (gross)"),
        **MONEY,
        null=True,
        blank=True,
        help_text=_("The crossed-out 'before' price; must be higher than the price."),
    )
    cost_price = models.DecimalField(_("cost price (net)"), **MONEY, null=True, blank=True)
    weight_grams = models.PositiveIntegerField(_("weight (g)"), default=0)
    # Unit price (Polish price-information rules): the net quantity in the package and its unit.
    net_quantity = models.DecimalField(
        _("net quantity"),
        max_digits=10,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text=_("E.g. 500 for a 500 g pack: the price per kg is shown next to the price."),
    )
    unit = models.CharField(_("unit"), max_length=4, choices=Unit.choices, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    track_stock = models.BooleanField(_("track stock"), default=True)
    backorder = models.CharField(
        _("when out of stock"), max_length=8, choices=Backorder.choices, default=Backorder.DENY
    )
    low_stock_threshold = models.PositiveIntegerField(_("low stock threshold"), default=3)
    # Pre-order: sold before release, up to preorder_limit units (null = unlimited), ships then.
    is_preorder = models.BooleanField(_("pre-order"), default=False)
    release_date = models.DateField(_("release / shipping date"), null=True, blank=True)
    preorder_limit = models.PositiveIntegerField(_("pre-order limit"), null=True, blank=True)
    preorder_sold = models.PositiveIntegerField(_("pre-ordered units sold"), default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "position", "pk"]
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        constraints = [
            models.UniqueConstraint(fields=["store", "sku"], name="variant_sku_per_store"),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True) | Q(compare_at_price__gt=F("price")),
                name="variant_compare_at_above_price",
            ),
            models.CheckConstraint(
                condition=Q(cost_price__isnull=True) | Q(cost_price__gte=0),
                name="variant_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(is_preorder=False) | Q(release_date__isnull=False),
                name="variant_preorder_has_release_date",
            ),
            models.CheckConstraint(
                condition=(Q(unit="") & Q(net_quantity__isnull=True))
                | (~Q(unit="") & Q(net_quantity__isnull=False) & Q(net_quantity__gt=0)),
                name="variant_unit_with_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.name}".strip() if self.name else self.product.name

    @property
    def is_discounted(self) -> bool:
        return self.compare_at_price is not None and self.compare_at_price > self.price


class SetComponent(models.Model):
    """One component of a product set: ``quantity`` units of ``variant`` per set sold."""

    set_product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="in_sets")
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("set component")
        verbose_name_plural = _("set components")
        constraints = [
            models.UniqueConstraint(fields=["set_product", "variant"], name="set_component_once"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="set_component_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant}"


def product_image_path(instance: ProductImage, filename: str) -> str:
    return f"products/{instance.product_id}/{filename}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="images"
    )
    image = models.ImageField(
        _("image"), upload_to=product_image_path, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    alt = models.CharField(_("alternative text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    # SHA-256 of the re-encoded file: the same image uploaded or imported twice is stored once.
    checksum = models.CharField(max_length=64, blank=True, db_index=True, editable=False)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("product image")
        verbose_name_plural = _("product images")

    def __str__(self) -> str:
        return self.alt or self.image.name


class DigitalAsset(models.Model):
    """A file delivered after payment. Stored in private storage: never reachable by URL."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="digital_assets")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), storage=private_storage, upload_to="digital/")
    download_limit = models.PositiveIntegerField(_("downloads per purchase"), default=5)
    link_valid_days = models.PositiveIntegerField(_("link valid for (days)"), default=30)

    class Meta:
        verbose_name = _("digital asset")
        verbose_name_plural = _("digital assets")

    def __str__(self) -> str:
        return self.title


class ProductGroup(SeoFields):
    """A curated or rule-based collection shown as a page ("Nowości", "Promocje", "Na prezent")."""

    class Kind(models.TextChoices):
        CURATED = "curated", _("curated (hand-picked)")
        RULES = "rules", _("rule-based")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="product_groups")
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CURATED)
    products = models.ManyToManyField(
        Product, blank=True, related_name="groups", verbose_name=_("products (curated)")
    )
    rule_new_days = models.PositiveIntegerField(_("rule: published within days"), null=True, blank=True)
    rule_on_sale = models.BooleanField(_("rule: discounted only"), default=False)
    rule_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("rule: in category"),
    )
    rule_min_price = models.DecimalField(_("rule: minimum price"), **MONEY, null=True, blank=True)
    rule_max_price = models.DecimalField(_("rule: maximum price"), **MONEY, null=True, blank=True)
    is_published = models.BooleanField(_("published"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("product group")
        verbose_name_plural = _("product groups")
        constraints = [
            models.UniqueConstraint(fields=["store", "slug"], name="product_group_slug_per_store"),
            models.CheckConstraint(
                condition=Q(rule_min_price__isnull=True)
                | Q(rule_max_price__isnull=True)
                | Q(rule_min_price__lte=F("rule_max_price")),
                name="product_group_price_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:group", kwargs={"slug": self.slug})


class PriceHistory(models.Model):
    """Every price a variant has had, from ``valid_from``: the EU Omnibus 30-day lowest price."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="price_history")
    price = models.DecimalField(**MONEY)
    compare_at_price = models.DecimalField(**MONEY, null=True, blank=True)
    valid_from = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["variant", "-valid_from"]
        indexes = [models.Index(fields=["variant", "-valid_from"], name="price_history_idx")]

    def __str__(self) -> str:
        return f"{self.variant}: {self.price} ({self.valid_from:%Y-%m-%d})"


class Warehouse(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="warehouses")
    name = models.CharField(_("name"), max_length=120)
    code = models.SlugField(_("code"), max_length=40)
    priority = models.PositiveIntegerField(
        _("priority"), default=0, help_text=_("Lower ships first when stock is taken.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["priority", "pk"]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="warehouse_code_per_store")]

    def __str__(self) -> str:
        return self.name


class StockItem(models.Model):
    """Units of one variant physically on hand in one warehouse."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="stock_items")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="stock_items")
    quantity = models.IntegerField(_("on hand"), default=0)

    class Meta:
        verbose_name = _("stock item")
        verbose_name_plural = _("stock items")
        constraints = [
            models.UniqueConstraint(fields=["variant", "warehouse"], name="stock_item_once"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.variant} @ {self.warehouse}: {self.quantity}"


class StockMovement(models.Model):
    """Every change of an on-hand number: who, why, how much, and what it became."""

    class Reason(models.TextChoices):
        ADJUSTMENT = "adjustment", _("manual adjustment")
        DELIVERY = "delivery", _("delivery")
        SALE = "sale", _("sale")
        RETURN = "return", _("return")
        CANCELLATION = "cancellation", _("cancellation")
        IMPORT = "import", _("import / sync")
        TRANSFER = "transfer", _("transfer")

    stock_item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="movements")
    delta = models.IntegerField()
    quantity_after = models.IntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    reference = models.CharField(max_length=100, blank=True, help_text=_("Order number, sync run, ..."))
    note = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")

    def __str__(self) -> str:
        return f"{self.delta:+d} ({self.get_reason_display()})"


class StockReservation(models.Model):
    """Units held for a shopper who is paying ("blokowanie produktów").

    Lives in catalog, beside the stock it holds, so availability never needs the orders app.
    ``reference`` is the holder's key (e.g. ``order:KS-2026-000123``). A reservation counts while
    ``expires_at`` is in the future; the periodic sweep deletes expired rows, but availability
    already ignores them before the sweep runs. Pre-order variants reserve against their pre-order
    limit instead of a warehouse (``stock_item`` is null).
    """

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="reservations")
    stock_item = models.ForeignKey(
        StockItem, null=True, blank=True, on_delete=models.CASCADE, related_name="reservations"
    )
    quantity = models.PositiveIntegerField()
    reference = models.CharField(max_length=100, db_index=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="reservation_quantity_positive"),
        ]
        indexes = [models.Index(fields=["variant", "expires_at"], name="reservation_active_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant} ({self.reference})"


class BackInStockSubscription(models.Model):
    """A shopper's wish to hear when a sold-out variant returns (double opt-in, used once)."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="stock_alerts")
    email = models.EmailField()
    language = models.CharField(max_length=8, default="pl")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("back-in-stock alert")
        verbose_name_plural = _("back-in-stock alerts")
        constraints = [
            models.UniqueConstraint(fields=["variant", "email"], name="stock_alert_once"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.variant}"


class DownloadGrant(models.Model):
    """The right of one buyer to download one digital asset: a few times, until a date.

    Created by ``catalog.downloads.grant_downloads`` once an order is paid; the link a buyer gets
    carries a signed token naming this row (``catalog.downloads.download_url``), so links cannot
    be guessed, and the count is decremented atomically on every download.
    """

    asset = models.ForeignKey(DigitalAsset, on_delete=models.CASCADE, related_name="grants")
    email = models.EmailField(_("email"))
    reference = models.CharField(
        _("reference"), max_length=100, db_index=True, help_text=_("Order line or order number.")
    )
    expires_at = models.DateTimeField(_("expires at"))
    downloads_left = models.PositiveIntegerField(_("downloads left"))
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    last_downloaded_at = models.DateTimeField(_("last download"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("download grant")
        verbose_name_plural = _("download grants")
        constraints = [
            models.UniqueConstraint(fields=["asset", "reference"], name="download_grant_once"),
            models.CheckConstraint(
                condition=Q(downloads_left__gte=0), name="download_grant_left_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset} -> {self.email} ({self.reference})"


class SearchSynonym(models.Model):
    """Words a store's shoppers use for the same thing ("buty, obuwie"): a query word matching
    one of them (by stem) also finds products with any other."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="search_synonyms")
    terms = models.CharField(
        _("words"),
        max_length=300,
        help_text=_('Words or phrases meaning the same, separated by commas, e.g. "buty, obuwie".'),
    )

    class Meta:
        ordering = ["terms", "pk"]
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")

    def __str__(self) -> str:
        return self.terms

    def term_list(self) -> list[str]:
        return [t.strip() for t in self.terms.split(",") if t.strip()]


class Redirect(models.Model):
    """A permanent (301) redirect of an old path of the store: left behind when a slug changes,
    imported from the old shop's addresses, or typed in. Applied only to a path that is a 404
    (``catalog.redirects.RedirectMiddleware``); chains are collapsed when written."""

    class Source(models.TextChoices):
        SLUG = "slug", _("slug change")
        IMPORT = "import", _("CSV import")
        MANUAL = "manual", _("added by hand")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="redirects")
    old_path = models.CharField(_("old path"), max_length=500)
    new_path = models.CharField(_("new path"), max_length=500)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.MANUAL)
    hits = models.PositiveIntegerField(_("hits"), default=0, editable=False)
    last_hit_at = models.DateTimeField(_("last hit"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["old_path"]
        verbose_name = _("redirect")
        verbose_name_plural = _("redirects")
        constraints = [
            models.UniqueConstraint(fields=["store", "old_path"], name="redirect_old_path_per_store"),
            models.CheckConstraint(condition=~Q(old_path=F("new_path")), name="redirect_not_to_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.old_path} → {self.new_path}"
