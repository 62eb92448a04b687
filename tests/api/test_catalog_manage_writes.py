"""The merchant API deletes through the catalog's services: the product is refreshed, and a
variant a set contains is refused (409) with nothing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Product, SetComponent, Variant
from tests.api.conftest import error_of, merchant
from tests.catalog.factories import ProductFactory, VariantFactory, make_set

pytestmark = pytest.mark.django_db


def test_deleting_a_variant_refreshes_the_product(store):
    c = merchant(store, ["catalog:write"])
    product = ProductFactory(store=store)
    cheap = VariantFactory(product=product, price=Decimal("20"))
    VariantFactory(product=product, price=Decimal("90"))
    assert c.delete(f"/api/v1/manage/variants/{cheap.pk}/").status_code == 204
    assert Product.objects.get(pk=product.pk).min_price == Decimal("90.00")
    assert c.delete(f"/api/v1/manage/variants/{cheap.pk}/").status_code == 404


def test_a_variant_or_product_in_a_set_is_not_deleted(store):
    c = merchant(store, ["catalog:write"])
    part = VariantFactory(store=store)
    make_set(store=store, components=[(part, 1)])
    for path in (f"/api/v1/manage/variants/{part.pk}/", f"/api/v1/manage/products/{part.product_id}/"):
        r = c.delete(path)
        assert r.status_code == 409, path
        assert error_of(r)["code"] == "protected"
    assert Variant.objects.filter(pk=part.pk).exists()
    assert SetComponent.objects.filter(variant=part).exists()


def test_another_stores_variant_is_not_found(store):
    c = merchant(store, ["catalog:write"])
    foreign = VariantFactory()
    assert c.delete(f"/api/v1/manage/variants/{foreign.pk}/").status_code == 404
    assert c.delete("/api/v1/manage/variants/99999999999999999999/").status_code == 404
    assert Variant.objects.filter(pk=foreign.pk).exists()


def test_a_variant_ean_goes_through_the_shops_gtin_rule(store):
    """The API refuses what the admin refuses: an EAN with a wrong check digit is 422 on ``ean``."""
    c = merchant(store, ["catalog:write"])
    product = ProductFactory(store=store)
    body = {"product": product.pk, "sku": "EAN-1", "price": "10", "ean": "5901234123458"}
    r = c.post("/api/v1/manage/variants/", body, format="json")
    assert r.status_code == 422, r.content
    assert "ean" in error_of(r)["fields"]
    assert not Variant.objects.filter(sku="EAN-1").exists()
    r = c.post("/api/v1/manage/variants/", {**body, "ean": "5901234123457"}, format="json")
    assert r.status_code == 201, r.content
    assert Variant.objects.get(sku="EAN-1").ean == "5901234123457"
