"""VAT of gross-price documents per rate from the gross totals (art. 106e ust. 7-8 ustawy o VAT),
fees at the goods' rate, and gift cards outside VAT ("np") everywhere.

Over random carts (VAT 23/8/5/0/zw, vouchers, gift cards bought, shipping and a payment fee) the
order, its invoice, the correction of its cancellation, KSeF's FA(3) totals, the orders report,
the API representation and the accounting payloads agree to the grosz on gross, net and VAT per
rate."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from integrations.accounting import fakturownia, ifirma, pos
from integrations.accounting.documents import invoice_data
from orders import corrections, invoices, services, vat
from orders.api.serializers import OrderOutput
from orders.ksef import fa3
from orders.models import Order, PaymentMethod, Voucher
from reports.selectors.orders import OrderFilters, order_rows
from tests.catalog.factories import GiftCardProductFactory, ProductFactory, VariantFactory
from tests.orders.factories import GiftCardFactory, ShippingMethodFactory, VoucherFactory, ready_cart
from tests.orders.factories_after_sales import make_order
from tests.orders.test_pricing_properties import _basket

D = Decimal
RATES = ["23", "8", "5", "0", "zw"]


def expected_vat(gross: Decimal, code: str) -> Decimal:
    rate = vat.percent(code)
    return (gross * rate / (100 + rate)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


# --- The rule, without a database -------------------------------------------------------------------


amounts = st.integers(min_value=0, max_value=1_000_000).map(lambda g: D(g) / 100)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(amounts, st.sampled_from([*RATES, "np"])), max_size=12))
def test_per_rate_takes_the_vat_of_each_rate_from_its_gross_total(items):
    rows = vat.per_rate(items)
    assert len({r.vat_rate for r in rows}) == len(rows)
    for row in rows:
        gross = sum((g for g, code in items if code == row.vat_rate), D("0"))
        assert row.gross == gross
        assert row.vat == expected_vat(gross, row.vat_rate)
        assert row.net + row.vat == row.gross
    assert [vat.percent(r.vat_rate) for r in rows] == sorted(
        (vat.percent(r.vat_rate) for r in rows), reverse=True
    )


def test_three_positions_of_99_grosze_have_56_grosze_vat_not_57():
    """Per line, 3 × (0.99 → 0.80 + 0.19) gave 0.57 of VAT; the rate's gross 2.97 holds 0.56."""
    (row,) = vat.per_rate([(D("0.99"), "23")] * 3)
    assert (row.gross, row.net, row.vat) == (D("2.97"), D("2.41"), D("0.56"))


@pytest.mark.django_db
def test_invoice_of_three_small_lines_totals_vat_per_rate():
    from tests.shop.factories import StoreFactory

    store = StoreFactory()
    variants = [VariantFactory(store=store, price=D("0.99"), stock=5) for _ in range(3)]
    order = make_order(store=store, lines=[(v, 1) for v in variants], status=Order.Status.PAID)
    invoice = invoices.issue_invoice(order=order, render="never")
    summary = {
        s.vat_rate: s for s in invoices.vat_summary(invoices.invoice_lines(order, list(order.lines.all())))
    }
    standard = summary["23"]
    assert standard.vat == expected_vat(standard.gross, "23")
    assert standard.net + standard.vat == standard.gross
    assert invoice.total_gross == order.total
    assert invoice.total_vat == sum((s.vat for s in summary.values()), D("0"))
    assert invoice.total_net == order.total_net
    if standard.gross == D("2.97"):  # no shipping added by the factory
        assert invoice.total_vat == D("0.56")  # per line: 3 × 0.19 = 0.57


@pytest.mark.parametrize(
    ("goods", "default", "rate"),
    [
        ([(D("10"), "8")], "23", "8"),  # one rate: the fees take it
        ([(D("10"), "5"), (D("30"), "23"), (D("25"), "8")], "23", "23"),  # the largest gross
        ([(D("10"), "23"), (D("10"), "8")], "5", "23"),  # a tie: the higher rate
        ([(D("50"), "np"), (D("1"), "5")], "23", "5"),  # a gift card carries no rate
        ([(D("50"), "np")], "23", "23"),  # gift cards only: the default
        ([(D("50"), "np")], "8", "8"),
        ([(D("20"), "zw"), (D("5"), "23")], "23", "zw"),  # exempt goods: an exempt fee
        ([], "23", "23"),
    ],
)
def test_fees_take_the_vat_of_the_goods(goods, default, rate):
    assert vat.fee_rate(goods, default) == rate


