from decimal import Decimal

import pytest

from catalog import stock
from catalog.models import PriceHistory, Product
from tests.catalog.factories import (
    BackInStockSubscriptionFactory,
    CategoryFactory,
    DigitalAssetFactory,
    DownloadGrantFactory,
    ProductImageFactory,
    StockItemFactory,
    VariantFactory,
    give_stock,
    make_set,
)

pytestmark = pytest.mark.django_db


def test_variant_factory_keeps_product_in_the_given_store(store):
    variant = VariantFactory(store=store, price=Decimal("12.50"))
    assert variant.product.store == store
    product = Product.objects.get(pk=variant.product_id)
    assert product.min_price == Decimal("12.50")
    assert PriceHistory.objects.filter(variant=variant).count() == 1


def test_variant_factory_with_product_uses_its_store(store):
    first = VariantFactory(store=store)
    second = VariantFactory(product=first.product, stock=4)
    assert second.store == store
    assert stock.availability(second).available == 4


def test_give_stock_and_stock_item_factory(store):
    variant = VariantFactory(store=store)
    give_stock(variant, 2)
    give_stock(variant, 7)
    assert stock.availability(variant).available == 7
    item = StockItemFactory(variant__store=store, quantity=3)
    assert item.warehouse.store == store


def test_make_set_and_other_factories(store):
    a = VariantFactory(store=store, stock=5)
    b = VariantFactory(store=store, stock=5)
    bundle = make_set(store=store, components=[(a, 1), (b, 2)])
    assert stock.availability(bundle).available == 2
    child = CategoryFactory(parent=CategoryFactory(store=store))
    assert child.depth == 1 and child.path.count("/") == 3
    grant = DownloadGrantFactory(asset=DigitalAssetFactory(variant__store=store))
    assert grant.asset.variant.product.kind == Product.Kind.DIGITAL
    assert grant.asset.variant.product.store == store
    assert ProductImageFactory(product=a.product).image.name.endswith(".jpg")
    assert BackInStockSubscriptionFactory(variant=a).confirmed_at is not None
