"""The availability rule has three forms: Python (``catalog.stock``, the product page, the cart,
checkout), an ORM expression (the admin's stock filter) and hand-written SQL (listings, the
"available only" filter). They must give the same answer for every product; each case below
also states the answer, so agreeing on a wrong one fails too."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from catalog import availability, stock
from catalog.models import Product, Variant, Warehouse
from tests.catalog.factories import (
    PreorderVariantFactory,
    ProductFactory,
    SetProductFactory,
    StockReservationFactory,
    VariantFactory,
    give_stock,
    make_set,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _hold(variant, quantity, *, expired=False):
    StockReservationFactory(
        variant=variant,
        quantity=quantity,
        expires_at=NOW + (timedelta(minutes=-1) if expired else timedelta(minutes=15)),
    )


def _inactive(variant):
    Variant.objects.filter(pk=variant.pk).update(is_active=False)
    return variant


# Each builder returns the product to ask about, and the answer every form must give.
def tracked_in_stock(store):
    return VariantFactory(store=store, stock=3).product, True


def tracked_sold_out(store):
    return VariantFactory(store=store, stock=0).product, False


def tracked_fully_reserved(store):
    v = VariantFactory(store=store, stock=2)
    _hold(v, 2)
    return v.product, False


def tracked_partly_reserved(store):
    v = VariantFactory(store=store, stock=3)
    _hold(v, 2)
    return v.product, True


def tracked_reservation_expired(store):
    v = VariantFactory(store=store, stock=2)
    _hold(v, 2, expired=True)
    return v.product, True


def tracked_only_in_inactive_warehouse(store):
    v = VariantFactory(store=store)
    off = Warehouse.objects.create(store=store, code="off", name="Off", is_active=False)
    give_stock(v, 5, warehouse=off)
    return v.product, False


def untracked_without_stock(store):
    return VariantFactory(store=store, track_stock=False).product, True


def backorder_without_stock(store):
    return VariantFactory(store=store, backorder="allow").product, True


def backorder_fully_reserved(store):
    v = VariantFactory(store=store, backorder="allow", stock=1)
    _hold(v, 1)
    return v.product, True


def preorder_open(store):
    return PreorderVariantFactory(store=store, preorder_limit=5).product, True


def preorder_full_by_reservations(store):
    v = PreorderVariantFactory(store=store, preorder_limit=2)
    _hold(v, 2)
    return v.product, False


def preorder_full_by_sales(store):
    v = PreorderVariantFactory(store=store, preorder_limit=2)
    Variant.objects.filter(pk=v.pk).update(preorder_sold=2)
    return v.product, False


def preorder_reservation_expired(store):
    v = PreorderVariantFactory(store=store, preorder_limit=2)
    _hold(v, 2, expired=True)
    return v.product, True


def preorder_unlimited(store):
    return PreorderVariantFactory(store=store, preorder_limit=None).product, True


def preorder_ignores_the_shelf(store):
    return PreorderVariantFactory(store=store, preorder_limit=1, track_stock=True, stock=0).product, True


def inactive_variant_in_stock(store):
    return _inactive(VariantFactory(store=store, stock=5)).product, False


def inactive_untracked_variant(store):
    return _inactive(VariantFactory(store=store, track_stock=False)).product, False


def only_the_inactive_variant_has_stock(store):
    product = ProductFactory(store=store)
    VariantFactory(product=product, stock=0)
    _inactive(VariantFactory(product=product, stock=4))
    return product, False


def one_of_two_variants_in_stock(store):
    product = ProductFactory(store=store)
    VariantFactory(product=product, stock=0)
    VariantFactory(product=product, stock=1)
    return product, True


def product_without_variants(store):
    return ProductFactory(store=store), False


def set_with_enough_components(store):
    a, b = VariantFactory(store=store, stock=4), VariantFactory(store=store, stock=1)
    return make_set(store=store, components=[(a, 2), (b, 1)]).product, True


def set_whose_component_ran_out(store):
    c = VariantFactory(store=store, stock=1)
    return make_set(store=store, components=[(c, 2)]).product, False


def set_whose_component_is_reserved(store):
    c = VariantFactory(store=store, stock=2)
    _hold(c, 1)
    return make_set(store=store, components=[(c, 2)]).product, False


def set_whose_component_hold_expired(store):
    c = VariantFactory(store=store, stock=2)
    _hold(c, 1, expired=True)
    return make_set(store=store, components=[(c, 2)]).product, True


def set_with_untracked_component(store):
    c = VariantFactory(store=store, track_stock=False)
    return make_set(store=store, components=[(c, 3)]).product, True


def set_with_backorder_component_off_the_shelf(store):
    c = VariantFactory(store=store, backorder="allow", stock=0)
    return make_set(store=store, components=[(c, 1)]).product, False


def set_with_backorder_component_on_the_shelf(store):
    c = VariantFactory(store=store, backorder="allow", stock=2)
    return make_set(store=store, components=[(c, 2)]).product, True


def set_with_open_preorder_component(store):
    c = PreorderVariantFactory(store=store, preorder_limit=3)
    return make_set(store=store, components=[(c, 3)]).product, True


def set_with_full_preorder_component(store):
    c = PreorderVariantFactory(store=store, preorder_limit=3)
    Variant.objects.filter(pk=c.pk).update(preorder_sold=2)
    return make_set(store=store, components=[(c, 2)]).product, False


def set_with_inactive_component(store):
    c = VariantFactory(store=store, stock=10)
    variant = make_set(store=store, components=[(c, 1)])
    _inactive(c)
    return variant.product, False


def set_with_inactive_untracked_component(store):
    c = VariantFactory(store=store, track_stock=False)
    variant = make_set(store=store, components=[(c, 1)])
    _inactive(c)
    return variant.product, False


def set_without_components(store):
    product = SetProductFactory(store=store)
    VariantFactory(product=product, track_stock=False)
    return product, False


def set_whose_own_variant_is_inactive(store):
    c = VariantFactory(store=store, stock=5)
    return _inactive(make_set(store=store, components=[(c, 1)])).product, False


CASES = [
    tracked_in_stock,
    tracked_sold_out,
    tracked_fully_reserved,
    tracked_partly_reserved,
    tracked_reservation_expired,
    tracked_only_in_inactive_warehouse,
    untracked_without_stock,
    backorder_without_stock,
    backorder_fully_reserved,
    preorder_open,
    preorder_full_by_reservations,
    preorder_full_by_sales,
    preorder_reservation_expired,
    preorder_unlimited,
    preorder_ignores_the_shelf,
    inactive_variant_in_stock,
    inactive_untracked_variant,
    only_the_inactive_variant_has_stock,
    one_of_two_variants_in_stock,
    product_without_variants,
    set_with_enough_components,
    set_whose_component_ran_out,
    set_whose_component_is_reserved,
    set_whose_component_hold_expired,
    set_with_untracked_component,
    set_with_backorder_component_off_the_shelf,
    set_with_backorder_component_on_the_shelf,
    set_with_open_preorder_component,
    set_with_full_preorder_component,
    set_with_inactive_component,
    set_with_inactive_untracked_component,
    set_without_components,
    set_whose_own_variant_is_inactive,
]


def _python(product: Product) -> bool:
    """The Python rule, per product: at least one active variant is sellable."""
    variants = list(Variant.objects.filter(product=product, is_active=True).select_related("product"))
    return any(a.sellable for a in stock.availability_map(variants).values())


def _answers(product: Product) -> dict[str, bool]:
    row = (
        Product.objects.filter(pk=product.pk)
        .annotate(orm=availability.available_expression(), raw=availability.available_sql_annotation())
        .values("orm", "raw")
        .get()
    )
    return {
        "python": _python(product),
        "orm": row["orm"],
        "raw_annotation": row["raw"],
        "raw_ids": product.pk in availability.available_product_ids([product.pk]),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_every_form_of_the_rule_gives_the_same_answer(store, case):
    with time_machine.travel(NOW, tick=False):
        product, expected = case(store)
        answers = _answers(product)
    assert answers == dict.fromkeys(answers, expected)


def test_one_query_answers_for_many_products(store, django_assert_num_queries):
    with time_machine.travel(NOW, tick=False):
        built = [case(store) for case in CASES]
        ids = [product.pk for product, _expected in built]
        with django_assert_num_queries(1):
            found = availability.available_product_ids(ids)
    assert found == {product.pk for product, expected in built if expected}
    assert availability.available_product_ids([]) == set()


def test_the_answer_changes_when_a_hold_expires(store):
    with time_machine.travel(NOW, tick=False) as clock:
        v = VariantFactory(store=store, stock=1)
        _hold(v, 1)
        assert _answers(v.product) == dict.fromkeys(_answers(v.product), False)
        clock.shift(timedelta(minutes=16))
        assert _answers(v.product) == dict.fromkeys(_answers(v.product), True)
