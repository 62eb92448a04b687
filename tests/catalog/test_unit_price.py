"""Unit prices (Polish price-information rules): the rule, the product page, the cards, the admin."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from catalog.admin_forms import VariantForm
from catalog.units import google_measures, unit_price
from tests.catalog.factories import CategoryFactory, VariantFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("price", "quantity", "unit", "amount", "base"),
    [
        ("6.49", "500", "g", "12.98", "kg"),
        ("3.99", "330", "ml", "12.09", "l"),  # 12.0909… half-up
        ("19.99", "2", "l", "10.00", "l"),  # 9.995 half-up to the grosz
        ("45.00", "250", "cm", "18.00", "m"),
        ("120.00", "2.5", "m2", "48.00", "m2"),
        ("24.00", "6", "szt", "4.00", "szt"),
        ("0.99", "0.001", "kg", "990.00", "kg"),
    ],
)
def test_unit_price_rule(price, quantity, unit, amount, base):
    found = unit_price(Decimal(price), Decimal(quantity), unit)
    assert found.amount == Decimal(amount) and found.base_unit == base


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [(None, "kg"), ("1", ""), ("1", "kg"), ("1000", "g"), ("1", "szt"), ("0", "kg"), ("x", "kg")],
)
def test_no_unit_price_when_nothing_to_add(quantity, unit):
    assert unit_price(Decimal("10.00"), quantity, unit) is None


def test_label_uses_the_money_format():
    assert unit_price(Decimal("1299.00"), Decimal("100"), "g").label("PLN") == (
        f"12{NBSP}990,00{NBSP}zł{NBSP}/{NBSP}1{NBSP}kg"
    )


def test_google_measures():
    assert google_measures(Decimal("500.000"), "g") == ("500g", "1kg")
    assert google_measures(Decimal("1.500"), "l") == ("1.5l", "1l")
    assert google_measures(Decimal("6"), "szt") == ("6ct", "1ct")
    assert google_measures(Decimal("2"), "m2") == ("2sqm", "1sqm")
    assert google_measures(None, "g") is None


def test_product_page_and_card_show_the_unit_price(client, store):
    category = CategoryFactory(store=store, name="Kawa", slug="kawa")
    VariantFactory(
        store=store,
        product__name="Kawa ziarnista",
        product__slug="kawa-ziarnista",
        product__category=category,
        price=Decimal("32.49"),
        net_quantity=Decimal("250"),
        unit="g",
        stock=5,
    )
    expected = f"(129,96{NBSP}zł{NBSP}/{NBSP}1{NBSP}kg)"
    page = client.get("/p/kawa-ziarnista/").content.decode()
    assert f'<span class="unit-price" data-testid="unit-price">{expected}</span>' in page
    listing = client.get("/k/kawa/").content.decode()
    assert expected in listing


def test_the_cart_shows_the_unit_price_of_a_line(client, store):
    variant = VariantFactory(
        store=store, price=Decimal("32.49"), net_quantity=Decimal("250"), unit="g", stock=5
    )
    plain = VariantFactory(store=store, price=Decimal("10.00"), stock=5)
    for v in (variant, plain):
        answer = client.post("/koszyk/dodaj/", {"variant": v.pk, "quantity": 1})
        assert answer.status_code == 302
    page = client.get("/koszyk/").content.decode()
    assert page.count('data-testid="unit-price"') == 1
    assert f"(129,96{NBSP}zł{NBSP}/{NBSP}1{NBSP}kg)" in page


def test_database_refuses_a_unit_without_quantity(store):
    variant = VariantFactory(store=store)
    variant.unit = "kg"
    with pytest.raises(IntegrityError):
        variant.save()


def test_variant_form_explains_half_filled_unit(store):
    variant = VariantFactory(store=store)
    base = {
        "sku": variant.sku,
        "price": "10.00",
        "weight_grams": "0",
        "position": "0",
        "backorder": "deny",
        "low_stock_threshold": "3",
    }
    form = VariantForm(data={**base, "unit": "kg"}, instance=variant)
    assert not form.is_valid() and "net_quantity" in form.errors
    form = VariantForm(data={**base, "net_quantity": "0.5"}, instance=variant)
    assert not form.is_valid() and "unit" in form.errors
    form = VariantForm(data={**base, "net_quantity": "-1", "unit": "kg"}, instance=variant)
    assert not form.is_valid() and "net_quantity" in form.errors
    form = VariantForm(data={**base, "net_quantity": "0.5", "unit": "kg"}, instance=variant)
    assert form.is_valid(), form.errors
