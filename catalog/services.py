"""Every catalog write that matters: slugs, the category tree, products, variants, prices.

Views, the admin, the demo seeder, imports and tasks call these functions; none of them repeats
the rules. Stock changes live in :mod:`catalog.stock`, digital downloads in
:mod:`catalog.downloads`, back-in-stock alerts in :mod:`catalog.alerts`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.identifiers import clean_gtin
from shop.models import Store
from shop.money import round_money

from . import bulk, pagecache
from .models import (
    Attribute,
    AttributeValue,
    Category,
    PriceHistory,
    Product,
    ProductGroup,
    SetComponent,
    Variant,
)
from .text import slugify_pl

CENT = Decimal("0.01")
_UNSET = object()


# The one rounding rule (half-up to 0.01), under the name the catalog code imports.
money = round_money


# --- Slugs ---------------------------------------------------------------------------------------


def unique_slug(
    *, model: type[models.Model], store: Store, text: str, exclude_pk: int | None = None, max_length=None
) -> str:
    """A transliterated slug of ``text`` free in ``store``: ``sukienka``, ``sukienka-2``, ..."""
    max_length = max_length or model._meta.get_field("slug").max_length
    base = slugify_pl(text, max_length=max_length - 6) or "x"
    taken = set(
        model.objects.filter(store=store, slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _ensure_slug(obj: models.Model) -> None:
    """Fill an empty slug from the name; normalise a typed one; keep it unique in the store."""
    text = obj.slug or obj.name
    slug = slugify_pl(text)
    clash = type(obj).objects.filter(store_id=obj.store_id, slug=slug).exclude(pk=obj.pk).exists()
    if not slug or clash or slug != obj.slug:
        obj.slug = (
            unique_slug(model=type(obj), store=obj.store, text=text, exclude_pk=obj.pk)
            if (clash or not slug)
            else slug
        )


def _free_slug(taken: models.QuerySet, text: str, *, fallback: str, exclude_pk=None, max_length=80) -> str:
    """``text`` transliterated (``fallback`` when nothing is left of it), suffixed ``-2``, ``-3``,
    ... until no row of ``taken`` other than ``exclude_pk`` has it."""
    base = slugify_pl(text, max_length=max_length) or fallback
    used = set(
        taken.exclude(pk=exclude_pk)
        .filter(slug__startswith=base[: max_length - 6])
        .values_list("slug", flat=True)
    )
    if base not in used:
        return base
    stem = base[: max_length - 6].rstrip("-") or fallback
    n = 2
    while f"{stem}-{n}" in used:
        n += 1
    return f"{stem}-{n}"


# --- Attributes ----------------------------------------------------------------------------------


def attribute_slug(*, attribute: Attribute) -> str:
    """The slug an attribute is saved with: the typed slug or the name, transliterated (``cecha``
    when nothing is left), unique in the store. Listing filters use it in URLs (``?rozmiar=m``)."""
    return _free_slug(
        Attribute.objects.filter(store_id=attribute.store_id),
        attribute.slug or attribute.name,
        fallback="cecha",
        exclude_pk=attribute.pk,
    )


def attribute_value_slug(*, value: AttributeValue) -> str:
    """The slug an attribute value is saved with: the typed slug or the value, transliterated
    (``wartosc`` when nothing is left), unique within its attribute."""
    return _free_slug(
        AttributeValue.objects.filter(attribute_id=value.attribute_id),
        value.slug or value.value,
        fallback="wartosc",
        exclude_pk=value.pk,
    )


def save_attribute(*, attribute: Attribute) -> Attribute:
    attribute.slug = attribute_slug(attribute=attribute)
    attribute.save()  # the page cache is bumped by catalog.pagecache's signals
    return attribute


def save_attribute_value(*, value: AttributeValue) -> AttributeValue:
    value.slug = attribute_value_slug(value=value)
    value.save()
    return value


# --- Categories ----------------------------------------------------------------------------------


def category_tree_key(store_id: int) -> str:
    return f"catalog:tree:{store_id}"


def forget_category_tree(store_id: int) -> None:
    """Drop the cached navigation tree of a store (any category change calls this)."""
    try:
        cache.delete(category_tree_key(store_id))
    except Exception:  # a cache outage must not fail the write; the tree expires by itself
        logging.getLogger(__name__).exception("Could not forget the category tree of store %s", store_id)
    pagecache.bump(store_id)


@transaction.atomic
def save_category(*, category: Category) -> Category:
    """Save a category, keeping its slug, materialised ``path``/``depth`` and its subtree right.

    Refuses a parent from another store and a parent inside the category's own subtree (a cycle).
    """
    parent = category.parent
    if parent is not None:
        if parent.store_id != category.store_id:
            raise ValidationError({"parent": _("The parent category belongs to another store.")})
        if category.pk and (parent.pk == category.pk or f"/{category.pk}/" in (parent.path or "")):
            raise ValidationError({"parent": _("A category cannot be placed inside itself.")})
    _ensure_slug(category)
    old_path = category.path
    loaded_slug = getattr(category, "_loaded_slug", None)
    category.save()
    _leave_redirect(category, loaded_slug)
    new_path = f"{parent.path if parent else '/'}{category.pk}/"
    depth = new_path.count("/") - 2
    if new_path != category.path or depth != category.depth:
        category.path, category.depth = new_path, depth
        Category.objects.filter(pk=category.pk).update(path=new_path, depth=depth)
        if old_path:
            # Re-root the subtree: every descendant's path starts with the old path.
            for child in Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk):
                child.path = new_path + child.path[len(old_path) :]
                child.depth = child.path.count("/") - 2
                Category.objects.filter(pk=child.pk).update(path=child.path, depth=child.depth)
    forget_category_tree(category.store_id)
    return category


def delete_category(*, category: Category) -> None:
    """Delete a leaf category (children are protected); its products become uncategorised."""
    if category.children.exists():
        raise ValidationError(_("Move or delete the subcategories first."))
    store_id = category.store_id
    product_ids = list(category.products.values_list("pk", flat=True))
    category.delete()
    refresh_products(product_ids=product_ids)
    forget_category_tree(store_id)


# --- Products and variants -----------------------------------------------------------------------


@transaction.atomic
def save_product(*, product: Product) -> Product:
    """Save a product: slug from the name, ``published_at`` on first publication, search text."""
    if product.category_id and product.category.store_id != product.store_id:
        raise ValidationError({"category": _("The category belongs to another store.")})
    _ensure_slug(product)
    if product.is_published and product.published_at is None:
        product.published_at = timezone.now()
    loaded_slug = getattr(product, "_loaded_slug", None)
    product.save()
    _leave_redirect(product, loaded_slug)
    refresh_products(product_ids=[product.pk])
    return product


def refresh_products(*, product_ids: Iterable[int]) -> None:
    """Recompute the denormalised ``min_price`` and ``search_text`` of some products.

    Costs three queries for any number of products (plus one update per product).
    """
    ids = sorted(set(product_ids))
    if not ids:
        return
    products = list(Product.objects.filter(pk__in=ids).select_related("category", "store"))
    pagecache.bump_many(p.store_id for p in products)  # bulk writers (imports) end with this call
    fields = bulk.denormalised(products)
    for product in products:
        text, price = fields[product.pk]
        if product.search_text != text or product.min_price != price:
            Product.objects.filter(pk=product.pk).update(search_text=text, min_price=price)
        product.min_price = price
    publish_product_updated(products=products)


def publish_product_updated(*, products: Iterable[Product]) -> int:
    """``product.updated`` (outbox) for each product of a store with a webhook subscribed to it:
    every product write ends in :func:`refresh_products` (or :func:`set_published`), imports
    included, so only subscribers' stores pay for the events. Payload in docs/api.md."""
    from shop import events
    from shop.api.webhooks.services import subscribed_store_ids

    products = list(products)
    wanted = subscribed_store_ids(event_type="product.updated", store_ids={p.store_id for p in products})
    published = 0
    for product in products:
        if product.store_id not in wanted:
            continue
        events.publish(
            type="product.updated",
            payload={
                "product_id": product.pk,
                "slug": product.slug,
                "name": product.name,
                "is_published": product.is_published,
                "min_price": str(money(product.min_price)) if product.min_price is not None else None,
            },
            store=product.store,
        )
        published += 1
    return published


