from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog import services
from catalog.models import Category, PriceHistory, Product, Variant
from tests.catalog.factories import (
    AttributeFactory,
    AttributeValueFactory,
    CategoryFactory,
    ProductFactory,
    SetProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


# --- categories ---


def test_category_paths_and_moving_a_subtree(store):
    clothes = CategoryFactory(store=store, name="Odzież")
    women = CategoryFactory(parent=clothes, name="Damska")
    dresses = CategoryFactory(parent=women, name="Sukienki")
    assert dresses.path == f"/{clothes.pk}/{women.pk}/{dresses.pk}/" and dresses.depth == 2
    sale = CategoryFactory(store=store, name="Wyprzedaż")
    women.parent = sale
    services.save_category(category=women)
    dresses.refresh_from_db()
    assert dresses.path == f"/{sale.pk}/{women.pk}/{dresses.pk}/"
    assert dresses.depth == 2
    women.parent = None
    services.save_category(category=women)
    dresses.refresh_from_db()
    assert dresses.path == f"/{women.pk}/{dresses.pk}/" and dresses.depth == 1


def test_category_cannot_move_into_its_own_subtree(store):
    parent = CategoryFactory(store=store)
    child = CategoryFactory(parent=parent)
    parent.parent = child
    with pytest.raises(ValidationError):
        services.save_category(category=parent)


def test_category_parent_from_another_store_is_refused(store):
    foreign = CategoryFactory()
    with pytest.raises(ValidationError):
        services.save_category(category=Category(store=store, name="X", parent=foreign))


def test_category_slug_transliterated_and_unique(store):
    a = services.save_category(category=Category(store=store, name="Łazienka"))
    b = services.save_category(category=Category(store=store, name="Łazienka"))
    assert (a.slug, b.slug) == ("lazienka", "lazienka-2")


def test_delete_category_refuses_with_children(store):
    parent = CategoryFactory(store=store)
    CategoryFactory(parent=parent)
    with pytest.raises(ValidationError):
        services.delete_category(category=parent)


# --- products and variants ---


def test_save_product_makes_slug_and_stamps_publication(store):
    product = services.save_product(product=Product(store=store, name="Kurtka zimowa Łoś", is_published=True))
    assert product.slug == "kurtka-zimowa-los"
    assert product.published_at is not None
    again = services.save_product(product=Product(store=store, name="Kurtka zimowa Łoś"))
    assert again.slug == "kurtka-zimowa-los-2"
    assert again.published_at is None


def test_refresh_products_keeps_min_price_and_search_text(store):
    category = CategoryFactory(store=store, name="Płaszcze")
    product = ProductFactory(store=store, category=category, name="Żółty płaszcz", brand="Łania")
    VariantFactory(product=product, price=Decimal("300"), sku="ZP-1", ean="5901234123457")
    VariantFactory(product=product, price=Decimal("250"), sku="ZP-2", is_active=False)
    product.refresh_from_db()
    assert product.min_price == Decimal("300.00")
    assert "zolty plaszcz" in product.search_text
    assert "lania" in product.search_text and "zp-1" in product.search_text
    assert "5901234123457" in product.search_text and "plaszcze" in product.search_text


def _sized_product(store):
    size = AttributeFactory(store=store, name="Rozmiar")
    colour = AttributeFactory(store=store, name="Kolor")
    m = AttributeValueFactory(attribute=size, value="M")
    red = AttributeValueFactory(attribute=colour, value="Czerwony")
    blue = AttributeValueFactory(attribute=colour, value="Niebieski")
    product = ProductFactory(store=store, variant_attributes=[size, colour])
    return product, m, red, blue


def test_variant_needs_each_required_attribute_once(store):
    product, m, red, blue = _sized_product(store)
    with pytest.raises(ValidationError, match="Rozmiar"):
        services.save_variant(variant=Variant(product=product, sku="A", price=10), attribute_values=[red])
    with pytest.raises(ValidationError):
        services.save_variant(
            variant=Variant(product=product, sku="A", price=10), attribute_values=[m, red, blue]
        )
    other = AttributeValueFactory(attribute=AttributeFactory(store=store, name="Materiał"), value="Len")
    with pytest.raises(ValidationError, match="Materiał"):
        services.save_variant(
            variant=Variant(product=product, sku="A", price=10), attribute_values=[m, red, other]
        )
    variant = services.save_variant(
        variant=Variant(product=product, sku="A", price=10), attribute_values=[m, red]
    )
    assert variant.name == "M / Czerwony"
    assert variant.store == store


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"price": Decimal("-1")}, "price"),
        ({"price": Decimal("10"), "compare_at_price": Decimal("9")}, "compare_at_price"),
        ({"price": Decimal("10"), "cost_price": Decimal("-2")}, "cost_price"),
        ({"price": Decimal("10"), "is_preorder": True}, "release_date"),
        ({"price": Decimal("10"), "sku": ""}, "sku"),
    ],
)
def test_variant_bad_values_are_refused_with_a_field_message(store, fields, error):
    product = ProductFactory(store=store)
    data = {"sku": "S-1", **fields}
    with pytest.raises(ValidationError) as info:
        services.save_variant(variant=Variant(product=product, **data))
    assert error in info.value.message_dict


