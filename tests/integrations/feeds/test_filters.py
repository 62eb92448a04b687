"""Per-feed filters: categories with their subcategories, minimum stock, only in stock, no
pre-orders, products left out by group ("tag") or one by one; overrides: custom label, UTM."""

from __future__ import annotations

import pytest

from catalog.models import ProductGroup
from tests.catalog.factories import (
    CategoryFactory,
    PreorderVariantFactory,
    ProductFactory,
    ProductGroupFactory,
    ProductImageFactory,
    VariantFactory,
)

from .conftest import google_items
from .factories import FeedFactory

pytestmark = pytest.mark.django_db


def item(store, sku, *, category=None, stock=5, **kwargs):
    product = ProductFactory(store=store, category=category, name=f"Produkt {sku}")
    ProductImageFactory(product=product)
    return VariantFactory(product=product, sku=sku, stock=stock, **kwargs)


def test_categories_include_their_descendants(store, generate_feed):
    clothes = CategoryFactory(store=store, name="Odzież")
    shirts = CategoryFactory(store=store, parent=clothes, name="Koszule")
    linen = CategoryFactory(store=store, parent=shirts, name="Lniane")
    garden = CategoryFactory(store=store, name="Ogród")
    item(store, "TOP", category=clothes)
    item(store, "DEEP", category=linen)
    item(store, "GARDEN", category=garden)
    item(store, "NONE")
    feed = FeedFactory(store=store, categories=[clothes])

    run, content = generate_feed(feed)

    assert set(google_items(content)) == {"TOP", "DEEP"}
    assert run.items == 2


def test_stock_filters_and_preorders(store, generate_feed):
    item(store, "MANY", stock=10)
    item(store, "FEW", stock=2)
    item(store, "NONE", stock=0)
    item(store, "UNTRACKED", stock=None, track_stock=False)
    pre = ProductFactory(store=store)
    ProductImageFactory(product=pre)
    PreorderVariantFactory(product=pre, sku="PRE")

    _run, content = generate_feed(FeedFactory(store=store, min_stock=3))
    assert set(google_items(content)) == {"MANY", "UNTRACKED", "PRE"}

    _run, content = generate_feed(FeedFactory(store=store, only_in_stock=True))
    assert set(google_items(content)) == {"MANY", "FEW", "UNTRACKED"}

    run, content = generate_feed(FeedFactory(store=store, exclude_preorders=True))
    assert set(google_items(content)) == {"MANY", "FEW", "NONE", "UNTRACKED"}
    assert run.filtered == 0  # pre-orders are left out by the query itself


def test_left_out_by_group_tag_rule_group_and_product(store, generate_feed):
    kept = item(store, "KEPT")
    tagged = item(store, "TAGGED")
    cheap = item(store, "CHEAP", price="5.00")
    alone = item(store, "ALONE")
    tag = ProductGroupFactory(store=store, name="Nie do Google", products=[tagged.product])
    rule = ProductGroupFactory(store=store, kind=ProductGroup.Kind.RULES, rule_max_price="10.00")
    feed = FeedFactory(store=store, exclude_groups=[tag, rule], excluded_products=[alone.product])

    _run, content = generate_feed(feed)

    assert set(google_items(content)) == {kept.sku}
    assert cheap.sku != kept.sku


def test_other_stores_never_leak_in(store, generate_feed):
    from tests.shop.factories import StoreFactory

    other = StoreFactory()
    item(other, "FOREIGN")
    item(store, "OURS")

    _run, content = generate_feed(FeedFactory(store=store))

    assert set(google_items(content)) == {"OURS"}


def test_custom_label_utm_and_google_category(store, generate_feed):
    item(store, "LBL")
    feed = FeedFactory(
        store=store,
        custom_label="zima-2026",
        utm_source="google",
        utm_medium="shopping",
        utm_campaign="pla",
        google_product_category="Apparel & Accessories > Clothing",
    )

    _run, content = generate_feed(feed)

    found = google_items(content)["LBL"]
    assert found["custom_label_0"] == ["zima-2026"]
    assert found["google_product_category"] == ["Apparel & Accessories > Clothing"]
    assert found["link"][0].endswith("?utm_source=google&utm_medium=shopping&utm_campaign=pla")
    assert b"&amp;utm_medium" in content