def validate_variant_attributes(
    *, product: Product, values: Iterable[AttributeValue], required: Iterable[Attribute] | None = None
) -> None:
    """A variant has exactly one value of each of its product's variant attributes.

    ``required`` replaces ``product.variant_attributes`` (a product being added with its
    variants, whose attributes are not saved yet). Every problem is reported at once.
    """
    if required is None:
        required = product.variant_attributes.all() if product.pk else []
    required = {a.pk: a for a in required}
    by_attribute: dict[int, list[AttributeValue]] = defaultdict(list)
    for value in values:
        by_attribute[value.attribute_id].append(value)
    errors = []
    missing = [a.name for pk, a in required.items() if pk not in by_attribute]
    if missing:
        errors.append(
            ValidationError(
                _("Choose a value for: %(names)s.") % {"names": ", ".join(sorted(missing))}, code="missing"
            )
        )
    extra = [vs[0].attribute.name for pk, vs in by_attribute.items() if pk not in required]
    if extra:
        errors.append(
            ValidationError(
                _("These attributes are not variant attributes of the product: %(names)s.")
                % {"names": ", ".join(sorted(extra))},
                code="extra",
            )
        )
    doubled = [vs[0].attribute.name for vs in by_attribute.values() if len(vs) > 1]
    if doubled:
        errors.append(
            ValidationError(
                _("Choose only one value of: %(names)s.") % {"names": ", ".join(sorted(doubled))},
                code="doubled",
            )
        )
    if errors:
        raise ValidationError(errors)


