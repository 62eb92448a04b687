from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import availability, selectors, stock
from catalog.models import PriceHistory, Product
from tests.catalog.factories import (
    PreorderVariantFactory,
    ProductFactory,
    StockReservationFactory,
    VariantFactory,
    give_stock,
    main_warehouse,
    make_set,
)

pytestmark = pytest.mark.django_db


def _listing_available(product) -> bool:
    return (
        Product.objects.filter(pk=product.pk)
        .annotate(a=availability.available_expression())
        .values_list("a", flat=True)
        .get()
    )


def test_sql_availability_agrees_with_catalog_stock(store):
    cases = {}
    cases["in_stock"] = VariantFactory(store=store, stock=3)
    cases["sold_out"] = VariantFactory(store=store, stock=0)
    reserved = VariantFactory(store=store, stock=2)
    StockReservationFactory(variant=reserved, quantity=2)
    cases["fully_reserved"] = reserved
    expired = VariantFactory(store=store, stock=2)
    StockReservationFactory(variant=expired, quantity=2, expires_at=timezone.now() - timedelta(minutes=1))
    cases["expired_reservation"] = expired
    cases["untracked"] = VariantFactory(store=store, track_stock=False)
    cases["backorder"] = VariantFactory(store=store, backorder="allow")
    cases["preorder_open"] = PreorderVariantFactory(store=store, preorder_limit=5)
    full = PreorderVariantFactory(store=store, preorder_limit=2)
    StockReservationFactory(variant=full, quantity=2)
    cases["preorder_full"] = full
    cases["preorder_unlimited"] = PreorderVariantFactory(store=store, preorder_limit=None)
    inactive_wh = VariantFactory(store=store)
    warehouse = main_warehouse(store)
    give_stock(
        inactive_wh,
        5,
        warehouse=type(warehouse).objects.create(store=store, code="off", name="Off", is_active=False),
    )
    cases["inactive_warehouse"] = inactive_wh
    a = VariantFactory(store=store, stock=4)
    b = VariantFactory(store=store, stock=1)
    cases["set_ok"] = make_set(store=store, components=[(a, 2), (b, 1)])
    c = VariantFactory(store=store, stock=1)
    cases["set_short"] = make_set(store=store, components=[(c, 2)])
    for name, variant in cases.items():
        expected = stock.availability(
            Product.objects.get(pk=variant.product_id).variants.get(pk=variant.pk)
        ).sellable
        assert _listing_available(variant.product) == expected, name


def test_omnibus_lowest_price_before_the_reduction(store):
    now = timezone.now()
    variant = VariantFactory(store=store, price=Decimal("79.00"), compare_at_price=Decimal("129.00"))
    PriceHistory.objects.filter(variant=variant).delete()
    for days, price in [(60, "99.00"), (25, "129.00"), (20, "119.00"), (5, "79.00")]:
        PriceHistory.objects.create(
            variant=variant, price=Decimal(price), valid_from=now - timedelta(days=days)
        )
    # Reduction 5 days ago; window = 35..5 days ago: 99 (until 25 days ago), 129, 119 -> 99.
    assert selectors.omnibus_prices([variant])[variant.pk] == Decimal("99.00")


def test_omnibus_ignores_prices_older_than_the_window(store):
    now = timezone.now()
    variant = VariantFactory(store=store, price=Decimal("50"))
    PriceHistory.objects.filter(variant=variant).delete()
    for days, price in [(100, "10.00"), (50, "80.00"), (3, "50.00"), (1, "50.00")]:
        PriceHistory.objects.create(
            variant=variant, price=Decimal(price), valid_from=now - timedelta(days=days)
        )
    # The current price started 3 days ago (the later row repeats it); 10 zł ended 50 days ago.
    assert selectors.omnibus_prices([variant.pk])[variant.pk] == Decimal("80.00")


def test_omnibus_without_earlier_price_is_the_current_price(store):
    variant = VariantFactory(store=store, price=Decimal("40"), compare_at_price=Decimal("60"))
    assert selectors.omnibus_prices([variant]) == {variant.pk: Decimal("40.00")}
    assert selectors.omnibus_prices([]) == {}


def test_search_matches_polish_text_without_accents(store):
    VariantFactory(store=store, product__name="Żółty płaszcz przeciwdeszczowy", sku="PL-77")
    VariantFactory(store=store, product__name="Czarne buty")
    VariantFactory(product__name="Żółty płaszcz w innym sklepie")
    names = lambda q: sorted(p.name for p in selectors.search_products(store, q))  # noqa: E731
    assert names("zolty plaszcz") == ["Żółty płaszcz przeciwdeszczowy"]
    assert names("ŻÓŁTY") == ["Żółty płaszcz przeciwdeszczowy"]
    assert names("pl-77") == ["Żółty płaszcz przeciwdeszczowy"]
    assert names("buty") == ["Czarne buty"]
    assert names("   ") == []
    assert names("%_\\'\"") == []


def test_search_tolerates_typos_on_postgres(store, settings):
    # Typos are corrected against the catalog's vocabulary in Python since issue 20, on SQLite too.
    VariantFactory(store=store, product__name="Sukienka letnia w kwiaty")
    assert [p.name for p in selectors.search_products(store, "sukinka")] == ["Sukienka letnia w kwiaty"]
    assert [p.name for p in selectors.search_products(store, "sukien")] == ["Sukienka letnia w kwiaty"]


def test_unpublished_and_variantless_products_are_not_listed(store):
    ProductFactory(store=store)  # no variant: no price
    VariantFactory(store=store, product__is_published=False)
    shown = VariantFactory(store=store).product
    assert list(selectors.published_products(store)) == [shown]


def test_recommended_for_cart(store):
    a = VariantFactory(store=store).product
    b = VariantFactory(store=store, stock=1).product
    hidden = VariantFactory(store=store, product__is_published=False).product
    a.recommended.set([b, hidden])
    assert [p.pk for p in selectors.recommended_for([a])] == [b.pk]
    assert selectors.recommended_for([]) == []
