"""Property-based tests of basket pricing over random carts: mixed VAT rates (23/8/5/0),
quantities, fixed, percent and free-shipping vouchers, gift cards (bought and spent), shipping
and a payment fee. The order's lines add up to its total to the grosz, a voucher gives exactly
its value, no line discount is negative or above its line, and placing such a cart never fails."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Product, Variant
from orders import services
from orders.models import GiftCard, PaymentMethod, ShippingMethod, Voucher
from orders.pricing import price_basket
from shop.money import round_money
from tests.catalog.factories import GiftCardProductFactory, ProductFactory, VariantFactory
from tests.orders.factories import GiftCardFactory, ShippingMethodFactory, VoucherFactory, ready_cart

D = Decimal
STORE_ID = 1
RATES = ["23", "8", "5", "0"]

# Small lines (a few grosze) beside big ones are where a proportional split goes wrong.
grosze = st.one_of(st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=50_000)).map(
    lambda g: D(g) / 100
)
line = st.fixed_dictionaries(
    {
        "price": grosze,
        "quantity": st.integers(min_value=1, max_value=7),
        "vat": st.sampled_from(RATES),
        "gift_card": st.sampled_from([False, False, False, True]),
    }
)
# Many lines of a few grosze: the rounding of proportional shares adds up past a small last line.
cheap_line = st.fixed_dictionaries(
    {
        "price": st.integers(min_value=1, max_value=40).map(lambda g: D(g) / 100),
        "quantity": st.just(1),
        "vat": st.sampled_from(RATES),
        "gift_card": st.just(False),
    }
)
SHARE = "share"  # a fixed voucher worth this per mille of the eligible goods (set in fixed_value)
voucher = st.one_of(
    st.none(),
    st.tuples(
        st.just(Voucher.Kind.FIXED), st.integers(min_value=1, max_value=200_000).map(lambda g: D(g) / 100)
    ),
    st.tuples(st.just(SHARE), st.integers(min_value=1, max_value=1000).map(D)),
    st.tuples(st.just(Voucher.Kind.PERCENTAGE), st.integers(min_value=1, max_value=100).map(D)),
    st.tuples(st.just(Voucher.Kind.FREE_SHIPPING), st.just(D("0"))),
)


def fixed_value(spec) -> tuple[str, Decimal]:
    """The voucher's kind and value; a "share" is a fixed voucher near the eligible total."""
    kind, value = spec["voucher"]
    if kind != SHARE:
        return kind, value
    eligible = sum(
        (round_money(s["price"] * s["quantity"]) for s in spec["lines"] if not s["gift_card"]), D(0)
    )
    return Voucher.Kind.FIXED, max(D("0.01"), round_money(eligible * value / 1000))


cart = st.fixed_dictionaries(
    {
        "lines": st.one_of(
            st.lists(line, min_size=1, max_size=6), st.lists(cheap_line, min_size=2, max_size=8)
        ),
        "voucher": voucher,
        "gift_card": st.one_of(st.none(), grosze),
        "shipping": st.integers(min_value=0, max_value=3_000).map(lambda g: D(g) / 100),
        "fee": st.sampled_from([D("0"), D("1.99"), D("5.00")]),
    }
)
_pks = count(1)


def _variant(spec) -> Variant:
    kind = Product.Kind.GIFT_CARD if spec["gift_card"] else Product.Kind.STANDARD
    product = Product(pk=next(_pks), kind=kind, vat_rate="23" if spec["gift_card"] else spec["vat"])
    return Variant(pk=next(_pks), product=product, price=spec["price"], weight_grams=100)