def validate_variant(variant: Variant) -> None:
    """The rules of a variant's own fields (prices, pre-order date, EAN/GTIN, store, a SKU unique
    in the store), as a ``ValidationError`` by field. :func:`save_variant` calls it; so does the admin's
    variant form, before anything is saved."""
    errors: dict[str, str] = {}
    if variant.price is None or variant.price < 0:
        errors["price"] = _("The price cannot be negative.")
    elif variant.compare_at_price is not None and variant.compare_at_price <= variant.price:
        errors["compare_at_price"] = _("The compare-at price must be higher than the price.")
    if variant.cost_price is not None and variant.cost_price < 0:
        errors["cost_price"] = _("The cost price cannot be negative.")
    if variant.is_preorder and not variant.release_date:
        errors["release_date"] = _("A pre-order needs a release date.")
    if variant.ean:
        try:
            variant.ean = clean_gtin(variant.ean)  # the shop's one EAN/GTIN rule (check digit)
        except ValidationError as exc:
            errors["ean"] = " ".join(exc.messages)
    if variant.store_id != variant.product.store_id:
        errors["product"] = _("The product belongs to another store.")
    if variant.sku:
        clash = Variant.objects.filter(store_id=variant.store_id, sku=variant.sku).exclude(pk=variant.pk)
        if clash.exists():
            errors["sku"] = _("Another variant in this store already has SKU %(sku)s.") % {"sku": variant.sku}
    else:
        errors["sku"] = _("Enter a SKU.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_variant(
    *, variant: Variant, attribute_values: Iterable[AttributeValue] | None = None, user=None
) -> Variant:
    """Save a variant; validate it; record its price in the history when the price changed.

    ``attribute_values`` (when given) replaces the variant's values after checking that every
    variant attribute of the product has exactly one value.
    """
    if not variant.store_id:
        variant.store_id = variant.product.store_id
    variant.price = money(variant.price) if variant.price is not None else None
    if variant.compare_at_price is not None:
        variant.compare_at_price = money(variant.compare_at_price)
    validate_variant(variant)
    values = list(attribute_values) if attribute_values is not None else None
    if values is not None:
        validate_variant_attributes(product=variant.product, values=values)
    old_prices = {}
    if variant.pk:
        old_prices = {
            pk: (price, compare_at)
            for pk, price, compare_at in Variant.objects.filter(pk=variant.pk).values_list(
                "pk", "price", "compare_at_price"
            )
        }
    if not variant.name and values:
        variant.name = " / ".join(v.value for v in sorted(values, key=lambda v: (v.attribute.position, v.pk)))
    variant.save()
    if values is not None:
        variant.attribute_values.set(values)
    PriceHistory.objects.bulk_create(price_history_rows([variant], at=timezone.now(), old_prices=old_prices))
    if not variant.is_preorder:
        _release_preorder(variant)
    refresh_products(product_ids=[variant.product_id])
    return variant


