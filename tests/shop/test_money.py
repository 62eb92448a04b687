"""One money format for shoppers: the storefront filter, the order pages and e-mails and the cart
reminders all print amounts through ``shop.money.format_money``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template

from catalog.templatetags import catalog_tags
from orders import formatting
from orders.templatetags import orders_tags
from recovery import templating
from shop.money import format_money, from_grosze, round_money, to_grosze


@pytest.mark.parametrize(
    ("value", "currency", "printed"),
    [
        (Decimal("1234.5"), "PLN", "1\xa0234,50\xa0zł"),
        (Decimal("-38.385"), "PLN", "-38,39\xa0zł"),
        (Decimal("0"), "pln", "0,00\xa0zł"),
        ("1234567.891", "EUR", "1\xa0234\xa0567,89\xa0€"),
        (None, "PLN", ""),
        ("garbage", "PLN", ""),
    ],
)
def test_every_money_filter_prints_the_same(value, currency, printed):
    assert format_money(value, currency) == printed
    assert catalog_tags.money(value, currency) == printed
    assert orders_tags.money(value, currency) == printed
    assert templating.money(value, currency) == printed
    assert (
        Template("{% load catalog_tags %}{{ v|money:c }}").render(Context({"v": value, "c": currency}))
        == printed
    )
    assert templating.render("{{ v|money:c }}", {"v": value, "c": currency}, autoescape=True) == printed


def test_there_is_one_implementation():
    assert formatting.format_money is format_money
    assert not hasattr(catalog_tags, "CURRENCY_SYMBOLS")


# --- one module rounds, splits and converts money ------------------------------------------


def test_round_money_is_half_up_not_bankers():
    assert round_money(Decimal("0.125")) == Decimal("0.13")  # half-to-even would give 0.12
    assert round_money(Decimal("-0.125")) == Decimal("-0.13")
    assert round_money("2.675") == Decimal("2.68")


@pytest.mark.parametrize(
    ("amount", "grosze"),
    [(Decimal("12.345"), 1235), (Decimal("0.005"), 1), (Decimal("0"), 0), ("99.99", 9999), (10, 1000)],
)
def test_grosze_round_trip(amount, grosze):
    assert to_grosze(amount) == grosze
    assert from_grosze(grosze) == round_money(amount)


@pytest.mark.parametrize("garbage", ["12.5", "abc", 12.5, True, None])
def test_from_grosze_refuses_what_is_not_a_whole_number_of_grosze(garbage):
    with pytest.raises((ValueError, TypeError)):
        from_grosze(garbage)


def test_gateways_and_carriers_convert_through_shop_money():
    from orders.carriers import apaczka
    from orders.payments import gateway_client

    assert gateway_client.to_minor is to_grosze and gateway_client.from_minor is from_grosze
    assert apaczka.to_grosze is to_grosze and not hasattr(apaczka, "grosze")


def test_reports_and_charts_print_money_with_the_same_function():
    from shop import charts, numbers

    assert numbers.format_money is format_money and charts.format_money is format_money
    assert format_money(Decimal("1234.5")) == numbers.format_number(Decimal("1234.5"), 2) + "\xa0zł"
    assert format_money(Decimal("-0.001")) == "0,00\xa0zł"  # never "-0,00"
    assert format_money("Infinity") == "" and format_money("NaN") == ""


# Non-money quantities that may round on their own, each with its reason (none yet but the module).
QUANTIZE_ALLOWED = {
    "shop/money.py": "the module itself",
}
APPS = ("shop", "catalog", "orders", "recovery", "integrations", "reports")


def test_nothing_but_shop_money_rounds_money():
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if "/migrations/" in relative or relative in QUANTIZE_ALLOWED:
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [
                f"{relative}:{n}" for n, line in enumerate(text.splitlines(), 1) if ".quantize(" in line
            ]
    assert offenders == [], "round with shop.money (round_money, round_to, floor_money, allocate, to_grosze)"
    for allowed in QUANTIZE_ALLOWED:
        assert (root / allowed).exists(), f"stale allow-list entry {allowed}"
