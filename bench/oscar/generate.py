"""Build the benchmark catalog in django-oscar, through Oscar's own models, then index it.

Runs inside Oscar's virtual environment (``bench/.oscar-venv``) with the ``frobshop`` settings::

    cd bench/oscar/frobshop && ../../.oscar-venv/bin/python ../generate.py ../../work/catalog.json

Input: the JSON that ``bench/koszyk_catalog.py export_catalog`` wrote from Koszyk's bench
database, so both shops hold the same catalog: the same category tree (names and slugs), the same
products (names, slugs, descriptions, brands) with the same variants (SKUs, sizes, prices, stock).

Mapping, the way an Oscar merchant models sizes:

- one ``ProductClass`` ("Odzież", stock tracked) with a text ``ProductAttribute`` "rozmiar";
- each Koszyk product -> an Oscar *parent* product in its category (``ProductCategory``);
- each Koszyk variant -> a *child* product with the size as its ``rozmiar`` attribute value and one
  ``StockRecord`` (partner "Magazyn", ``partner_sku`` = SKU, price, ``num_in_stock``);
- categories -> Oscar's treebeard ``Category`` tree (``add_root``/``add_child``).

Oscar has no compare-at ("was") price field (that needs a custom pricing strategy), so discounts
are not carried over. Rows are written with ``bulk_create`` (no signals fire, so Haystack's realtime
processor does not index row by row); then ``update_index`` builds the Whoosh index the listing
pages read. Prints a JSON line with counts and the URLs the benchmark requests.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "frobshop"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frobshop.settings")
# treebeard 7 deprecates the class-level tree API that Oscar 4.2 itself still uses.
warnings.filterwarnings("ignore", message=r"Using Category\.")


def build(data: dict, *, batch: int = 2000) -> dict:
    from django.db import transaction

    from oscar.core.loading import get_model

    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")
    ProductClass = get_model("catalogue", "ProductClass")
    ProductAttribute = get_model("catalogue", "ProductAttribute")
    ProductAttributeValue = get_model("catalogue", "ProductAttributeValue")
    ProductCategory = get_model("catalogue", "ProductCategory")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")

    with transaction.atomic():
        product_class = ProductClass.objects.create(
            name="Odzież", slug="odziez", requires_shipping=True, track_stock=True
        )
        size = ProductAttribute.objects.create(
            product_class=product_class, name="Rozmiar", code="rozmiar", type=ProductAttribute.TEXT
        )
        partner = Partner.objects.create(name="Magazyn", code="magazyn")

        categories: dict[str, object] = {}
        for c in sorted(data["categories"], key=lambda c: (c["parent"] is not None, int(c["key"]))):
            fields = {"name": c["name"], "slug": c["slug"], "is_public": True}
            if c["parent"] is None:
                categories[c["key"]] = Category.add_root(**fields)
            else:
                categories[c["key"]] = categories[c["parent"]].add_child(**fields)
        # Oscar caches public flags and full slugs: recompute them like the dashboard does.
        Category.fix_tree()

        items = data["items"]
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            parents = Product.objects.bulk_create(
                [
                    Product(
                        structure=Product.PARENT,
                        title=item["name"],
                        slug=item["slug"][:128],
                        description=item["description"],
                        product_class=product_class,
                        is_public=True,
                    )
                    for item in chunk
                ]
            )
            ProductCategory.objects.bulk_create(
                [
                    ProductCategory(product=p, category=categories[item["category"]])
                    for p, item in zip(parents, chunk, strict=True)
                    if item["category"]
                ]
            )
            variant_specs = [(p, v) for p, item in zip(parents, chunk, strict=True) for v in item["variants"]]
            children = Product.objects.bulk_create(
                [
                    Product(
                        structure=Product.CHILD,
                        parent=p,
                        title=v["name"],
                        slug=f"{p.slug}-{v['name'] or 'x'}".lower()[:128],
                        upc=v["sku"],
                        is_public=True,
                    )
                    for p, v in variant_specs
                ]
            )
            ProductAttributeValue.objects.bulk_create(
                [
                    ProductAttributeValue(attribute=size, product=child, value_text=v["name"])
                    for child, (_, v) in zip(children, variant_specs, strict=True)
                    if v["name"]
                ]
            )
            StockRecord.objects.bulk_create(
                [
                    StockRecord(
                        product=child,
                        partner=partner,
                        partner_sku=v["sku"],
                        price_currency="PLN",
                        price=Decimal(v["price"]),
                        num_in_stock=v["stock"],
                    )
                    for child, (_, v) in zip(children, variant_specs, strict=True)
                ]
            )
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.filter(structure=Product.PARENT).count(),
        "children": Product.objects.filter(structure=Product.CHILD).count(),
        "stockrecords": StockRecord.objects.count(),
    }


def urls(*, category_slug: str, product_slug: str) -> dict:
    """The Oscar URLs of the category and product the benchmark requests (same slugs as ours)."""
    from oscar.core.loading import get_model

    Category = get_model("catalogue", "Category")
    Product = get_model("catalogue", "Product")
    return {
        "category": Category.objects.get(slug=category_slug).get_absolute_url(),
        "product": Product.objects.get(slug=product_slug, structure=Product.PARENT).get_absolute_url(),
    }


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the benchmark catalog in Oscar.")
    parser.add_argument("catalog", type=Path, help="catalog JSON exported from Koszyk's bench database")
    parser.add_argument("--category-slug", required=True)
    parser.add_argument("--product-slug", required=True)
    parser.add_argument("--no-index", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    data = json.loads(args.catalog.read_text())
    started = time.monotonic()
    counts = build(data)
    from django.db import connection

    with connection.cursor() as cursor:  # planner statistics, as autovacuum would gather
        cursor.execute("VACUUM ANALYZE")
    built = time.monotonic() - started
    indexed = None
    if not args.no_index:
        started = time.monotonic()
        call_command("rebuild_index", interactive=False, verbosity=0)
        indexed = round(time.monotonic() - started, 1)
    out = {
        "counts": counts,
        "build_seconds": round(built, 1),
        "index_seconds": indexed,
        "urls": urls(category_slug=args.category_slug, product_slug=args.product_slug),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
