"""orders.pricing: pure money rules."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import ShippingMethod, Voucher
from orders.pricing import net_of, price_basket
from tests.catalog.factories import GiftCardProductFactory, VariantFactory
from tests.orders.factories import (
    GiftCardFactory,
    PaymentMethodFactory,
    ShippingMethodFactory,
    ShippingRateFactory,
    VoucherFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal


def price(store, lines, **kw):
    return price_basket(lines=lines, currency="PLN", store_id=store.pk, now=timezone.now(), **kw)


def test_line_totals_round_half_up_once_per_line(store):
    v = VariantFactory(store=store, price=D("0.35"))
    b = price(store, [(v, 3)])
    assert b.lines[0].total == D("1.05") and b.subtotal == D("1.05")
    assert net_of(D("1.23"), "23") == D("1.00")
    assert net_of(D("10.00"), "zw") == D("10.00")


def test_percentage_voucher_rounds_per_line_and_skips_gift_cards(store):
    a = VariantFactory(store=store, price=D("10.05"))
    b = VariantFactory(store=store, price=D("3.33"))
    card = VariantFactory(product=GiftCardProductFactory(store=store), price=D("100.00"))
    v = VoucherFactory(store=store, kind=Voucher.Kind.PERCENTAGE, value=D("15"))
    basket = price(store, [(a, 1), (b, 1), (card, 1)], voucher=v)
    assert [line.discount for line in basket.lines] == [D("1.51"), D("0.50"), D("0")]
    assert basket.discount == D("2.01")
    assert basket.total == D("113.38") - D("2.01")


def test_fixed_voucher_is_spread_over_lines_and_adds_up(store):
    a = VariantFactory(store=store, price=D("10.00"))
    b = VariantFactory(store=store, price=D("20.00"))
    c = VariantFactory(store=store, price=D("70.00"))
    v = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("10.01"))
    basket = price(store, [(a, 1), (b, 1), (c, 1)], voucher=v)
    assert sum(line.discount for line in basket.lines) == D("10.01") == basket.discount
    big = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("500"))
    assert price(store, [(a, 1)], voucher=big).total == D("0.00")  # never below zero


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("valid_from", timedelta(days=1), "not valid yet"),
        ("valid_until", timedelta(days=-1), "expired"),
        ("min_basket", D("500"), "at least"),
        ("is_active", False, "not valid"),
    ],
)
def test_voucher_problems(store, field, value, message):
    item = VariantFactory(store=store, price=D("50"))
    if isinstance(value, timedelta):
        value = timezone.now() + value
    v = VoucherFactory(store=store, **{field: value})
    basket = price(store, [(item, 1)], voucher=v)
    assert message in basket.voucher_problem and basket.discount == 0


def test_voucher_limits(store):
    item = VariantFactory(store=store, price=D("50"))
    used_up = VoucherFactory(store=store, usage_limit=1)
    used_up.used_count = 1
    assert "already been used" in price(store, [(item, 1)], voucher=used_up).voucher_problem
    per_customer = VoucherFactory(store=store, usage_limit_per_customer=1)
    b = price(store, [(item, 1)], voucher=per_customer, voucher_customer_uses=1)
    assert "already used" in b.voucher_problem


def test_shipping_rules_thresholds_and_free_shipping_voucher(store):
    item = VariantFactory(store=store, price=D("50"), weight_grams=3000)
    courier = ShippingMethodFactory(store=store, price=D("14.99"), free_shipping_threshold=D("200"))
    ShippingRateFactory(method=courier, min_weight_grams=2000, price=D("24.99"))
    light = ShippingMethodFactory(store=store, code="light", price=D("9.99"), max_weight_grams=1000)
    basket = price(store, [(item, 1)], methods=[courier, light], shipping_method=courier)
    assert basket.shipping == D("24.99")  # heavy parcel rule
    assert [o.available for o in basket.shipping_options] == [True, False]
    assert basket.free_shipping_hint.missing_for_free == D("150")
    assert "150,00\xa0zł" in basket.free_shipping_message()
    rich = price(store, [(item, 4)], methods=[courier], shipping_method=courier)
    assert rich.shipping == 0 and rich.free_shipping_hint is None
    free = VoucherFactory(store=store, kind=Voucher.Kind.FREE_SHIPPING)
    assert price(store, [(item, 1)], methods=[courier], shipping_method=courier, voucher=free).shipping == 0


def test_gift_card_pays_goods_and_shipping_but_not_other_gift_cards(store):
    item = VariantFactory(store=store, price=D("40"))
    card_product = VariantFactory(product=GiftCardProductFactory(store=store), price=D("100"))
    courier = ShippingMethodFactory(store=store, price=D("10"))
    card = GiftCardFactory(store=store, initial_balance=D("500"))
    cod = PaymentMethodFactory(store=store, provider="cod", fee=D("5"))
    basket = price(
        store,
        [(item, 1), (card_product, 1)],
        methods=[courier],
        shipping_method=courier,
        gift_card=card,
        payment_method=cod,
    )
    assert basket.gift_card_amount == D("50")
    assert basket.payment_fee == D("5") and basket.amount_due == D("105")
    covered = price(
        store, [(item, 1)], methods=[courier], shipping_method=courier, gift_card=card, payment_method=cod
    )
    assert covered.amount_due == 0 and covered.payment_fee == 0


def test_unavailable_method_costs_nothing_and_is_reported(store):
    item = VariantFactory(store=store, price=D("10"))
    method = ShippingMethodFactory(store=store, min_order_value=D("100"), kind=ShippingMethod.Kind.COURIER)
    basket = price(store, [(item, 1)], methods=[method], shipping_method=method)
    assert basket.shipping_option.available is False and "Available from" in basket.shipping_option.reason