def test_duplicate_sku_in_store_refused(store):
    VariantFactory(store=store, sku="DUP")
    with pytest.raises(ValidationError, match="DUP"):
        services.save_variant(variant=Variant(product=ProductFactory(store=store), sku="DUP", price=1))


def test_price_history_only_when_the_price_changes(store):
    variant = VariantFactory(store=store, price=Decimal("100"))
    assert PriceHistory.objects.filter(variant=variant).count() == 1
    variant.weight_grams = 900
    services.save_variant(variant=variant)
    assert PriceHistory.objects.filter(variant=variant).count() == 1
    services.change_price(variant=variant, price=Decimal("80"), compare_at_price=Decimal("100"))
    rows = list(PriceHistory.objects.filter(variant=variant).order_by("valid_from", "pk"))
    assert [(r.price, r.compare_at_price) for r in rows] == [
        (Decimal("100.00"), None),
        (Decimal("80.00"), Decimal("100.00")),
    ]
    # Raising above the crossed-out price drops it.
    services.change_price(variant=variant, price=Decimal("120"))
    variant.refresh_from_db()
    assert variant.compare_at_price is None


def test_change_prices_by_percent_rounds_half_up_and_records_history(store):
    product = ProductFactory(store=store)
    a = VariantFactory(product=product, price=Decimal("10.05"))
    b = VariantFactory(product=product, price=Decimal("99.99"))
    assert services.change_prices_by_percent(products=[product], percent=Decimal("-10")) == 2
    a.refresh_from_db()
    b.refresh_from_db()
    # 10.05 * 0.9 = 9.045 -> 9.05 (half-up); 99.99 * 0.9 = 89.991 -> 89.99
    assert (a.price, a.compare_at_price) == (Decimal("9.05"), Decimal("10.05"))
    assert (b.price, b.compare_at_price) == (Decimal("89.99"), Decimal("99.99"))
    assert PriceHistory.objects.filter(variant=a).count() == 2
    product.refresh_from_db()
    assert product.min_price == Decimal("9.05")
    services.change_prices_by_percent(products=[product], percent=Decimal("50"))
    a.refresh_from_db()
    assert a.price == Decimal("13.58") and a.compare_at_price is None  # 9.05 * 1.5 = 13.575
    with pytest.raises(ValidationError):
        services.change_prices_by_percent(products=[product], percent=Decimal("-100"))


def test_publish_unpublish_and_move(store):
    products = [ProductFactory(store=store, is_published=False, published_at=None) for _ in range(2)]
    assert services.set_published(products=products, published=True) == 2
    assert not Product.objects.filter(pk__in=[p.pk for p in products], published_at__isnull=True).exists()
    category = CategoryFactory(store=store)
    services.move_to_category(products=products, category=category)
    assert set(category.products.all()) == set(products)
    with pytest.raises(ValidationError):
        services.move_to_category(products=products, category=CategoryFactory())


# --- sets ---


def test_set_rules(store):
    bundle = SetProductFactory(store=store)
    own = VariantFactory(product=bundle)
    part = VariantFactory(store=store)
    other_set_variant = VariantFactory(product=SetProductFactory(store=store))
    foreign = VariantFactory()
    for components, message in [
        ([(own, 1)], "itself"),
        ([(other_set_variant, 1)], "another set"),
        ([(part, 0)], "at least 1"),
        ([(part, 1), (part, 2)], "twice"),
        ([(foreign, 1)], "another store"),
    ]:
        with pytest.raises(ValidationError, match=message):
            services.set_components(set_product=bundle, components=components)
    assert len(services.set_components(set_product=bundle, components=[(part, 2)])) == 1
    with pytest.raises(ValidationError):
        services.validate_set_components(set_product=ProductFactory(store=store), components=[(part, 1)])


def test_group_rules_select_products(store):
    from catalog.models import ProductGroup
    from catalog.selectors import group_products

    new = VariantFactory(store=store, price=Decimal("50")).product
    old = VariantFactory(store=store, price=Decimal("500"), compare_at_price=Decimal("600")).product
    Product.objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=90))
    group = services.save_group(
        group=ProductGroup(store=store, name="Nowości", kind="rules", rule_new_days=30)
    )
    assert group.slug == "nowosci"
    assert list(group_products(group)) == [new]
    sale = services.save_group(
        group=ProductGroup(store=store, name="Promocje", kind="rules", rule_on_sale=True)
    )
    assert list(group_products(sale)) == [old]
    cheap = ProductGroup(store=store, name="Tanio", kind="rules", rule_max_price=Decimal("100"))
    assert list(group_products(services.save_group(group=cheap))) == [new]
