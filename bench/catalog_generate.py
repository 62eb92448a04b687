"""The catalog area's deterministic benchmark catalog: N products x V variants via bulk_create.

Same seed and arguments -> the same rows. 10 top-level categories x 4 subcategories (product
``i`` in leaf ``i % 40``), one "rozmiar" attribute (S, M, L, XL, ...), Polish names from fixed
word lists (so search has real words: "lniana sukienka", "żółty"), prices 19.99-499.99 PLN
gross, 1 product in 10 discounted (with a price history that shows the higher price 20 days
ago: the Omnibus line is computed), stock 0-40 per variant in one warehouse (about 1 in 20
variants sold out), one image-less card per product. ``min_price`` and ``search_text`` are
computed here, so no per-product UPDATE is needed. 10,000 x 3 takes ~15 s on PostgreSQL.

Used by ``bench/catalog_pages.py`` and by the suite (``bench/run.py``, which calls
``generate(store=..., products=..., variants=..., seed=...)``). Standalone::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench \\
        .venv/bin/python bench/catalog_generate.py --products 10000 --variants 3 --migrate
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20_261_123

TOP = [
    "Odzież damska",
    "Odzież męska",
    "Obuwie",
    "Dom i kuchnia",
    "Ogród",
    "Książki",
    "Kosmetyki",
    "Elektronika",
    "Sport",
    "Zabawki",
]
SUB = ["Nowe kolekcje", "Klasyka", "Premium", "Outlet"]
ADJECTIVES = [
    "lniana",
    "bawełniana",
    "wełniana",
    "żółty",
    "zielona",
    "granatowy",
    "skórzany",
    "lekka",
    "ciepły",
    "elegancka",
    "sportowy",
    "klasyczna",
    "miękki",
    "wodoodporna",
    "ręcznie robiony",
]
NOUNS = [
    "sukienka",
    "koszula",
    "kurtka",
    "sweter",
    "spodnie",
    "kubek",
    "czajnik",
    "lampa",
    "poduszka",
    "plecak",
    "torba",
    "buty",
    "szalik",
    "krem",
    "książka",
    "słuchawki",
    "ładowarka",
    "piłka",
    "klocki",
]
BRANDS = ["Łania", "Sowa", "Żuraw", "Bóbr", "Jeż", "Koszyk", "Wisła", "Tatry"]
SIZES = ["S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL"]


def generate(
    *, store, products: int = 10_000, variants: int = 3, seed: int = SEED, batch: int = 2000
) -> dict:
    """Write the catalog into ``store`` (which should have no catalog yet). Returns counts."""
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
        Warehouse,
    )
    from catalog.text import normalise_search

    rng = random.Random(seed)
    now = timezone.now().replace(microsecond=0)
    started = time.monotonic()
    with transaction.atomic():
        leaves = []
        for t, top_name in enumerate(TOP):
            top = services.save_category(category=Category(store=store, name=top_name, position=t))
            for s, sub_name in enumerate(SUB):
                leaves.append(
                    services.save_category(
                        category=Category(
                            store=store, name=f"{top_name} – {sub_name}", parent=top, position=s
                        )
                    )
                )
        size, _ = Attribute.objects.get_or_create(store=store, slug="rozmiar", defaults={"name": "Rozmiar"})
        values = [
            AttributeValue.objects.get_or_create(
                attribute=size, slug=s.lower(), defaults={"value": s, "position": i}
            )[0]
            for i, s in enumerate(SIZES[: max(1, variants)])
        ]
        warehouse, _ = Warehouse.objects.get_or_create(
            store=store, code="bench", defaults={"name": "Magazyn"}
        )
        counts = {"products": 0, "variants": 0}
        for start in range(0, products, batch):
            rows, plans = [], []
            for i in range(start, min(products, start + batch)):
                leaf = leaves[i % len(leaves)]
                name = f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(NOUNS)} {rng.choice(BRANDS)} {i}"
                brand = rng.choice(BRANDS)
                base = Decimal(rng.randrange(1999, 49999)) / 100
                discounted = rng.random() < 0.1
                stocks = [0 if rng.random() < 0.05 else rng.randrange(1, 41) for _ in range(variants)]
                prices = [base + 5 * j for j in range(variants)]
                skus = [f"BN-{i:06d}-{j}" for j in range(variants)]
                text = normalise_search(" ".join([name, brand, leaf.name, *skus]))
                rows.append(
                    Product(
                        store=store,
                        name=name,
                        slug=f"produkt-{i}",
                        category=leaf,
                        brand=brand,
                        description=f"{name}. Produkt testowy numer {i}.",
                        is_published=True,
                        published_at=now - timedelta(minutes=i),
                        popularity=rng.randrange(0, 1000),
                        search_text=text,
                        min_price=prices[0],
                    )
                )
                plans.append((prices, skus, stocks, discounted))
            created = Product.objects.bulk_create(rows)
            variant_rows = []
            for product, (prices, skus, _stocks, discounted) in zip(created, plans, strict=True):
                for j, (price, sku) in enumerate(zip(prices, skus, strict=True)):
                    variant_rows.append(
                        Variant(
                            store=store,
                            product=product,
                            sku=sku,
                            name=SIZES[j] if j < len(SIZES) else str(j),
                            price=price,
                            compare_at_price=(price * Decimal("1.25")).quantize(Decimal("0.01"))
                            if discounted
                            else None,
                            position=j,
                        )
                    )
            variants_created = Variant.objects.bulk_create(variant_rows)
            through = Variant.attribute_values.through
            through.objects.bulk_create(
                [
                    through(variant_id=v.pk, attributevalue_id=values[v.position % len(values)].pk)
                    for v in variants_created
                ]
            )
            stock_rows, history = [], []
            k = 0
            for prices, _skus, stocks, discounted in plans:
                for j in range(len(prices)):
                    v = variants_created[k]
                    k += 1
                    stock_rows.append(StockItem(variant=v, warehouse=warehouse, quantity=stocks[j]))
                    if discounted:
                        history.append(
                            PriceHistory(
                                variant=v, price=v.compare_at_price, valid_from=now - timedelta(days=40)
                            )
                        )
                        history.append(
                            PriceHistory(
                                variant=v,
                                price=v.price,
                                compare_at_price=v.compare_at_price,
                                valid_from=now - timedelta(days=2),
                            )
                        )
                    else:
                        history.append(
                            PriceHistory(variant=v, price=v.price, valid_from=now - timedelta(days=60))
                        )
            StockItem.objects.bulk_create(stock_rows)
            PriceHistory.objects.bulk_create(history)
            counts["products"] += len(created)
            counts["variants"] += len(variants_created)
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum would gather soon after a real import: without them the
        # planner believes the store has a handful of products and skips the search indexes.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    counts["seconds"] = round(time.monotonic() - started, 1)
    counts["categories"] = len(leaves) + len(TOP)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--migrate", action="store_true", help="run migrations first")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import Product
    from shop.models import Store

    if args.migrate:
        call_command("migrate", interactive=False, verbosity=0)
    store, _ = Store.objects.get_or_create(
        domain=args.domain,
        defaults={"name": "Bench", "is_default": not Store.objects.filter(is_default=True).exists()},
    )
    if Product.objects.filter(store=store).exists():
        print(json.dumps({"skipped": "the store already has a catalog", "products": store.products.count()}))
        return 0
    print(json.dumps(generate(store=store, products=args.products, variants=args.variants, seed=args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
