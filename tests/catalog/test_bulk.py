"""catalog.bulk: the catalog's rules for writes of many rows at once (wholesaler imports)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import bulk, services
from catalog.models import PriceHistory, Product, StockItem, StockMovement, Variant
from shop.models import Event
from tests.catalog.factories import (
    ProductFactory,
    StockReservationFactory,
    VariantFactory,
    give_stock,
    main_warehouse,
)

pytestmark = pytest.mark.django_db

FIELDS = ["price", "compare_at_price", "cost_price", "updated_at"]


def history(variant) -> list[tuple[Decimal, Decimal | None]]:
    return list(
        PriceHistory.objects.filter(variant=variant).order_by("pk").values_list("price", "compare_at_price")
    )


# --- save_variants: the price-history rule -------------------------------------------------------


def test_new_variants_and_changed_prices_get_history_rows_other_changes_do_not(store):
    product = ProductFactory(store=store)
    repriced, discounted, cost_only = (VariantFactory(product=product) for _ in range(3))
    old = {v.pk: (v.price, v.compare_at_price) for v in (repriced, discounted, cost_only)}
    repriced.price = Decimal("89.00")
    discounted.compare_at_price = Decimal("120.00")
    cost_only.cost_price = Decimal("40.00")
    new = Variant(store=store, product=product, sku="NOWY-1", price=Decimal("10.00"))
    at = timezone.now()

    bulk.save_variants(
        created=[new], updated=[repriced, discounted, cost_only], fields=FIELDS, old_prices=old, at=at
    )

    assert history(repriced) == [(Decimal("99.00"), None), (Decimal("89.00"), None)]
    assert history(discounted) == [(Decimal("99.00"), None), (Decimal("99.00"), Decimal("120.00"))]
    assert history(cost_only) == [(Decimal("99.00"), None)]
    assert Variant.objects.get(pk=cost_only.pk).cost_price == Decimal("40.00")
    assert history(Variant.objects.get(sku="NOWY-1")) == [(Decimal("10.00"), None)]
    assert PriceHistory.objects.filter(valid_from=at).count() == 3


def test_save_variants_costs_three_statements_whatever_the_batch(store, django_assert_num_queries):
    product = ProductFactory(store=store)
    updated = [VariantFactory(product=product) for _ in range(4)]
    old = {v.pk: (v.price, v.compare_at_price) for v in updated}
    for v in updated:
        v.price += 1
    created = [Variant(store=store, product=product, sku=f"N-{i}", price=Decimal("5.00")) for i in range(4)]

    with django_assert_num_queries(3):
        bulk.save_variants(created=created, updated=updated, fields=FIELDS, old_prices=old, at=timezone.now())
    assert PriceHistory.objects.filter(variant__product=product).count() == 4 + 4 + 4


def test_nothing_to_save_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        bulk.save_variants(created=[], updated=[], fields=FIELDS, old_prices={}, at=timezone.now())


# --- set_stock: never below what paying shoppers hold --------------------------------------------


def test_set_stock_keeps_reserved_units_and_records_each_change(store):
    warehouse = main_warehouse(store)
    held, plain, unchanged, fresh = (VariantFactory(store=store) for _ in range(4))
    item = give_stock(held, 10, warehouse)
    StockReservationFactory(variant=held, stock_item=item, quantity=4)
    StockReservationFactory(  # expired: holds nothing
        variant=held, stock_item=item, quantity=5, expires_at=timezone.now() - timedelta(minutes=1)
    )
    give_stock(plain, 10, warehouse)
    give_stock(unchanged, 7, warehouse)
    StockMovement.objects.all().delete()
    Event.objects.all().delete()

    kept = bulk.set_stock(
        warehouse=warehouse,
        targets=[(held, 2), (plain, 3), (unchanged, 7), (fresh, 6)],
        reason=StockMovement.Reason.IMPORT,
        reference="sync:1",
        note="Hurtownia",
        store=store,
    )

    assert kept == [(0, 4)]  # the first target was raised to the 4 units held
    quantities = dict(StockItem.objects.filter(warehouse=warehouse).values_list("variant_id", "quantity"))
    assert quantities == {held.pk: 4, plain.pk: 3, unchanged.pk: 7, fresh.pk: 6}
    moves = {
        m.stock_item.variant_id: (m.delta, m.quantity_after, m.reason, m.reference, m.note)
        for m in StockMovement.objects.select_related("stock_item")
    }
    assert moves == {
        held.pk: (-6, 4, "import", "sync:1", "Hurtownia"),
        plain.pk: (-7, 3, "import", "sync:1", "Hurtownia"),
        fresh.pk: (6, 6, "import", "sync:1", "Hurtownia"),
    }
    event = Event.objects.get(type="stock.changed")
    assert event.payload["variant_ids"] == sorted([held.pk, plain.pk, fresh.pk])


def test_set_stock_without_a_change_records_no_movement_and_no_event(store):
    warehouse = main_warehouse(store)
    variant = VariantFactory(store=store)
    give_stock(variant, 5, warehouse)
    StockMovement.objects.all().delete()
    Event.objects.all().delete()

    assert (
        bulk.set_stock(
            warehouse=warehouse, targets=[(variant, 5)], reason="import", reference="r", note="", store=store
        )
        == []
    )
    assert not StockMovement.objects.exists()
    assert not Event.objects.filter(type="stock.changed").exists()


# --- products: hiding, refresh, slugs ------------------------------------------------------------


def test_hiding_the_last_active_variant_unpublishes_its_product(store):
    product = ProductFactory(store=store)
    cheap = VariantFactory(product=product, price=Decimal("10.00"))
    dear = VariantFactory(product=product, price=Decimal("30.00"))

    bulk.hide_variants(variants=[cheap], at=timezone.now())
    product.refresh_from_db()
    assert (product.is_published, product.min_price) == (True, Decimal("30.00"))

    bulk.hide_variants(variants=[dear], at=timezone.now())
    product.refresh_from_db()
    assert (product.is_published, product.min_price) == (False, None)
    assert not Variant.objects.filter(product=product, is_active=True).exists()


def test_bulk_refresh_stores_what_the_catalog_service_would(store):
    product = ProductFactory(store=store, name="Sukienka Łódź", brand="Marka")
    VariantFactory(product=product, sku="SUK-1", ean="5901234123457", price=Decimal("50.00"))
    VariantFactory(product=product, sku="SUK-2", price=Decimal("40.00"), is_active=False)
    Variant.objects.filter(product=product, sku="SUK-1").update(price=Decimal("45.00"))
    Product.objects.filter(pk=product.pk).update(search_text="", min_price=None)

    bulk.refresh_products_bulk(product_ids=[product.pk, product.pk])
    after_bulk = Product.objects.values_list("search_text", "min_price").get(pk=product.pk)
    services.refresh_products(product_ids=[product.pk])

    assert after_bulk == Product.objects.values_list("search_text", "min_price").get(pk=product.pk)
    assert after_bulk[1] == Decimal("45.00")  # the inactive, cheaper variant does not count
    assert "suk-2" in after_bulk[0].lower() and "lodz" in after_bulk[0].lower()


def test_assign_slugs_are_unique_in_the_store_even_for_names_without_letters(store):
    ProductFactory(store=store, name="Koszula", slug="koszula")
    batch = [
        (Product(store=store, name="Koszula"), "G-1"),
        (Product(store=store, name="Koszula"), "G-1"),
        (Product(store=store, name="!!!"), ""),
        (Product(store=store, name="Koszula"), ""),
    ]

    bulk.assign_slugs(store=store, products=batch)

    slugs = [p.slug for p, _hint in batch]
    assert slugs[0] == "koszula-g-1"
    assert slugs[2] == "produkt"
    assert len(set(slugs)) == 4 and "koszula" not in slugs
    assert all(slugs)
