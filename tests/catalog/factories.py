"""Factories for every catalog model.

Other apps' tests import these. The defaults make a sellable thing with the fewest arguments::

    variant = VariantFactory(store=store)                 # product created in the same store
    give_stock(variant, 5)                                # 5 units in the store's main warehouse
    variant = VariantFactory(product=product, stock=3)    # same, in one call
    bundle = make_set(store=store, components=[(a, 1), (b, 2)], price=Decimal("99.00"))

Variants record their first price in ``PriceHistory`` and refresh the product's ``min_price`` and
``search_text``, like ``catalog.services.save_variant`` does.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from catalog import services
from catalog.models import (
    Attribute,
    AttributeValue,
    BackInStockSubscription,
    Category,
    DigitalAsset,
    DownloadGrant,
    PriceHistory,
    Product,
    ProductGroup,
    ProductImage,
    SetComponent,
    StockItem,
    StockMovement,
    StockReservation,
    Variant,
    Warehouse,
)
from tests.shop.factories import StoreFactory

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


class AttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attribute
        django_get_or_create = ("store", "slug")

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Cecha {n}")
    slug = factory.LazyAttribute(lambda o: services.slugify_pl(o.name))
    position = 0


class AttributeValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributeValue
        django_get_or_create = ("attribute", "slug")

    attribute = factory.SubFactory(AttributeFactory)
    value = factory.Sequence(lambda n: f"Wartość {n}")
    slug = factory.LazyAttribute(lambda o: services.slugify_pl(o.value))
    position = 0


class CategoryFactory(factory.django.DjangoModelFactory):
    """Saved through ``services.save_category`` so ``path`` and ``depth`` are right."""

    class Meta:
        model = Category

    store = factory.LazyAttribute(lambda o: o.parent.store if o.parent else StoreFactory())
    parent = None
    name = factory.Sequence(lambda n: f"Kategoria {n}")
    slug = ""
    is_published = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.save_category(category=model_class(*args, **kwargs))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    store = factory.LazyAttribute(lambda o: o.category.store if o.category else StoreFactory())
    category = None
    kind = Product.Kind.STANDARD
    name = factory.Sequence(lambda n: f"Produkt {n}")
    slug = factory.Sequence(lambda n: f"produkt-{n}")
    description = "Opis produktu."
    vat_rate = "23"
    is_published = True
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def variant_attributes(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.variant_attributes.set(extracted)


def _store_of_parent(o):
    """The store passed to the parent variant factory, else a new one.

    ``VariantFactory(store=s)`` passes ``s`` explicitly, so reading it works; without it the
    parent's ``store`` is derived from this very product, which factory_boy reports as a cycle.
    """
    try:
        return o.factory_parent.store
    except factory.errors.CyclicDefinitionError:
        return StoreFactory()


class VariantFactory(factory.django.DjangoModelFactory):
    """``VariantFactory(store=s)`` creates its product in ``s``; ``VariantFactory(product=p)``
    takes ``p``'s store. ``stock=N`` gives it N units in the store's main warehouse."""

    class Meta:
        model = Variant
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory, store=factory.LazyAttribute(_store_of_parent))
    store = factory.LazyAttribute(lambda o: o.product.store)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    ean = ""
    name = ""
    price = Decimal("99.00")
    compare_at_price = None
    weight_grams = 500
    is_active = True
    track_stock = True
    backorder = Variant.Backorder.DENY
    low_stock_threshold = 3
    is_preorder = False
    release_date = None

    @factory.post_generation
    def attribute_values(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.attribute_values.set(extracted)

    @factory.post_generation
    def stock(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            give_stock(obj, extracted)

    @factory.post_generation
    def _history(obj, create, extracted, **kwargs):
        if create:
            services.record_price(variant=obj)
            services.refresh_products(product_ids=[obj.product_id])


class PreorderVariantFactory(VariantFactory):
    is_preorder = True
    release_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    preorder_limit = 10


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("store", "code")

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Magazyn {n}")
    code = factory.Sequence(lambda n: f"mag-{n}")
    priority = 0
    is_active = True


class StockItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockItem
        django_get_or_create = ("variant", "warehouse")

    variant = factory.SubFactory(VariantFactory)
    warehouse = factory.SubFactory(WarehouseFactory, store=factory.SelfAttribute("..variant.store"))
    quantity = 10


class StockMovementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockMovement

    stock_item = factory.SubFactory(StockItemFactory)
    delta = 1
    quantity_after = factory.LazyAttribute(lambda o: o.stock_item.quantity)
    reason = StockMovement.Reason.ADJUSTMENT


class StockReservationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockReservation

    variant = factory.SubFactory(VariantFactory)
    stock_item = None
    quantity = 1
    reference = factory.Sequence(lambda n: f"test:{n}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))


def main_warehouse(store) -> Warehouse:
    """The store's default warehouse for tests (created on first use)."""
    return WarehouseFactory(store=store, code="main", name="Magazyn główny")


