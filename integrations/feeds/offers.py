"""The items of a feed: catalog variants read in chunks, filtered and shaped into :class:`Offer`.

Reads are shaped per chunk, not per product: one server-side cursor over the store's active
variants (with their product, ``select_related``) read with ``iterator(chunk_size=...)``, and per
chunk one query for attribute values, one for images and two or three for availability (the
catalog's own :func:`catalog.stock.availability_map`, so a feed says what the shop says). Chunks
never split a product, so its variants are grouped (``item_group_id``) and, for Ceneo's one offer
per product, merged, without holding more than one chunk in memory.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import filepath_to_uri
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Category, Product, ProductGroup, ProductImage, Variant
from catalog.services import group_product_filter
from catalog.stock import UNLIMITED, Availability, availability_map
from catalog.units import google_measures
from shop.money import round_money

from .models import Feed
from .text import one_line, plain_text, strip_invalid, truncate

CENT = Decimal("0.01")
TITLE_LIMIT = 150
DESCRIPTION_LIMIT = 5000
ID_LIMIT = 50
ATTRIBUTE_LIMIT = 200
MAX_ADDITIONAL_IMAGES = 10

# Attribute names (lower case, Polish and English) that Google has attributes of its own for.
GOOGLE_ATTRIBUTES = {
    "color": {"kolor", "color", "colour", "barwa"},
    "size": {"rozmiar", "size"},
    "material": {"materiał", "material", "tkanina", "surowiec"},
    "pattern": {"wzór", "pattern", "deseń"},
}

# Warning and problem codes (the keys of FeedRun.warning_summary).
W_TITLE_SHORTENED = "title_shortened"
W_DESCRIPTION_MISSING = "description_missing"
W_DESCRIPTION_SHORTENED = "description_shortened"
W_IMAGE_MISSING = "image_missing"
W_BRAND_MISSING = "brand_missing"
W_GTIN_MISSING = "gtin_missing"
W_GTIN_INVALID = "gtin_invalid"
W_DATE_FAR = "availability_date_far"
P_ID_TOO_LONG = "id_too_long"
P_ID_EMPTY = "id_empty"
P_TITLE_EMPTY = "title_empty"
P_PRICE = "price_not_positive"

WARNING_LABELS = {
    W_TITLE_SHORTENED: gettext_lazy("title shortened"),
    W_DESCRIPTION_MISSING: gettext_lazy("no description"),
    W_DESCRIPTION_SHORTENED: gettext_lazy("description shortened"),
    W_IMAGE_MISSING: gettext_lazy("no image"),
    W_BRAND_MISSING: gettext_lazy("no brand"),
    W_GTIN_MISSING: gettext_lazy("no EAN/GTIN"),
    W_GTIN_INVALID: gettext_lazy("invalid EAN/GTIN"),
    W_DATE_FAR: gettext_lazy("available only after a year"),
    P_ID_TOO_LONG: gettext_lazy("id too long"),
    P_ID_EMPTY: gettext_lazy("empty id"),
    P_TITLE_EMPTY: gettext_lazy("empty title"),
    P_PRICE: gettext_lazy("price not above zero"),
}


def valid_gtin(value: str) -> bool:
    """GTIN-8/12/13/14 with a correct check digit."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in value]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


@dataclass(slots=True)
class Offer:
    id: str
    title: str
    description: str
    link: str
    price: Decimal
    currency: str
    availability: str  # in_stock | out_of_stock | preorder | backorder
    image_link: str = ""
    additional_image_links: list[str] = field(default_factory=list)
    sale_price: Decimal | None = None
    availability_date: datetime | None = None
    days_to_ship: int | None = None
    stock: int | None = None
    brand: str = ""
    gtin: str = ""
    mpn: str = ""
    condition: str = "new"
    item_group_id: str = ""
    color: str = ""
    size: str = ""
    material: str = ""
    pattern: str = ""
    category_path: list[str] = field(default_factory=list)
    google_product_category: str = ""
    custom_label: str = ""
    shipping: tuple[str, str, Decimal] | None = None
    weight_grams: int = 0
    is_bundle: bool = False
    attributes: list[tuple[str, str]] = field(default_factory=list)
    # Unit price measures (catalog.units.google_measures): "500g" per "1kg".
    unit_pricing_measure: str = ""
    unit_pricing_base_measure: str = ""
    # Product safety (GPSR, catalog.gpsr), one line each; Ceneo carries them as named attributes.
    manufacturer: str = ""
    manufacturer_address: str = ""
    manufacturer_contact: str = ""
    responsible_person: str = ""
    safety_information: str = ""

    @property
    def selling_price(self) -> Decimal:
        return self.sale_price if self.sale_price is not None else self.price


