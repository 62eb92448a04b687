"""Pages cost a constant number of SQL queries whatever the catalog size (issue 3: aim <= 10)."""

from decimal import Decimal

import pytest

from catalog import services
from catalog.models import StockItem, Variant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    ProductFactory,
    ProductGroupFactory,
    ProductImageFactory,
    main_warehouse,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10
# A page's own queries once the shop-wide caches (store, category tree, marketing tags) are warm
# and before its cached body exists; a warm page costs none (tests/catalog/test_page_cache.py).
PAGE_QUERIES = 8


def _warm_shop_caches(client):
    assert client.get("/").status_code == 200


def _catalog(store, n_products: int, variants_per_product: int = 3):
    parent = CategoryFactory(store=store, name="Odzież")
    category = CategoryFactory(parent=parent, name="Bluzy")
    size = AttributeFactory(store=store, name="Rozmiar", slug="rozmiar")
    values = [
        AttributeValueFactory(attribute=size, value=f"R{i}", slug=f"r{i}")
        for i in range(variants_per_product)
    ]
    warehouse = main_warehouse(store)
    products = []
    for i in range(n_products):
        product = ProductFactory(
            store=store, category=category, name=f"Bluza {i}", slug=f"bluza-{i}", variant_attributes=[size]
        )
        variants = Variant.objects.bulk_create(
            [
                Variant(
                    store=store,
                    product=product,
                    sku=f"B-{i}-{j}",
                    price=Decimal(100 + i),
                    compare_at_price=Decimal(150 + i) if i % 3 == 0 else None,
                    position=j,
                )
                for j in range(variants_per_product)
            ]
        )
        for v, value in zip(variants, values, strict=True):
            v.attribute_values.add(value)
        StockItem.objects.bulk_create(
            [StockItem(variant=v, warehouse=warehouse, quantity=i % 4) for v in variants]
        )
        for v in variants:
            services.record_price(variant=v)
        if i % 2 == 0:
            ProductImageFactory(product=product)
        products.append(product)
    services.refresh_products(product_ids=[p.pk for p in products])
    return category, products


@pytest.mark.parametrize("n_products", [5, 60])
def test_category_page_query_count_is_constant(client, store, django_assert_max_num_queries, n_products):
    category, _ = _catalog(store, n_products)
    _warm_shop_caches(client)
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(f"/k/{category.slug}/?sort=price&attr=rozmiar:r1&available=1&price_min=1")
    assert response.status_code == 200
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(f"/k/{category.parent.slug}/")
    assert response.content.decode().count('data-testid="product-card"') == min(n_products, 48)


@pytest.mark.parametrize("n_variants", [2, 60])
def test_product_page_query_count_is_constant(client, store, django_assert_max_num_queries, n_variants):
    _, products = _catalog(store, 4, variants_per_product=n_variants)
    product = products[1]  # in stock: the variant select is shown
    product.related.set([products[0], products[2]])
    product.recommended.set(products[2:4])
    for _ in range(3):
        ProductImageFactory(product=product)
    _warm_shop_caches(client)
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count('<option value="') == n_variants + 2  # + the language switch


def test_home_group_and_search_query_counts(client, store, django_assert_max_num_queries):
    _, products = _catalog(store, 50)
    ProductGroupFactory(store=store, slug="na-prezent", products=products[:30])
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get("/g/na-prezent/").status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/szukaj/?q=bluza")
    assert response.content.decode().count('data-testid="product-card"') == 48