def _basket(spec):
    method = ShippingMethod(pk=next(_pks), store_id=STORE_ID, price=spec["shipping"], vat_rate="23")
    method._prefetched_objects_cache = {"rates": []}
    code = None
    if spec["voucher"]:
        kind, value = fixed_value(spec)
        code = Voucher(pk=next(_pks), store_id=STORE_ID, kind=kind, value=value, is_active=True)
    card = (
        GiftCard(pk=next(_pks), store_id=STORE_ID, balance=spec["gift_card"], is_active=True)
        if spec["gift_card"]
        else None
    )
    return price_basket(
        lines=[(_variant(s), s["quantity"]) for s in spec["lines"]],
        currency="PLN",
        store_id=STORE_ID,
        now=timezone.now(),
        methods=[method],
        shipping_method=method,
        payment_method=PaymentMethod(pk=next(_pks), fee=spec["fee"]),
        voucher=code,
        gift_card=card,
    )


@settings(max_examples=1000, deadline=None)
@given(cart)
def test_basket_adds_up_to_the_grosz(spec):
    basket = _basket(spec)
    eligible = [p for p in basket.lines if not p.is_gift_card]
    eligible_total = sum((p.total for p in eligible), D("0"))
    for p in basket.lines:
        assert p.total == round_money(p.unit_price * p.quantity)
        assert D("0") <= p.discount <= p.total
        assert p.net <= p.total_after_discount
        if p.is_gift_card:
            assert p.discount == 0  # vouchers never discount gift cards
    if basket.voucher is not None and basket.voucher.kind == Voucher.Kind.FIXED:
        assert basket.discount == min(basket.voucher.value, eligible_total)
    if basket.voucher is None or basket.voucher.kind == Voucher.Kind.FREE_SHIPPING:
        assert basket.discount == 0
    assert basket.discount == sum((p.discount for p in basket.lines), D("0"))
    assert basket.total == (
        sum((p.total_after_discount for p in basket.lines), D("0")) + basket.shipping + basket.payment_fee
    )
    if basket.free_shipping_by_voucher:
        assert basket.shipping == 0
    assert D("0") <= basket.gift_card_amount <= (spec["gift_card"] or D("0"))
    assert basket.amount_due >= 0


@pytest.mark.django_db
@pytest.mark.usefixtures("en")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=cart)
def test_place_order_never_fails_on_a_random_cart_and_the_order_adds_up(spec, store):
    lines = []
    for s in spec["lines"]:
        if s["gift_card"]:
            variant = VariantFactory(product=GiftCardProductFactory(store=store), price=s["price"])
        else:
            variant = VariantFactory(
                product=ProductFactory(store=store, vat_rate=s["vat"]), price=s["price"], stock=50
            )
        lines.append((variant, s["quantity"]))
    shipping = ShippingMethodFactory(store=store, price=spec["shipping"])
    cart_ = ready_cart(store, lines, shipping=shipping)
    goods = any(not s["gift_card"] for s in spec["lines"])  # codes do not apply to gift cards alone
    if spec["voucher"] and goods:
        kind, value = fixed_value(spec)
        code = VoucherFactory(store=store, kind=kind, value=value)
        services.apply_code(cart=cart_, code=code.code, client_keys=["props"])
    if spec["gift_card"] and goods:
        card = GiftCardFactory(store=store, initial_balance=spec["gift_card"])
        services.apply_code(cart=cart_, code=card.code, client_keys=["props"])
    order = services.place_order(cart=cart_)
    order_lines = list(order.lines.all())
    for ol in order_lines:
        assert D("0") <= ol.discount <= ol.total
        assert ol.total_net + ol.total_vat == ol.total - ol.discount
    assert order.discount_total == sum((ol.discount for ol in order_lines), D("0"))
    assert order.total == (
        sum((ol.total - ol.discount for ol in order_lines), D("0")) + order.shipping_total + order.payment_fee
    )
    if spec["voucher"] and goods and fixed_value(spec)[0] == Voucher.Kind.FIXED:
        eligible = sum((ol.total for ol in order_lines if ol.product_kind != Product.Kind.GIFT_CARD), D("0"))
        assert order.discount_total == min(fixed_value(spec)[1], eligible)
