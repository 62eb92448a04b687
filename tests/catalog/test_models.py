"""The invariants the database holds by itself."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import DownloadGrant, SetComponent, StockItem, Variant, VatRate
from tests.catalog.factories import (
    CategoryFactory,
    DigitalAssetFactory,
    ProductFactory,
    SetProductFactory,
    VariantFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def _fails(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_price_cannot_be_negative(store):
    product = ProductFactory(store=store)
    _fails(lambda: Variant.objects.create(store=store, product=product, sku="A", price=Decimal("-1")))


def test_compare_at_price_must_be_above_price(store):
    product = ProductFactory(store=store)
    _fails(
        lambda: Variant.objects.create(
            store=store, product=product, sku="A", price=Decimal("10"), compare_at_price=Decimal("10")
        )
    )


def test_preorder_needs_a_release_date(store):
    product = ProductFactory(store=store)
    _fails(lambda: Variant.objects.create(store=store, product=product, sku="A", price=1, is_preorder=True))


def test_sku_is_unique_per_store_only(store):
    VariantFactory(store=store, sku="X-1")
    _fails(lambda: VariantFactory(store=store, sku="X-1"))
    assert VariantFactory(sku="X-1").store != store


def test_stock_cannot_go_negative(store):
    variant = VariantFactory(store=store)
    warehouse = WarehouseFactory(store=store)
    _fails(lambda: StockItem.objects.create(variant=variant, warehouse=warehouse, quantity=-1))


def test_set_component_quantity_positive(store):
    bundle = SetProductFactory(store=store)
    part = VariantFactory(store=store)
    _fails(lambda: SetComponent.objects.create(set_product=bundle, variant=part, quantity=0))


def test_category_cannot_be_its_own_parent(store):
    category = CategoryFactory(store=store)
    category.parent_id = category.pk
    _fails(lambda: category.save())


def test_download_grant_once_per_reference_and_never_negative(store):
    asset = DigitalAssetFactory(variant__store=store)
    expires = timezone.now() + timedelta(days=1)
    DownloadGrant.objects.create(
        asset=asset, email="a@example.com", reference="r1", expires_at=expires, downloads_left=1
    )
    _fails(
        lambda: DownloadGrant.objects.create(
            asset=asset, email="a@example.com", reference="r1", expires_at=expires, downloads_left=1
        )
    )
    _fails(
        lambda: DownloadGrant.objects.create(
            asset=asset, email="a@example.com", reference="r2", expires_at=expires, downloads_left=-1
        )
    )


def test_vat_percent():
    assert VatRate.percent("23") == Decimal("23")
    assert VatRate.percent(VatRate.EXEMPT) == Decimal("0")