@dataclass(slots=True)
class Item:
    """One candidate item: the offer, what is wrong with it (``warnings``) and, in ``problems``,
    why a partner would refuse it (filled by the writer's check; such items are skipped)."""

    key: str
    offer: Offer
    warnings: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Counters:
    filtered: int = 0


class FeedItems:
    """Iterate the items of ``feed``: ``for item in FeedItems(feed).items(): ...``."""

    def __init__(self, feed: Feed, *, chunk_size: int | None = None, now: datetime | None = None):
        self.feed = feed
        self.store = feed.store
        self.chunk_size = chunk_size or settings.FEEDS_CHUNK_SIZE
        self.now = now or timezone.now()
        self.today = timezone.localtime(self.now, self.store.zone).date()
        self.counters = Counters()
        self.markup = Decimal("1") + (feed.price_markup_percent or Decimal("0")) / Decimal("100")
        self.currency = self.store.currency
        self._categories = self._category_paths()
        placeholder = "feed-slug-placeholder"
        self._product_url = self.store.absolute_url(reverse("catalog:product", kwargs={"slug": placeholder}))
        self._placeholder = placeholder
        self._utm = {
            k: v
            for k, v in (
                ("utm_source", feed.utm_source),
                ("utm_medium", feed.utm_medium),
                ("utm_campaign", feed.utm_campaign),
            )
            if v
        }
        self._shipping = (
            (
                feed.shipping_country,
                one_line(feed.shipping_service, limit=60),
                round_money(feed.shipping_price),
            )
            if feed.shipping_price is not None
            else None
        )
        self._media_base = self.store.absolute_url("")
        self._brand_fallback = one_line(feed.brand_fallback, limit=70)
        if isinstance(default_storage, FileSystemStorage):
            # What FileSystemStorage.url does, without its per-call checks (100,000 calls a feed).
            prefix = default_storage.base_url
            self._storage_url = lambda name: prefix + filepath_to_uri(name)
        else:
            self._storage_url = default_storage.url
        self._attributes: dict[int, list[tuple[str, str, str]]] = {}
        self._product_images: dict[int, list[tuple[int | None, str]]] = {}

    # --- reading ------------------------------------------------------------------------------------

    def _category_paths(self) -> dict[int, list[str]]:
        """Every category of the store as its path of names (one query)."""
        rows = {
            c.pk: c
            for c in Category.objects.filter(store=self.store).only("id", "parent_id", "name", "is_published")
        }
        paths: dict[int, list[str]] = {}

        def path(pk: int, depth: int = 0) -> list[str]:
            if pk in paths:
                return paths[pk]
            node = rows.get(pk)
            if node is None or depth > 50:
                return []
            parent = path(node.parent_id, depth + 1) if node.parent_id else []
            paths[pk] = [*parent, one_line(node.name, limit=120)]
            return paths[pk]

        for pk in rows:
            path(pk)
        return paths

    def queryset(self):
        feed = self.feed
        qs = (
            Variant.objects.filter(store=self.store, is_active=True, product__is_published=True)
            .exclude(product__kind=Product.Kind.GIFT_CARD)
            .select_related("product", "product__manufacturer", "product__responsible_person")
            .only(
                "id",
                "product_id",
                "store_id",
                "sku",
                "ean",
                "name",
                "price",
                "compare_at_price",
                "weight_grams",
                "position",
                "track_stock",
                "backorder",
                "low_stock_threshold",
                "is_preorder",
                "release_date",
                "preorder_limit",
                "preorder_sold",
                "net_quantity",
                "unit",
                "product__id",
                "product__kind",
                "product__name",
                "product__slug",
                "product__description",
                "product__brand",
                "product__category_id",
                "product__store_id",
                "product__safety_information",
                "product__manufacturer__name",
                "product__manufacturer__address",
                "product__manufacturer__country",
                "product__manufacturer__email",
                "product__manufacturer__url",
                "product__responsible_person__name",
                "product__responsible_person__address",
                "product__responsible_person__country",
                "product__responsible_person__email",
            )
            .order_by("product_id", "position", "pk")
        )
        if feed.pk:
            categories = list(feed.categories.only("id", "path"))
            if categories:
                in_tree = Q()
                for c in categories:
                    in_tree |= Q(product__category__path__startswith=c.path or f"/{c.pk}/")
                qs = qs.filter(in_tree)
            groups = list(feed.exclude_groups.select_related("rule_category"))
            for group in groups:
                if group.kind == ProductGroup.Kind.CURATED:
                    members = Product.objects.filter(groups=group)
                else:
                    members = Product.objects.filter(store=self.store).filter(group_product_filter(group))
                qs = qs.exclude(product__in=members.values("pk"))
            excluded = feed.excluded_products.values("pk")
            qs = qs.exclude(product__in=excluded)
        if feed.exclude_preorders:
            qs = qs.filter(is_preorder=False)
        return qs

    def batches(self) -> Iterator[tuple[list[Variant], dict[int, Availability]]]:
        """Chunks of about ``chunk_size`` variants that never split a product, with availability,
        attribute values and images loaded for the whole chunk (``values_list``: no model
        instances, no per-instance prefetch querysets)."""
        batch: list[Variant] = []
        for variant in self.queryset().iterator(chunk_size=self.chunk_size):
            if len(batch) >= self.chunk_size and variant.product_id != batch[-1].product_id:
                yield batch, self._load(batch)
                batch = []
            batch.append(variant)
        if batch:
            yield batch, self._load(batch)

    def _load(self, batch: list[Variant]) -> dict[int, Availability]:
        variant_ids = [v.pk for v in batch]
        product_ids = sorted({v.product_id for v in batch})
        self._attributes = defaultdict(list)
        rows = (
            Variant.attribute_values.through.objects.filter(variant_id__in=variant_ids)
            .order_by(
                "attributevalue__attribute__position", "attributevalue__position", "attributevalue__value"
            )
            .values_list(
                "variant_id",
                "attributevalue__attribute__name",
                "attributevalue__attribute__slug",
                "attributevalue__value",
            )
        )
        for variant_id, name, slug, value in rows:
            self._attributes[variant_id].append((name, slug, value))
        self._product_images = defaultdict(list)
        images = (
            ProductImage.objects.filter(product_id__in=product_ids)
            .exclude(image="")
            .order_by("position", "pk")
            .values_list("product_id", "variant_id", "image")
        )
        for product_id, variant_id, name in images:
            self._product_images[product_id].append((variant_id, name))
        return availability_map(batch, now=self.now)

    def items(self) -> Iterator[Item]:
        per_product = self.feed.one_offer_per_product and self.feed.format == Feed.Format.CENEO_XML
        for batch, availability in self.batches():
            for _product_id, group in itertools.groupby(batch, key=lambda v: v.product_id):
                variants = list(group)
                items = []
                for variant in variants:
                    a = availability[variant.pk]
                    if not self._passes_filters(a):
                        self.counters.filtered += 1
                        continue
                    items.append(self._item(variant, a, group_size=len(variants)))
                if not items:
                    continue
                if per_product and len(items) > 1:
                    yield self._merge(variants[0].product, items)
                else:
                    yield from items

    def _passes_filters(self, a: Availability) -> bool:
        if self.feed.only_in_stock and a.status not in ("in_stock", "low_stock"):
            return False
        return not (self.feed.min_stock and a.available < self.feed.min_stock)

    # --- shaping ------------------------------------------------------------------------------------

    def _link(self, product: Product, variant: Variant | None) -> str:
        url = self._product_url.replace(self._placeholder, product.slug)
        params = {}
        if variant is not None:
            params["wariant"] = variant.pk
        params.update(self._utm)
        return f"{url}?{urlencode(params)}" if params else url

    def _image_url(self, name: str) -> str:
        url = self._storage_url(name)
        return url if url.startswith(("http://", "https://")) else self.store.absolute_url(url)

    def _images(self, product: Product, variant: Variant | None) -> list[str]:
        images = self._product_images.get(product.pk, [])
        own = [n for v, n in images if variant is not None and v == variant.pk]
        shared = [n for v, n in images if v is None]
        others = [n for v, n in images if v is not None and variant is None]
        ordered = own + shared + others
        return [self._image_url(n) for n in ordered[: MAX_ADDITIONAL_IMAGES + 1]]

    def _availability(
        self, variant: Variant, a: Availability
    ) -> tuple[str, datetime | None, int | None, int | None]:
        """(Google availability, availability date, days to ship, units) for one variant."""
        zone = self.store.zone
        if a.status == "preorder":
            release = variant.release_date or self.today
            at = datetime.combine(release, time(0, 0), tzinfo=zone)
            units = None if a.available >= UNLIMITED else a.available
            return "preorder", at, max(1, (release - self.today).days), units
        if a.status == "backorder":
            ships = self.today + timedelta(days=self.feed.backorder_days)
            return "backorder", datetime.combine(ships, time(0, 0), tzinfo=zone), self.feed.backorder_days, 0
        if a.status in ("in_stock", "low_stock"):
            units = None if a.available >= UNLIMITED else a.available
            return "in_stock", None, 1, units
        return "out_of_stock", None, None, 0

    def _title(
        self, product: Product, variant: Variant | None, variant_label: str, category: list[str]
    ) -> str:
        name = one_line(product.name, limit=TITLE_LIMIT * 4)
        if self.feed.title_template:
            values = {
                "name": name,
                "brand": one_line(product.brand, limit=70) or self._brand_fallback,
                "variant": variant_label,
                "sku": strip_invalid(variant.sku) if variant is not None else "",
                "category": category[-1] if category else "",
            }
            # The values are clean already: only the merchant's own template text is checked here.
            return " ".join(strip_invalid(self.feed.title_template.format_map(values)).split())
        return f"{name} {variant_label}".strip() if variant_label else name

    def _item(self, variant: Variant, a: Availability, *, group_size: int) -> Item:
        product = variant.product
        feed = self.feed
        warnings: list[tuple[str, str]] = []
        values = self._attributes.get(variant.pk, [])
        special: dict[str, str] = {}
        attributes: list[tuple[str, str]] = []
        for attribute_name, attribute_slug, raw_value in values:
            label = one_line(attribute_name, limit=80)
            value = one_line(raw_value, limit=ATTRIBUTE_LIMIT)
            key = attribute_name.strip().lower()
            slug = attribute_slug.lower()
            for google_name, names in GOOGLE_ATTRIBUTES.items():
                if key in names or slug in names:
                    special.setdefault(google_name, value)
                    break
            if label and value:
                attributes.append((label, value))
        variant_label = one_line(variant.name, limit=100) or " / ".join(v for _n, v in attributes)
        category = self._categories.get(product.category_id, [])
        grouped = group_size > 1 or bool(values)

        raw_title = self._title(product, variant, variant_label if grouped else "", category)
        title = truncate(raw_title, TITLE_LIMIT)
        if len(title) < len(raw_title):
            warnings.append(
                (W_TITLE_SHORTENED, _("Title shortened to %(n)s characters.") % {"n": TITLE_LIMIT})
            )

        description = plain_text(product.description, limit=DESCRIPTION_LIMIT + 500)
        if len(description) > DESCRIPTION_LIMIT:
            description = truncate(description, DESCRIPTION_LIMIT)
            warnings.append(
                (
                    W_DESCRIPTION_SHORTENED,
                    _("Description shortened to %(n)s characters.") % {"n": DESCRIPTION_LIMIT},
                )
            )
        if not description:
            description = title
            warnings.append((W_DESCRIPTION_MISSING, _("No description: the title is used instead.")))

        images = self._images(product, variant)
        if not images:
            warnings.append((W_IMAGE_MISSING, _("No image.")))

        brand = one_line(product.brand, limit=70) or self._brand_fallback
        if not brand:
            warnings.append((W_BRAND_MISSING, _("No brand.")))

        ean = (variant.ean or "").strip()
        gtin = ean if valid_gtin(ean) else ""
        if ean and not gtin:
            warnings.append(
                (
                    W_GTIN_INVALID,
                    _("EAN %(ean)s is not a valid GTIN; left out.") % {"ean": one_line(ean, limit=20)},
                )
            )
        elif not ean:
            warnings.append((W_GTIN_MISSING, _("No EAN/GTIN.")))

        price = round_money(variant.price * self.markup)
        sale_price = None
        if variant.compare_at_price is not None and variant.compare_at_price > variant.price:
            regular = round_money(variant.compare_at_price * self.markup)
            if regular > price:
                price, sale_price = regular, price

        measures = google_measures(variant.net_quantity, variant.unit) or ("", "")
        safety = self._safety(product)

        availability, available_at, days, units = self._availability(variant, a)
        if available_at is not None and available_at.date() > self.today + timedelta(days=365):
            warnings.append((W_DATE_FAR, _("Available only after more than a year.")))

        offer = Offer(
            id=strip_invalid(variant.sku).strip(),
            title=title,
            description=description,
            link=self._link(product, variant if group_size > 1 else None),
            price=price,
            sale_price=sale_price,
            currency=self.currency,
            availability=availability,
            availability_date=available_at,
            days_to_ship=days,
            stock=units,
            image_link=images[0] if images else "",
            additional_image_links=images[1:],
            brand=brand,
            gtin=gtin,
            mpn=one_line(variant.sku, limit=70),
            condition=feed.condition,
            item_group_id=f"P{product.pk}" if grouped else "",
            color=special.get("color", ""),
            size=special.get("size", ""),
            material=special.get("material", ""),
            pattern=special.get("pattern", ""),
            category_path=category,
            google_product_category=one_line(feed.google_product_category, limit=250),
            custom_label=one_line(feed.custom_label, limit=100),
            shipping=self._shipping,
            weight_grams=variant.weight_grams or 0,
            is_bundle=product.kind == Product.Kind.SET,
            attributes=attributes,
            unit_pricing_measure=measures[0],
            unit_pricing_base_measure=measures[1],
            **safety,
        )
        return Item(key=one_line(variant.sku, limit=64), offer=offer, warnings=warnings)

    def _safety(self, product: Product) -> dict[str, str]:
        """GPSR data of a product, one clean line per value (loaded with the variant's row)."""
        maker, person = product.manufacturer, product.responsible_person
        values = {
            "safety_information": one_line(plain_text(product.safety_information, limit=2000), limit=1000)
        }
        if maker is not None:
            values["manufacturer"] = one_line(maker.name, limit=200)
            values["manufacturer_address"] = one_line(f"{maker.address}, {maker.country}", limit=500)
            values["manufacturer_contact"] = one_line(
                ", ".join(v for v in (maker.email, maker.url) if v), limit=300
            )
        if person is not None:
            values["responsible_person"] = one_line(
                f"{person.name}, {person.address}, {person.country}, {person.email}", limit=700
            )
        return values

    def _merge(self, product: Product, items: list[Item]) -> Item:
        """Ceneo, one offer per product: the cheapest variant's price, all variants' stock, the
        quickest delivery; the EAN only when every variant shares it."""
        order = {"in_stock": 0, "backorder": 1, "preorder": 2, "out_of_stock": 3}
        best = min(items, key=lambda i: (order[i.offer.availability], i.offer.selling_price))
        offer = best.offer
        stocks = [i.offer.stock for i in items]
        gtins = {i.offer.gtin for i in items}
        days = [i.offer.days_to_ship for i in items if i.offer.days_to_ship is not None]
        seen: set[tuple[str, str]] = set()
        attributes = []
        for i in items:
            for pair in i.offer.attributes:
                if pair not in seen:
                    seen.add(pair)
                    attributes.append(pair)
        images: list[str] = []
        for i in items:
            for url in [i.offer.image_link, *i.offer.additional_image_links]:
                if url and url not in images:
                    images.append(url)
        title = truncate(
            self._title(product, None, "", offer.category_path)
            if not self.feed.title_template
            else offer.title,
            TITLE_LIMIT,
        )
        merged = Offer(
            **{
                **{f: getattr(offer, f) for f in Offer.__slots__},
                "id": f"P{product.pk}",
                "title": title,
                "link": self._link(product, None),
                "stock": None if any(s is None for s in stocks) else sum(stocks),
                "gtin": gtins.pop() if len(gtins) == 1 else "",
                "mpn": "",
                "item_group_id": "",
                "days_to_ship": min(days) if days else None,
                "attributes": attributes,
                "image_link": images[0] if images else "",
                "additional_image_links": images[1 : MAX_ADDITIONAL_IMAGES + 1],
            }
        )
        warnings: list[tuple[str, str]] = []
        seen_codes: set[str] = set()
        for i in items:
            for code, message in i.warnings:
                if code not in seen_codes and code not in (W_GTIN_MISSING, W_GTIN_INVALID):
                    seen_codes.add(code)
                    warnings.append((code, message))
        if not merged.gtin:
            warnings.append((W_GTIN_MISSING, _("No EAN/GTIN shared by every variant.")))
        return Item(key=f"P{product.pk}", offer=merged, warnings=warnings)


def google_date(value: datetime) -> str:
    """ISO 8601 as Google documents it: ``2026-12-25T13:00+0100``."""
    return value.strftime("%Y-%m-%dT%H:%M%z")


def ceneo_avail(days: int | None) -> int:
    """Ceneo's availability code for the days until the item ships (99: ask the shop)."""
    if days is None:
        return 99
    for code in (1, 3, 7, 14):
        if days <= code:
            return code
    return 99