def test_basket_net_is_per_rate_and_the_fees_take_the_goods_rate():
    spec = {
        "lines": [{"price": D("0.99"), "quantity": 1, "vat": "8", "gift_card": False}] * 3
        + [{"price": D("50.00"), "quantity": 1, "vat": "23", "gift_card": True}],
        "voucher": None,
        "gift_card": None,
        "shipping": D("12.99"),
        "fee": D("1.99"),
    }
    basket = _basket(spec)
    assert basket.fee_vat_rate == "8"  # not the shipping method's 23%, and the card is no 23%
    rows = vat.per_rate([(D("2.97") + D("12.99") + D("1.99"), "8"), (D("50.00"), "np")])
    assert basket.total_net == sum((r.net for r in rows), D("0"))
    assert basket.total_net == D("50.00") + D("17.95") - expected_vat(D("17.95"), "8")


def test_connectors_name_outside_vat_in_their_terms():
    assert fakturownia.tax_value("np") == "np"
    assert fakturownia.tax_value("zw") == "zw" and fakturownia.tax_value("8") == 8
    assert ifirma.vat_fields("np") == {"TypStawkiVat": "NP"}
    assert ifirma.vat_fields("zw") == {"TypStawkiVat": "ZW"}


# --- Random carts through every document ------------------------------------------------------------


line = st.fixed_dictionaries(
    {
        "price": st.one_of(st.integers(1, 300), st.integers(1, 50_000)).map(lambda g: D(g) / 100),
        "quantity": st.integers(min_value=1, max_value=4),
        "vat": st.sampled_from(RATES),
        "gift_card": st.sampled_from([False, False, False, True]),
    }
)
cart = st.fixed_dictionaries(
    {
        "lines": st.lists(line, min_size=1, max_size=5),
        "voucher": st.one_of(
            st.none(),
            st.tuples(st.just(Voucher.Kind.FIXED), st.integers(1, 20_000).map(lambda g: D(g) / 100)),
            st.tuples(st.just(Voucher.Kind.PERCENTAGE), st.integers(1, 100).map(D)),
        ),
        "gift_card": st.one_of(st.none(), st.integers(1, 20_000).map(lambda g: D(g) / 100)),
        "shipping": st.integers(min_value=0, max_value=3_000).map(lambda g: D(g) / 100),
        "fee": st.sampled_from([D("0"), D("1.99"), D("5.00")]),
    }
)


def _rows(rows) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {r.vat_rate: (D(r.gross), D(r.net), D(r.vat)) for r in rows}


