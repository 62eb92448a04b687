"""Public catalog endpoints: filters, prices (net, VAT, Omnibus), availability, constant queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    PriceHistoryFactory,
    ProductFactory,
    ProductGroupFactory,
    ProductImageFactory,
    VariantFactory,
    give_stock,
)

pytestmark = pytest.mark.django_db


def names(response):
    assert response.status_code == 200, response.content
    return sorted(p["name"] for p in response.json()["results"])


def test_filters(client, store, other_store):
    shoes = CategoryFactory(store=store, name="Buty")
    boots = CategoryFactory(store=store, parent=shoes, name="Kozaki")
    colour = AttributeFactory(store=store, name="Kolor", slug="kolor")
    red = AttributeValueFactory(attribute=colour, value="Czerwony", slug="czerwony")
    a = VariantFactory(
        product=ProductFactory(store=store, name="Kozak czerwony", category=boots), price=Decimal("300")
    )
    a.attribute_values.set([red])
    give_stock(a, 2)
    b = VariantFactory(
        product=ProductFactory(store=store, name="Sandał", category=shoes), price=Decimal("100")
    )
    VariantFactory(product=ProductFactory(store=other_store, name="Obcy"), price=Decimal("50"))
    ProductGroupFactory(store=store, slug="hity", products=[b.product])
    assert names(client.get("/api/v1/products/")) == ["Kozak czerwony", "Sandał"]
    assert names(client.get("/api/v1/products/", {"category": "buty"})) == ["Kozak czerwony", "Sandał"]
    assert names(client.get("/api/v1/products/", {"category": "kozaki"})) == ["Kozak czerwony"]
    assert names(client.get("/api/v1/products/", {"category": "nope"})) == []
    assert names(client.get("/api/v1/products/", {"group": "hity"})) == ["Sandał"]
    assert names(client.get("/api/v1/products/", {"price_min": "150"})) == ["Kozak czerwony"]
    assert names(client.get("/api/v1/products/", {"price_max": "150"})) == ["Sandał"]
    assert names(client.get("/api/v1/products/", {"attr": "kolor:czerwony"})) == ["Kozak czerwony"]
    assert names(client.get("/api/v1/products/", {"in_stock": "true"})) == ["Kozak czerwony"]
    assert names(client.get("/api/v1/products/", {"search": "sandal"})) == ["Sandał"]
    ordered = client.get("/api/v1/products/", {"ordering": "price_desc"}).json()["results"]
    assert [p["name"] for p in ordered] == ["Kozak czerwony", "Sandał"]
    page = client.get("/api/v1/products/", {"page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    assert [c["slug"] for c in client.get("/api/v1/categories/").json()] == ["buty", "kozaki"]
    assert [g["slug"] for g in client.get("/api/v1/groups/").json()] == ["hity"]


def test_product_detail_prices_and_availability(client, store):
    product = ProductFactory(store=store, vat_rate="23")
    variant = VariantFactory(product=product, price=Decimal("123.00"), low_stock_threshold=3)
    give_stock(variant, 2)
    # Discounted today; it cost 110 three weeks ago and 150 just before the sale.
    variant.price_history.all().delete()
    now = timezone.now()
    PriceHistoryFactory(variant=variant, price=Decimal("110.00"), valid_from=now - timedelta(days=25))
    PriceHistoryFactory(variant=variant, price=Decimal("150.00"), valid_from=now - timedelta(days=10))
    services.change_price(variant=variant, price=Decimal("99.00"), compare_at_price=Decimal("150.00"))
    related = VariantFactory(store=store).product
    product.related.add(related)
    ProductImageFactory(product=product, alt="front")
    body = client.get(f"/api/v1/products/{product.pk}/").json()
    price = body["variants"][0]["price"]
    assert price == {
        "gross": "99.00",
        "net": "80.49",
        "vat_rate": "23",
        "currency": "PLN",
        "compare_at": "150.00",
        "lowest_30_days": "110.00",
    }
    assert body["variants"][0]["availability"] == {"status": "low_stock", "sellable": True, "quantity": 2}
    assert body["images"][0]["alt"] == "front"
    assert body["images"][0]["url"].startswith("http://testserver/media/")
    assert [p["id"] for p in body["related"]] == [related.pk]
    listing = client.get("/api/v1/products/").json()["results"]
    card = next(p for p in listing if p["id"] == product.pk)
    assert card["price"]["lowest_30_days"] == "110.00"
    unpublished = ProductFactory(store=store, is_published=False)
    VariantFactory(product=unpublished)
    assert client.get(f"/api/v1/products/{unpublished.pk}/").status_code == 404


def _catalog(store, n):
    category = CategoryFactory(store=store, name="Wszystko")
    for i in range(n):
        p = ProductFactory(store=store, category=category)
        v = VariantFactory(product=p, price=Decimal("50") + i, compare_at_price=Decimal("500"))
        give_stock(v, 5)
        ProductImageFactory(product=p)
        p.related.add(category.products.first())


@pytest.mark.parametrize("n", [1, 12])
def test_list_query_counts_are_constant(client, store, n, django_assert_max_num_queries):
    _catalog(store, n)
    client.get("/api/v1/categories/")  # warm the category tree cache like a running shop
    with django_assert_max_num_queries(6):
        r = client.get("/api/v1/products/", {"category": "wszystko"})
    assert r.json()["count"] == n
    with django_assert_max_num_queries(14):
        assert client.get(f"/api/v1/products/{store.products.first().pk}/").status_code == 200
    with django_assert_max_num_queries(3):
        client.get("/api/v1/groups/")
