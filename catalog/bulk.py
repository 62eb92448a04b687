"""Catalog writes for many rows at once (wholesaler imports): the rules of ``catalog.services``
and ``catalog.stock``, with one statement per batch instead of one per row.

``catalog.services`` writes one object at a time (``save_variant``, ``refresh_products``,
``catalog.stock.adjust_stock``); a feed of 100,000 variants cannot afford that, so an importer
writes through these functions instead. They keep the same rules:

* price history (EU Omnibus): a ``PriceHistory`` row for every new variant and whenever a
  variant's price or compare-at price changes, ``valid_from`` = the time of the write
  (:func:`save_variants`, through ``catalog.services.price_history_rows``, the rule's one copy);
* ``min_price`` and ``search_text`` of a product (:func:`denormalised`, used by
  :func:`refresh_products_bulk`; ``catalog.services.refresh_products`` one at a time -- a test
  runs both and checks they agree);
* stock set to a counted number never goes below units reserved for paying shoppers, and every
  change is a ``StockMovement`` (:func:`set_stock`; ``catalog.stock.adjust_stock`` one at a time);
* a new product gets a unique slug in its store (:func:`assign_slugs`).

None of them opens a transaction: the caller's (an import's one ``transaction.atomic``) holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from django.db.models import Min, Sum
from django.utils import timezone

from shop import events

from . import services
from .models import (
    AttributeValue,
    PriceHistory,
    Product,
    StockItem,
    StockMovement,
    StockReservation,
    Variant,
    Warehouse,
)
from .text import normalise_search, search_stems, slugify_pl

# --- Products: denormalised fields and slugs ----------------------------------------------------


def search_text(*, name: str, brand: str, category_name: str, codes: Iterable[str]) -> str:
    """A product's ``search_text``: its name, brand, category name and every variant's SKU, EAN
    and name (attribute values: size, colour), normalised (``catalog.text.normalise_search``),
    followed by the Polish stems of those words (``catalog.text.search_stems``), each after a
    space, which queries match as word prefixes."""
    text = normalise_search(" ".join([name, brand, category_name, *codes]))
    return f"{text} {' '.join(search_stems(text))}".strip()


def denormalised(products: Sequence[Product]) -> dict[int, tuple[str, Decimal | None]]:
    """``{pk: (search_text, min_price)}`` of ``products`` as their variants say now: the cheapest
    active variant's price, and :func:`search_text` over every variant's SKU, EAN and name. Two
    queries for any number of products; ``product.category`` is read, so select it along."""
    ids = [p.pk for p in products]
    if not ids:
        return {}
    min_prices = dict(
        Variant.objects.filter(product_id__in=ids, is_active=True)
        .values("product_id")
        .annotate(m=Min("price"))
        .values_list("product_id", "m")
    )
    codes: dict[int, list[str]] = defaultdict(list)
    for product_id, sku, ean, name in Variant.objects.filter(product_id__in=ids).values_list(
        "product_id", "sku", "ean", "name"
    ):
        codes[product_id] += [sku, ean, name]
    return {
        p.pk: (
            search_text(
                name=p.name,
                brand=p.brand,
                category_name=p.category.name if p.category else "",
                codes=codes[p.pk],
            ),
            min_prices.get(p.pk),
        )
        for p in products
    }


def refresh_products_bulk(*, product_ids: Iterable[int]) -> None:
    """``catalog.services.refresh_products`` for a batch, in one ``UPDATE`` instead of one per
    product: the same rules (:func:`denormalised`). A test runs the catalog's own function
    afterwards and checks that it changes nothing, so the two cannot drift apart silently."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    products = list(
        Product.objects.filter(pk__in=ids)
        .select_related("category")
        .only("pk", "name", "brand", "category__name", "search_text", "min_price")
    )
    fields = denormalised(products)
    changed = []
    for product in products:
        text, price = fields[product.pk]
        if product.search_text != text or product.min_price != price:
            product.search_text, product.min_price = text, price
            changed.append(product)
    if changed:
        Product.objects.bulk_update(changed, ["search_text", "min_price"])


def assign_slugs(*, store, products: Sequence[tuple[Product, str]]) -> None:
    """Give new (unsaved) products unique slugs in ``store`` with two queries per batch, not one
    per product. Each product is paired with a hint (its group key in the feed): the slug is the
    name's, else name-hint, else ``catalog.services.unique_slug``'s."""
    wanted = {}
    for product, hint in products:
        base = slugify_pl(product.name, max_length=200) or "produkt"
        wanted[id(product)] = [base, f"{base}-{slugify_pl(hint, max_length=18)}".strip("-")]
    candidates = {c for opts in wanted.values() for c in opts}
    taken = set(Product.objects.filter(store=store, slug__in=candidates).values_list("slug", flat=True))
    for product, _hint in products:
        for candidate in wanted[id(product)]:
            if candidate and candidate not in taken:
                product.slug = candidate
                break
        else:
            base = wanted[id(product)][0]
            product.slug = services.unique_slug(model=Product, store=store, text=base)
            n = 2
            while product.slug in taken:
                product.slug = f"{base[:200]}-x{n}"
                n += 1
        taken.add(product.slug)


# --- Variants: prices with their history, attribute links, hiding --------------------------------

