import random
import time

import pytest
from django.apps import apps

from catalog import demo, selectors, stock
from catalog.models import DigitalAsset, Product, ProductGroup, ProductImage, SetComponent, Variant
from shop.identifiers import clean_gtin

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("catalog").get_models()} | {
        "related": Product.related.through.objects.count(),
        "recommended": Product.recommended.through.objects.count(),
        "variant_values": Variant.attribute_values.through.objects.count(),
        "group_products": ProductGroup.products.through.objects.count(),
    }


def test_demo_seed_shows_every_kind_and_is_idempotent(store, client):
    started = time.monotonic()
    demo.seed(store=store, rng=random.Random(1))
    elapsed = time.monotonic() - started
    first = _counts()
    assert 180 <= first["Product"] <= 230
    assert first["Category"] >= 15 and first["Warehouse"] == 2
    kinds = set(Product.objects.values_list("kind", flat=True))
    assert kinds == {"standard", "set", "digital", "gift_card"}
    assert Variant.objects.filter(is_preorder=True, preorder_limit__isnull=False).exists()
    assert DigitalAsset.objects.count() == 1
    assert SetComponent.objects.count() == 2
    gift = Product.objects.get(kind="gift_card")
    assert sorted(v.price for v in gift.variants.all()) == [50, 100, 200]
    assert not gift.variants.filter(track_stock=True).exists()
    assert first["related"] > 0 and first["recommended"] > 0
    assert set(ProductGroup.objects.values_list("slug", flat=True)) == {"nowosci", "promocje", "na-prezent"}
    for group in ProductGroup.objects.all():
        assert selectors.group_products(group).exists(), group.slug
    # A discounted variant shows the higher price of 20 days ago as its Omnibus lowest price.
    discounted = Variant.objects.filter(compare_at_price__isnull=False).first()
    assert selectors.omnibus_prices([discounted])[discounted.pk] == discounted.compare_at_price
    bundle = Variant.objects.get(sku="SET-KAWA")
    assert stock.availability(bundle).status in {"in_stock", "low_stock", "out_of_stock"}
    image = ProductImage.objects.first()
    assert (image.width, image.height) == (600, 600) and image.image.name.endswith(".jpg")
    eans = [e for e in Variant.objects.values_list("ean", flat=True) if e]
    assert eans and all(clean_gtin(e) == e and e.startswith("590") for e in eans)
    print(f"demo seed: {elapsed:.1f} s")  # wall time is reported, not asserted (shared CI machines)

    demo.seed(store=store, rng=random.Random(1))
    assert _counts() == first

    # The demo shop's pages render.
    for path in ["/", "/k/odziez/", "/g/promocje/", "/szukaj/?q=sukienka", bundle.product.get_absolute_url()]:
        assert client.get(path).status_code == 200, path
