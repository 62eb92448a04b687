"""One money format for shoppers: the storefront filter, the order pages and e-mails and the cart
reminders all print amounts through ``shop.money.format_money``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from catalog.templatetags import catalog_tags
from orders import formatting
from orders.templatetags import orders_tags
from recovery import templating
from shop.money import format_money


@pytest.mark.parametrize(
    ("value", "currency", "printed"),
    [
        (Decimal("1234.5"), "PLN", "1 234,50 zł"),
        (Decimal("-38.385"), "PLN", "-38,39 zł"),
        (Decimal("0"), "pln", "0,00 zł"),
        ("1234567.891", "EUR", "1 234 567,89 €"),
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