def _release_preorder(variant: Variant) -> None:
    """A pre-order that is one no more (released): the units it sold are owed to their orders
    and get the stock already on the shelves first, oldest order first."""
    from .stock import PREORDER_OWED, allocate_owed

    if variant.reservations.filter(expires_at=PREORDER_OWED).exists():
        with transaction.atomic():
            allocate_owed([variant.pk])


@transaction.atomic
def delete_variant(*, variant: Variant) -> None:
    """Delete a variant with its stock, price history, holds and alerts; order lines keep their
    frozen copy (name, SKU, price) and lose only the link.

    A variant that a set contains is protected: :class:`django.db.models.ProtectedError`, and
    nothing changes (the admin lists what uses it, the API answers 409).
    """
    product_id = variant.product_id
    variant.delete()
    refresh_products(product_ids=[product_id])  # min price, search text, page cache


@transaction.atomic
def delete_product(*, product: Product) -> None:
    """Delete a product with its variants; protected like :func:`delete_variant` when a set
    contains one of them."""
    product.delete()  # the page cache is bumped by catalog.pagecache's signals


def price_history_rows(
    variants: Iterable[Variant], *, at, old_prices: Mapping[int, tuple[Decimal, Decimal | None]]
) -> list[PriceHistory]:
    """The price-history rule (EU Omnibus), once for every writer: a variant gets a row, valid
    from ``at``, when it is new (no entry in ``old_prices``, ``{pk: (price, compare_at_price)}``
    as they were before the write) or its price or compare-at price changed. Unsaved rows; the
    caller creates them (``bulk_create``) after saving the variants."""
    return [
        PriceHistory(variant=v, price=v.price, compare_at_price=v.compare_at_price, valid_from=at)
        for v in variants
        if old_prices.get(v.pk) != (v.price, v.compare_at_price)
    ]


def record_price(*, variant: Variant, at=None) -> PriceHistory:
    """Append the variant's current price to its history (EU Omnibus)."""
    return PriceHistory.objects.create(
        variant=variant,
        price=variant.price,
        compare_at_price=variant.compare_at_price,
        valid_from=at or timezone.now(),
    )


@transaction.atomic
def change_price(*, variant: Variant, price: Decimal, compare_at_price=_UNSET) -> Variant:
    """Set a new price (and optionally compare-at price); history is recorded."""
    variant.price = price
    if compare_at_price is not _UNSET:
        variant.compare_at_price = compare_at_price
    elif variant.compare_at_price is not None and variant.compare_at_price <= money(price):
        variant.compare_at_price = None  # a price raised above the old "before" price drops it
    return save_variant(variant=variant)


@transaction.atomic
def change_prices_by_percent(*, products: Iterable[Product], percent: Decimal) -> int:
    """Raise (+) or lower (-) the price of every variant of ``products`` by ``percent``.

    Each new price is rounded half-up to 0.01; a reduction keeps the old price as compare-at
    price (so the storefront shows the discount and its Omnibus lowest price), a raise clears a
    compare-at price it passes. Returns the number of variants changed.
    """
    percent = Decimal(percent)
    if percent <= -100:
        raise ValidationError(_("A price cannot be lowered by 100% or more."))
    factor = (Decimal(100) + percent) / Decimal(100)
    product_ids = [p.pk for p in products]
    variants = list(Variant.objects.select_for_update().filter(product_id__in=product_ids).order_by("pk"))
    old_prices = {v.pk: (v.price, v.compare_at_price) for v in variants}
    changed: list[Variant] = []
    for v in variants:
        new = money(v.price * factor)
        if new == v.price:
            continue
        if new < v.price:
            v.compare_at_price = max(v.compare_at_price or v.price, v.price)
        elif v.compare_at_price is not None and v.compare_at_price <= new:
            v.compare_at_price = None
        v.price = new
        changed.append(v)
    Variant.objects.bulk_update(changed, ["price", "compare_at_price", "updated_at"])
    PriceHistory.objects.bulk_create(price_history_rows(changed, at=timezone.now(), old_prices=old_prices))
    refresh_products(product_ids=product_ids)
    return len(changed)


# --- Bulk changes by row (the API's stock and price endpoints) ----------------------------------