#: Prices as they were before a batch changed them: ``{variant pk: (price, compare_at_price)}``.
OldPrices = Mapping[int, tuple[Decimal, Decimal | None]]


def save_variants(
    *,
    created: Sequence[Variant],
    updated: Sequence[Variant],
    fields: Sequence[str],
    old_prices: OldPrices,
    at: datetime,
) -> None:
    """Insert ``created``, update ``fields`` of ``updated``, and write their price history with
    the catalog's one rule (``catalog.services.price_history_rows``): a row valid from ``at`` for
    every new variant and for every updated one whose price or compare-at price differs from
    ``old_prices``. Three statements whatever the batch size."""
    if created:
        Variant.objects.bulk_create(created)
    if updated:
        Variant.objects.bulk_update(updated, list(fields))
    history = services.price_history_rows([*updated, *created], at=at, old_prices=old_prices)
    if history:
        PriceHistory.objects.bulk_create(history)


def link_attributes(
    *,
    product_attributes: Mapping[int, Iterable[int]],
    variant_values: Sequence[tuple[Variant, Iterable[AttributeValue]]],
    replace: Sequence[Variant] = (),
) -> None:
    """Add attributes to products' variant attributes (``{product pk: attribute pks}``, existing
    links kept) and link each variant to its attribute values; the variants in ``replace`` lose
    the values they had first."""
    through_pa = Product.variant_attributes.through
    through_pa.objects.bulk_create(
        [through_pa(product_id=p, attribute_id=a) for p, attrs in product_attributes.items() for a in attrs],
        ignore_conflicts=True,
    )
    through_va = Variant.attribute_values.through
    if replace:
        through_va.objects.filter(variant_id__in=[v.pk for v in replace]).delete()
    through_va.objects.bulk_create(
        [
            through_va(variant_id=v.pk, attributevalue_id=val.pk)
            for v, values in variant_values
            for val in {x.pk: x for x in values}.values()
        ],
        ignore_conflicts=True,
    )


def hide_variants(*, variants: Sequence[Variant], at: datetime) -> None:
    """Deactivate ``variants``; a product left without an active variant is unpublished; the
    products' ``min_price`` and ``search_text`` are refreshed."""
    Variant.objects.filter(pk__in=[v.pk for v in variants]).update(is_active=False, updated_at=at)
    product_ids = {v.product_id for v in variants}
    still_active = set(
        Variant.objects.filter(product_id__in=product_ids, is_active=True).values_list(
            "product_id", flat=True
        )
    )
    Product.objects.filter(pk__in=product_ids - still_active).update(is_published=False)
    refresh_products_bulk(product_ids=product_ids)


# --- Stock ---------------------------------------------------------------------------------------


def set_stock(
    *,
    warehouse: Warehouse,
    targets: Sequence[tuple[Variant, int]],
    reason: str,
    reference: str,
    note: str,
    store,
) -> list[tuple[int, int]]:
    """Set on-hand numbers of variants in one warehouse, as ``adjust_stock(set_to=...)`` does one
    at a time: one ``StockMovement`` per change, never below the units reserved there for
    shoppers who are paying (the number is kept at what is reserved), one ``stock.changed``
    event (of ``store``, the warehouse's) for the batch. The stock items are locked in
    primary-key order.

    Returns ``(index in targets, units reserved)`` for each target that was raised to what is
    reserved, for the caller to tell the merchant."""
    if not targets:
        return []
    items = {
        i.variant_id: i
        for i in StockItem.objects.select_for_update()
        .filter(warehouse=warehouse, variant_id__in=[v.pk for v, _q in targets])
        .order_by("pk")
    }
    held = (
        {
            row["stock_item_id"]: row["n"]
            for row in StockReservation.objects.filter(
                stock_item__in=list(items.values()), expires_at__gt=timezone.now()
            )
            .values("stock_item_id")
            .annotate(n=Sum("quantity"))
        }
        if items
        else {}
    )
    new_items: list[StockItem] = []
    changed: list[StockItem] = []
    moves: list[tuple[StockItem, int]] = []
    kept: list[tuple[int, int]] = []
    for index, (variant, quantity) in enumerate(targets):
        item = items.get(variant.pk)
        if item is None:
            item = StockItem(variant=variant, warehouse=warehouse, quantity=quantity)
            new_items.append(item)
            items[variant.pk] = item
            if quantity:
                moves.append((item, quantity))
            continue
        target = quantity
        reserved = held.get(item.pk, 0)
        if target < reserved:
            kept.append((index, reserved))
            target = reserved
        if target != item.quantity:
            moves.append((item, target - item.quantity))
            item.quantity = target
            changed.append(item)
    if new_items:
        StockItem.objects.bulk_create(new_items)
    if changed:
        StockItem.objects.bulk_update(changed, ["quantity"])
    if moves:
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    stock_item=item,
                    delta=delta,
                    quantity_after=item.quantity,
                    reason=reason,
                    reference=reference,
                    note=note,
                )
                for item, delta in moves
            ]
        )
        events.publish(
            type="stock.changed",
            payload={"variant_ids": sorted({item.variant_id for item, _d in moves})},
            store=store,
        )
        from .stock import allocate_owed

        allocate_owed({item.variant_id for item, delta in moves if delta > 0})  # owed to orders first
    return kept
