"""Deterministic benchmark catalog for Koszyk, written with ``bulk_create`` through catalog.models.

The suite (``bench/run.py``) uses ``bench/catalog_generate.py`` (the catalog area's generator)
when it exists and this one otherwise; either way the catalog it benchmarks is then exported
with ``export_catalog`` to ``bench/work/catalog.json`` so django-oscar's generator builds the very
same catalog (names, slugs, categories, SKUs, prices, stock) through Oscar's models.

The catalog (seed ``SEED``; the same arguments give the same rows, byte for byte):

- 8 top-level categories x 5 subcategories (40 leaves); product ``i`` sits in leaf ``i % 40``,
  so each top-level category lists ``products / 8`` products through its subtree;
- ``products`` products (default 10,000), each with ``variants`` variants (default 3: sizes
  S/M/L of one "rozmiar" attribute), prices 19.99-499.99 PLN gross (VAT 23%), +5.00 per size
  step, 1 in 10 products discounted (compare-at price 25% higher), stock 0-40 per variant in
  one warehouse (about 1 in 40 variants sold out), one price-history row per variant;
- names "<adjective> <noun> <brand> <i>" from fixed Polish word lists, so search has realistic
  words to find ("lniana", "sukienka", ...).

Run standalone against any database::

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/koszyk_bench_x \\
        .venv/bin/python bench/koszyk_catalog.py --products 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20_260_101

TOP_CATEGORIES = [
    "Odzież damska",
    "Odzież męska",
    "Obuwie",
    "Dom i ogród",
    "Sport i turystyka",
    "Zabawki",
    "Książki",
    "Elektronika",
]
SUB_CATEGORIES = ["Nowości", "Klasyka", "Premium", "Outlet", "Akcesoria"]
ADJECTIVES = [
    "Lniana",
    "Bawełniana",
    "Wełniana",
    "Skórzana",
    "Jedwabna",
    "Sportowa",
    "Elegancka",
    "Codzienna",
    "Wodoodporna",
    "Lekka",
    "Ciepła",
    "Zielona",
    "Czerwona",
    "Granatowa",
    "Żółta",
    "Różowa",
]
NOUNS = [
    "sukienka",
    "koszula",
    "kurtka",
    "spódnica",
    "bluzka",
    "torba",
    "czapka",
    "poduszka",
    "lampa",
    "piłka",
    "książka",
    "zabawka",
    "latarka",
    "kamizelka",
    "bluza",
    "tunika",
]
BRANDS = [
    "Wawel",
    "Mazowsze",
    "Bałtyk",
    "Tatra",
    "Wisła",
    "Odra",
    "Karkonosze",
    "Warmia",
    "Kaszuby",
    "Roztocze",
]
SIZES = ["S", "M", "L", "XL", "XXL"]
CENT = Decimal("0.01")


def spec(*, products: int = 10_000, variants: int = 3, seed: int = SEED) -> dict:
    """The catalog as plain data (no Django): categories, products, variants. Deterministic."""
    rng = random.Random(seed)
    categories = []
    for t, top in enumerate(TOP_CATEGORIES):
        categories.append({"key": f"t{t}", "parent": None, "name": top, "position": t})
        for s, sub in enumerate(SUB_CATEGORIES):
            categories.append(
                {"key": f"t{t}s{s}", "parent": f"t{t}", "name": f"{top} – {sub}", "position": s}
            )
    leaves = [c["key"] for c in categories if c["parent"]]
    items = []
    for i in range(products):
        adjective, noun, brand = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(BRANDS)
        base = Decimal(rng.randint(1999, 49999)) / 100
        discounted = rng.random() < 0.1
        rows = []
        for v in range(variants):
            price = (base + 5 * v).quantize(CENT)
            compare_at = (price * Decimal("1.25")).quantize(CENT, ROUND_HALF_UP) if discounted else None
            stock = 0 if rng.random() < 0.025 else rng.randint(1, 40)
            rows.append(
                {
                    "sku": f"BN-{i:05d}-{v}",
                    "ean": f"590{i:05d}{v:02d}{(i * 7 + v) % 100:02d}",
                    "size": SIZES[v % len(SIZES)] if variants > 1 else "",
                    "price": str(price),
                    "compare_at_price": str(compare_at) if compare_at else None,
                    "stock": stock,
                }
            )
        items.append(
            {
                "index": i,
                "name": f"{adjective} {noun} {brand} {i:05d}",
                "brand": brand,
                "category": leaves[i % len(leaves)],
                "description": (
                    f"{adjective} {noun} marki {brand}. Produkt numer {i} w katalogu testowym; "
                    "opis ma kilka zdań, jak w prawdziwym sklepie."
                ),
                "popularity": rng.randint(0, 500),
                "variants": rows,
            }
        )
    return {
        "seed": seed,
        "products": products,
        "variants": variants,
        "categories": categories,
        "items": items,
    }


def generate(
    *, store, products: int = 10_000, variants: int = 3, seed: int = SEED, batch: int = 2000
) -> dict:
    """Write the ``spec`` catalog into ``store`` (which must have no catalog yet). Returns counts."""
    from django.db import transaction
    from django.utils import timezone

    from catalog import services
    from catalog.models import (
        Attribute,
        AttributeValue,
        Category,
        PriceHistory,
        Product,
        StockItem,
        Variant,
        VatRate,
        Warehouse,
    )
    from catalog.text import normalise_search

    data = spec(products=products, variants=variants, seed=seed)
    now = timezone.now().replace(microsecond=0)
    epoch = now - dt.timedelta(days=60)
    with transaction.atomic():
        warehouse, _ = Warehouse.objects.get_or_create(store=store, code="main", defaults={"name": "Magazyn"})
        size = Attribute.objects.create(store=store, name="Rozmiar", slug="rozmiar", position=0)
        size_values = {
            s: AttributeValue.objects.create(attribute=size, value=s, slug=s.lower(), position=n)
            for n, s in enumerate(SIZES)
        }
        by_key: dict[str, Category] = {}
        for c in data["categories"]:
            category = Category(
                store=store, parent=by_key.get(c["parent"]), name=c["name"], position=c["position"]
            )
            by_key[c["key"]] = services.save_category(category=category)
        for start in range(0, len(data["items"]), batch):
            chunk = data["items"][start : start + batch]
            product_rows = []
            for item in chunk:
                category = by_key[item["category"]]
                prices = [Decimal(v["price"]) for v in item["variants"]]
                codes = [x for v in item["variants"] for x in (v["sku"], v["ean"], v["size"])]
                product_rows.append(
                    Product(
                        store=store,
                        name=item["name"],
                        slug=services.slugify_pl(item["name"]),
                        description=item["description"],
                        brand=item["brand"],
                        category=category,
                        vat_rate=VatRate.STANDARD,
                        is_published=True,
                        published_at=epoch + dt.timedelta(minutes=item["index"]),
                        popularity=item["popularity"],
                        min_price=min(prices),
                        search_text=normalise_search(
                            " ".join([item["name"], item["brand"], category.name, *codes])
                        ),
                    )
                )
            created = Product.objects.bulk_create(product_rows)
            variant_rows = []
            for product, item in zip(created, chunk, strict=True):
                for n, v in enumerate(item["variants"]):
                    variant_rows.append(
                        Variant(
                            store=store,
                            product=product,
                            sku=v["sku"],
                            ean=v["ean"],
                            name=v["size"],
                            price=Decimal(v["price"]),
                            compare_at_price=Decimal(v["compare_at_price"])
                            if v["compare_at_price"]
                            else None,
                            position=n,
                        )
                    )
            variants_created = Variant.objects.bulk_create(variant_rows)
            specs = [v for item in chunk for v in item["variants"]]
            Product.variant_attributes.through.objects.bulk_create(
                [Product.variant_attributes.through(product_id=p.pk, attribute_id=size.pk) for p in created]
                if variants > 1
                else []
            )
            Variant.attribute_values.through.objects.bulk_create(
                [
                    Variant.attribute_values.through(
                        variant_id=v.pk, attributevalue_id=size_values[s["size"]].pk
                    )
                    for v, s in zip(variants_created, specs, strict=True)
                    if s["size"]
                ]
            )
            StockItem.objects.bulk_create(
                [
                    StockItem(variant=v, warehouse=warehouse, quantity=s["stock"])
                    for v, s in zip(variants_created, specs, strict=True)
                ]
            )
            PriceHistory.objects.bulk_create(
                [
                    PriceHistory(
                        variant=v, price=v.price, compare_at_price=v.compare_at_price, valid_from=epoch
                    )
                    for v in variants_created
                ]
            )
    return {"categories": len(by_key), "products": products, "variants": products * variants}


def export_catalog(*, store, path: Path) -> dict:
    """Dump ``store``'s catalog (whoever generated it) as JSON for the Oscar generator.

    Shape: ``{"categories": [{key, parent, name, slug, position}], "items": [{name, slug,
    description, brand, category, variants: [{sku, name, price, compare_at_price, stock}]}]}``.
    """
    from django.db.models import Sum

    from catalog.models import Category, Product, Variant

    categories = [
        {
            "key": str(c.pk),
            "parent": str(c.parent_id) if c.parent_id else None,
            "name": c.name,
            "slug": c.slug,
            "position": c.position,
        }
        for c in Category.objects.filter(store=store).order_by("path")
    ]
    stock = dict(
        Variant.objects.filter(store=store)
        .annotate(on_hand=Sum("stock_items__quantity"))
        .values_list("pk", "on_hand")
    )
    variants: dict[int, list[dict]] = {}
    for v in Variant.objects.filter(store=store, is_active=True).order_by("product_id", "position", "pk"):
        variants.setdefault(v.product_id, []).append(
            {
                "sku": v.sku,
                "name": v.name,
                "price": str(v.price),
                "compare_at_price": str(v.compare_at_price) if v.compare_at_price else None,
                "stock": int(stock.get(v.pk) or 0),
            }
        )
    items = [
        {
            "name": p.name,
            "slug": p.slug,
            "description": p.description,
            "brand": p.brand,
            "category": str(p.category_id) if p.category_id else None,
            "published_at": p.published_at.isoformat() if p.published_at else None,
            "variants": variants.get(p.pk, []),
        }
        for p in Product.objects.filter(store=store, is_published=True).order_by("pk")
    ]
    data = {"categories": categories, "items": items}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False))
    return {
        "categories": len(categories),
        "products": len(items),
        "variants": sum(len(i["variants"]) for i in items),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--domain", default="localhost")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from shop.models import Store

    store, _ = Store.objects.get_or_create(
        domain=args.domain,
        defaults={"name": "Bench", "is_default": not Store.objects.filter(is_default=True).exists()},
    )
    print(json.dumps(generate(store=store, products=args.products, variants=args.variants, seed=args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