class RowsRefused(Exception):
    """A bulk change in which some rows were refused; nothing of it was kept. ``errors`` maps
    ``rows.<index>.<field>`` to messages, for every refused row."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def row_key(row: dict) -> str:
    """The field a row names its variant by: ``sku`` or ``variant_id``."""
    return "sku" if "sku" in row else "variant_id"


def variants_for_rows(*, store: Store, rows: list[dict]) -> list[Variant | None]:
    """The variant of ``store`` each row names (by ``sku`` or ``variant_id``), None when there is
    none: two queries at most."""
    skus = {r["sku"] for r in rows if "sku" in r}
    ids = {r["variant_id"] for r in rows if "variant_id" in r}
    found: dict[tuple[str, object], Variant] = {}
    qs = Variant.objects.filter(store=store).select_related("store", "product")
    if skus:
        for v in qs.filter(sku__in=skus):
            found[("sku", v.sku)] = v
    if ids:
        for v in qs.filter(pk__in=ids):
            found[("id", v.pk)] = v
    return [found.get(("sku", r["sku"])) if "sku" in r else found.get(("id", r["variant_id"])) for r in rows]


@transaction.atomic
def change_prices_by_row(*, store: Store, rows: list[dict]) -> list[Variant]:
    """Set the ``price`` (and, when the row has it, ``compare_at_price``) of the variant each row
    names, through :func:`change_price` (rounding, validation, price history for the Omnibus
    rule). All or nothing: :class:`RowsRefused` lists every refused row and nothing is kept.
    Returns the variants, in row order."""
    variants = variants_for_rows(store=store, rows=rows)
    errors: dict[str, list[str]] = {
        f"rows.{i}.{row_key(row)}": [_("No such variant.")]
        for i, (row, variant) in enumerate(zip(rows, variants, strict=True))
        if variant is None
    }
    if errors:
        raise RowsRefused(errors)
    for i, (row, variant) in enumerate(zip(rows, variants, strict=True)):
        kwargs = {"compare_at_price": row["compare_at_price"]} if "compare_at_price" in row else {}
        try:
            with transaction.atomic():
                change_price(variant=variant, price=row["price"], **kwargs)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"price": exc.messages}
            for field, msgs in messages.items():
                errors[f"rows.{i}.{field}"] = list(msgs)
    if errors:
        raise RowsRefused(errors)  # rolls back the rows that were applied
    return variants


def set_published(*, products: Iterable[Product], published: bool) -> int:
    """Publish or unpublish products; first publication stamps ``published_at``."""
    products = list(products)
    ids = [p.pk for p in products]
    now = timezone.now()
    with transaction.atomic():
        pagecache.bump_many(p.store_id for p in products)
        count = Product.objects.filter(pk__in=ids).update(is_published=published)
        if published:
            Product.objects.filter(pk__in=ids, published_at__isnull=True).update(published_at=now)
        publish_product_updated(products=Product.objects.filter(pk__in=ids).select_related("store"))
    return count


def move_to_category(*, products: Iterable[Product], category: Category | None) -> int:
    products = list(products)
    if category is not None and any(p.store_id != category.store_id for p in products):
        raise ValidationError(_("The category belongs to another store."))
    ids = [p.pk for p in products]
    count = Product.objects.filter(pk__in=ids).update(category=category)
    refresh_products(product_ids=ids)
    return count


# --- Sets ----------------------------------------------------------------------------------------


def validate_set_components(*, set_product: Product, components: Iterable[tuple[Variant, int]]) -> None:
    """A set is made of other products' variants: not itself, not another set, quantities >= 1,
    same store, each variant once."""
    components = list(components)
    errors = []
    if set_product.kind != Product.Kind.SET and components:
        errors.append(_("Only a product of kind 'product set' can have components."))
    seen: set[int] = set()
    for variant, quantity in components:
        if variant.product_id == set_product.pk:
            errors.append(_("A set cannot contain itself or one of its own variants."))
        elif variant.product.kind == Product.Kind.SET:
            errors.append(_("A set cannot contain another set (%(name)s).") % {"name": variant})
        if variant.store_id != set_product.store_id:
            errors.append(_("%(name)s belongs to another store.") % {"name": variant})
        if quantity is None or quantity < 1:
            errors.append(_("The quantity of %(name)s must be at least 1.") % {"name": variant})
        if variant.pk in seen:
            errors.append(_("%(name)s is listed twice.") % {"name": variant})
        seen.add(variant.pk)
    if errors:
        raise ValidationError(list(dict.fromkeys(errors)))


@transaction.atomic
def set_components(*, set_product: Product, components: Iterable[tuple[Variant, int]]) -> list[SetComponent]:
    """Replace the components of a set (validated)."""
    components = list(components)
    validate_set_components(set_product=set_product, components=components)
    SetComponent.objects.filter(set_product=set_product).delete()
    pagecache.bump(set_product.store_id)
    return SetComponent.objects.bulk_create(
        [SetComponent(set_product=set_product, variant=v, quantity=q) for v, q in components]
    )


def components_snapshot(set_product_ids) -> dict[int, list[dict]]:
    """What each set is made of, frozen onto an order line: ``{set_product_id: [{sku, name, quantity}]}``.

    Components keep the order the merchant entered them in (primary key), so an order, its
    invoice and its packing slip list them the same way every time.
    """
    snapshot: dict[int, list[dict]] = {}
    if not set_product_ids:
        return snapshot
    rows = (
        SetComponent.objects.filter(set_product_id__in=set_product_ids)
        .select_related("variant__product")
        .order_by("set_product_id", "pk")
    )
    for c in rows:
        snapshot.setdefault(c.set_product_id, []).append(
            {"sku": c.variant.sku, "name": str(c.variant), "quantity": c.quantity}
        )
    return snapshot


# --- Groups --------------------------------------------------------------------------------------


def save_group(*, group: ProductGroup) -> ProductGroup:
    _ensure_slug(group)
    if group.rule_category_id and group.rule_category.store_id != group.store_id:
        raise ValidationError({"rule_category": _("The category belongs to another store.")})
    loaded_slug = getattr(group, "_loaded_slug", None)
    group.save()
    _leave_redirect(group, loaded_slug)
    return group


def _leave_redirect(obj: models.Model, loaded_slug: str | None) -> None:
    """A saved page whose slug changed (``loaded_slug``: the slug it was loaded or last saved
    with) leaves a 301 from its old address (catalog.redirects)."""
    from . import redirects

    if loaded_slug and loaded_slug != obj.slug:
        old_url = type(obj)(slug=loaded_slug).get_absolute_url()
        redirects.slug_changed(store=obj.store, old_url=old_url, new_url=obj.get_absolute_url())


def group_product_filter(group: ProductGroup) -> Q:
    """The products a rule-based group shows, as a filter on published products."""
    q = Q()
    if group.rule_new_days:
        q &= Q(published_at__gte=timezone.now() - timezone.timedelta(days=group.rule_new_days))
    if group.rule_on_sale:
        q &= Q(variants__is_active=True, variants__compare_at_price__gt=models.F("variants__price"))
    if group.rule_category_id:
        path = group.rule_category.path or f"/{group.rule_category_id}/"
        q &= Q(category__path__startswith=path)
    if group.rule_min_price is not None:
        q &= Q(min_price__gte=group.rule_min_price)
    if group.rule_max_price is not None:
        q &= Q(min_price__lte=group.rule_max_price)
    return q


# --- Images --------------------------------------------------------------------------------------


@transaction.atomic
def add_product_image(
    *, product: Product, upload, variant: Variant | None = None, alt: str = "", position: int | None = None
):
    """Validate, re-encode and attach an image; the same picture uploaded twice is stored once.

    Thumbnails are generated after commit by a task (and lazily by the template tag otherwise).
    """
    from shop.events import safe_delay

    from .images import process_upload
    from .models import ProductImage
    from .tasks import generate_thumbnails

    if variant is not None and variant.product_id != product.pk:
        raise ValidationError({"variant": _("The variant belongs to another product.")})
    processed = process_upload(upload)
    existing = ProductImage.objects.filter(product=product, checksum=processed.checksum).first()
    if existing is not None:
        return existing
    if position is None:
        position = (product.images.aggregate(m=models.Max("position"))["m"] or 0) + 1
    image = ProductImage(product=product, variant=variant, alt=alt[:200], position=position)
    image.checksum = processed.checksum
    image.image.save(processed.content.name, processed.content, save=False)
    image.width, image.height = processed.width, processed.height
    image.save()
    transaction.on_commit(lambda: safe_delay(generate_thumbnails, image.pk))
    return image