def give_stock(variant: Variant, quantity: int, warehouse: Warehouse | None = None) -> StockItem:
    """Set ``variant``'s on-hand units in ``warehouse`` (default: the store's main one) to
    ``quantity`` directly, without a stock movement or an event (test setup only)."""
    warehouse = warehouse or main_warehouse(variant.store)
    item, _ = StockItem.objects.get_or_create(variant=variant, warehouse=warehouse)
    item.quantity = quantity
    item.save(update_fields=["quantity"])
    return item


class SetProductFactory(ProductFactory):
    kind = Product.Kind.SET
    name = factory.Sequence(lambda n: f"Zestaw {n}")
    slug = factory.Sequence(lambda n: f"zestaw-{n}")


class SetComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SetComponent

    set_product = factory.SubFactory(SetProductFactory)
    variant = factory.SubFactory(VariantFactory, store=factory.SelfAttribute("..set_product.store"))
    quantity = 1


def make_set(*, store, components, price=Decimal("149.00"), **product_kwargs) -> Variant:
    """A set product with one variant (returned) made of ``components`` [(variant, quantity)]."""
    product = SetProductFactory(store=store, **product_kwargs)
    variant = VariantFactory(product=product, price=price, track_stock=False)
    services.set_components(set_product=product, components=components)
    return variant


class DigitalProductFactory(ProductFactory):
    kind = Product.Kind.DIGITAL
    name = factory.Sequence(lambda n: f"E-book {n}")
    slug = factory.Sequence(lambda n: f"e-book-{n}")
    vat_rate = "5"


class DigitalVariantFactory(VariantFactory):
    product = factory.SubFactory(DigitalProductFactory, store=factory.LazyAttribute(_store_of_parent))
    track_stock = False
    price = Decimal("29.90")


class DigitalAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DigitalAsset

    variant = factory.SubFactory("tests.catalog.factories.DigitalVariantFactory")
    title = factory.Sequence(lambda n: f"Plik {n}")
    file = factory.django.FileField(data=PDF_BYTES, filename="ebook.pdf")
    download_limit = 3
    link_valid_days = 30


class DownloadGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DownloadGrant

    asset = factory.SubFactory(DigitalAssetFactory)
    email = factory.Sequence(lambda n: f"kupujacy{n}@example.com")
    reference = factory.Sequence(lambda n: f"order-line:{n}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    downloads_left = 3


class GiftCardProductFactory(ProductFactory):
    kind = Product.Kind.GIFT_CARD
    name = factory.Sequence(lambda n: f"Karta podarunkowa {n}")
    slug = factory.Sequence(lambda n: f"karta-podarunkowa-{n}")
    vat_rate = "zw"


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    variant = None
    image = factory.django.ImageField(width=60, height=60, color="teal", format="JPEG", filename="foto.jpg")
    alt = factory.LazyAttribute(lambda o: o.product.name)
    position = 0


class ProductGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductGroup
        skip_postgeneration_save = True

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Grupa {n}")
    slug = factory.Sequence(lambda n: f"grupa-{n}")
    kind = ProductGroup.Kind.CURATED
    is_published = True

    @factory.post_generation
    def products(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.products.set(extracted)


class PriceHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceHistory

    variant = factory.SubFactory(VariantFactory)
    price = factory.LazyAttribute(lambda o: o.variant.price)
    compare_at_price = None
    valid_from = factory.LazyFunction(timezone.now)


class BackInStockSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackInStockSubscription

    variant = factory.SubFactory(VariantFactory)
    email = factory.Sequence(lambda n: f"czeka{n}@example.com")
    language = "pl"
    confirmed_at = factory.LazyFunction(timezone.now)


class ManufacturerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.Manufacturer"

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Fabryka {n} sp. z o.o.")
    address = "ul. Przemysłowa 1\n00-001 Warszawa"
    country = "PL"
    email = "kontakt@fabryka.example"
    url = ""


class ResponsiblePersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.ResponsiblePerson"

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Importer {n} sp. z o.o.")
    address = "ul. Portowa 2\n80-001 Gdańsk"
    country = "PL"
    email = "gpsr@importer.example"