@pytest.mark.django_db
@pytest.mark.usefixtures("en")
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example is an order
)
@given(spec=cart)
def test_every_document_agrees_per_rate_on_a_random_cart(spec, store):
    lines = []
    for s in spec["lines"]:
        if s["gift_card"]:
            variant = VariantFactory(
                product=GiftCardProductFactory(store=store, vat_rate="23"), price=s["price"]
            )
        else:
            variant = VariantFactory(
                product=ProductFactory(store=store, vat_rate=s["vat"]), price=s["price"], stock=50
            )
        lines.append((variant, s["quantity"]))
    shipping = ShippingMethodFactory(store=store, price=spec["shipping"], vat_rate="23")
    cart_ = ready_cart(store, lines, shipping=shipping)
    PaymentMethod.objects.filter(store=store).update(fee=spec["fee"])
    goods = any(not s["gift_card"] for s in spec["lines"])
    if spec["voucher"] and goods:
        kind, value = spec["voucher"]
        code = VoucherFactory(store=store, kind=kind, value=value)
        services.apply_code(cart=cart_, code=code.code, client_keys=["props"])
    if spec["gift_card"] and goods:
        card = GiftCardFactory(store=store, initial_balance=spec["gift_card"])
        services.apply_code(cart=cart_, code=card.code, client_keys=["props"])
    order = services.place_order(cart=cart_)
    Order.objects.filter(pk=order.pk).update(
        payment_status=Order.PaymentStatus.PAID, paid_at=timezone.now(), status=Order.Status.PAID
    )
    order.refresh_from_db()
    order_lines = list(order.lines.all())

    # The order: fees at the goods' rate, gift cards outside VAT, the net per rate.
    goods_items = [(ol.total - ol.discount, "np" if ol.is_gift_card else ol.vat_rate) for ol in order_lines]
    assert order.shipping_vat_rate == vat.fee_rate(goods_items, "23")
    fees = [(order.shipping_total, order.shipping_vat_rate), (order.payment_fee, order.shipping_vat_rate)]
    items = [*goods_items, *((g, c) for g, c in fees if g)]  # the invoice prints no zero fee
    expected = {}
    for gross, code in items:
        expected[code] = expected.get(code, D("0")) + gross
    expected = {c: (g, g - expected_vat(g, c), expected_vat(g, c)) for c, g in expected.items()}
    assert sum((g for g, _, _ in expected.values()), D("0")) == order.total
    assert order.total_net == sum((n for _, n, _ in expected.values()), D("0"))

    # The invoice: its table and totals.
    invoice = invoices.issue_invoice(order=order, render="never")
    printed = invoices.invoice_lines(order, order_lines)
    summary = invoices.vat_summary(printed)
    assert _rows(summary) == expected
    assert invoice.total_gross == order.total
    assert invoice.total_net == order.total_net
    assert invoice.total_vat == order.total - order.total_net

    # KSeF FA(3): P_13_x / P_14_x are the invoice's table.
    doc = fa3.document_for_invoice(invoice)
    assert {t.vat_rate: (t.net, t.vat) for t in doc.totals} == {
        c: (n, v) for c, (_, n, v) in expected.items()
    }

    # The correction of a full cancellation takes every rate back to zero, to the grosz.
    correction = corrections.correct_cancellation(order, render="never")
    assert correction is not None
    assert _rows(corrections.rate_differences(correction)) == {
        c: (-g, -n, -v)
        for c, (g, n, v) in expected.items()
        if g  # a rate at zero changes nothing
    }
    assert (correction.total_gross, correction.total_net, correction.total_vat) == (
        -invoice.total_gross,
        -invoice.total_net,
        -invoice.total_vat,
    )
    kor = fa3.document_for_correction(correction)
    assert {t.vat_rate: (t.net, t.vat) for t in kor.totals} == {
        c: (-n, -v) for c, (g, n, v) in expected.items() if g
    }

    # The orders report and the API.
    today = timezone.localdate(timezone.now(), store.zone)
    (row,) = [
        r
        for r in order_rows(
            store=store, filters=OrderFilters(date_from=today - timedelta(days=1), date_to=today)
        )
        if r["number"] == order.number
    ]
    assert D(row["total"]) == invoice.total_gross
    data = OrderOutput(order, context={"request": RequestFactory().get("/")}).data
    assert D(data["total"]) == invoice.total_gross and D(data["total_net"]) == invoice.total_net

    # The accounting payloads: the same positions, gift cards as "np", the same table.
    document = invoice_data(order)
    assert _rows(document.rate_totals()) == expected
    assert {p.vat_rate for p in document.positions if p.vat_rate == "np"} == (
        {"np"} if any(ol.is_gift_card for ol in order_lines) else set()
    )
    payload = pos.receipt_payload(document, ptu=pos.DEFAULT_PTU, name_length=40, store=store)
    assert {s["vat_rate"]: (D(s["gross"]), D(s["net"]), D(s["vat"])) for s in payload["vat_summary"]} == {
        c: t for c, t in expected.items() if c != "np"
    }
    assert all(not item["fiscal"] for item in payload["lines"] if item["vat_rate"] == "np")
    for p in document.positions:
        if p.vat_rate == "np":
            assert fakturownia.tax_value(p.vat_rate) == "np"
            assert ifirma.vat_fields(p.vat_rate)["TypStawkiVat"] == "NP"
