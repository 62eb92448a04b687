"""Correcting invoices (faktury korygujące): one per accepted return, refund or cancellation of an
invoiced order, numbered in their own series per seller, with before/after per position, a PDF in
Polish, an e-mail with the PDF, and the FA(3) KOR variant for KSeF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from lxml import etree
from pypdf import PdfReader

from orders import corrections, invoices, returns
from orders.ksef import fa3
from orders.models import Invoice, Order, OrderEmail, OrderNote
from orders.services.workflow import change_status
from shop import events
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture(autouse=True)
def _december():
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def seller():
    return StoreFactory(company_name="Koszyk Sp. z o.o.", company_tax_id="5260001246")


def order_of(store, status=Order.Status.DELIVERED, **kwargs):
    """2 × shirt 123.00 (23%) + 1 × book 49.99 (5%), shipping 15.00, invoice issued."""
    shirt = VariantFactory(store=store, price=Decimal("123.00"), stock=10, product__name="Koszulka")
    book = VariantFactory(store=store, price=Decimal("49.99"), product__vat_rate="5", stock=10)
    kwargs.setdefault(
        "billing_address", AddressFactory(company_name="Firma ABC Sp. z o.o.", tax_id="5260250274")
    )
    order = make_order(store=store, lines=[(shirt, 2), (book, 1)], status=status, **kwargs)
    invoice = invoices.issue_invoice(order=order, render="never")
    return order, invoice, shirt, book


def line_of(order, variant):
    return order.lines.get(variant=variant)


def pdf_text(invoice) -> str:
    invoice.refresh_from_db()
    reader = PdfReader(io.BytesIO(invoices.invoice_pdf(invoice)))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_accepted_return_issues_one_correction_with_before_and_after(
    seller, django_capture_on_commit_callbacks, mailoutbox
):
    order, invoice, shirt, _book = order_of(seller)
    shirt_line = line_of(order, shirt)
    ret = returns.request_return(order=order, items={shirt_line.pk: 1}, reason="withdrawal")
    with django_capture_on_commit_callbacks(execute=True):
        returns.accept_return(return_request=ret)
    correction = Invoice.objects.get(kind=Invoice.Kind.CORRECTION)
    assert correction.number == "KOR/2026/12/0001"
    assert correction.corrects == invoice and correction.return_request == ret
    assert correction.correction_key == f"return:{ret.pk}"
    [row] = correction.lines
    assert row["key"] == f"line:{shirt_line.pk}"
    assert row["before"] == {"quantity": 2, "net": "200.00", "vat": "46.00", "gross": "246.00"}
    assert row["after"] == {"quantity": 1, "net": "100.00", "vat": "23.00", "gross": "123.00"}
    assert row["diff"] == {"quantity": -1, "net": "-100.00", "vat": "-23.00", "gross": "-123.00"}
    assert (correction.total_net, correction.total_vat, correction.total_gross) == (
        Decimal("-100.00"),
        Decimal("-23.00"),
        Decimal("-123.00"),
    )
    assert -correction.total_gross == ret.refund_amount
    # Redelivered event: nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(
            type=returns.RETURN_ACCEPTED, payload={"return_id": ret.pk, "order_id": order.pk}, store=seller
        )
    assert Invoice.objects.filter(kind=Invoice.Kind.CORRECTION).count() == 1
    # The buyer gets it by e-mail with the PDF.
    email = OrderEmail.objects.get(
        order=order, kind=OrderEmail.Kind.INVOICE, key=f"correction:{correction.pk}"
    )
    assert email.sent_at is not None
    sent = [m for m in mailoutbox if "KOR/2026/12/0001" in m.body]
    assert len(sent) == 1 and sent[0].to == [order.email]
    assert sent[0].attachments[0][0] == "KOR-2026-12-0001.pdf"
    text = pdf_text(correction)
    assert "FAKTURA KORYGUJĄCA" in text
    assert f"Dotyczy faktury VAT nr {invoice.number}" in text
    assert "Przyczyna korekty" in text and "Zwrot towaru" in text
    assert "Kwota do zwrotu" in text and "-123.00" in text


def test_a_second_return_starts_from_the_corrected_state(seller, django_capture_on_commit_callbacks):
    order, _invoice, shirt, _book = order_of(seller)
    shirt_line = line_of(order, shirt)
    for _ in range(2):
        ret = returns.request_return(order=order, items={shirt_line.pk: 1}, reason="withdrawal")
        with django_capture_on_commit_callbacks(execute=True):
            returns.accept_return(return_request=ret)
    first, second = Invoice.objects.filter(kind=Invoice.Kind.CORRECTION).order_by("pk")
    assert second.number == "KOR/2026/12/0002"
    assert second.lines[0]["before"] == first.lines[0]["after"]
    assert second.lines[0]["after"]["quantity"] == 0 and second.lines[0]["after"]["gross"] == "0.00"
    assert first.total_gross + second.total_gross == -Decimal("246.00")


def test_cancellation_corrects_to_zero_and_its_refund_adds_nothing(
    seller, django_capture_on_commit_callbacks
):
    order, invoice, _shirt, _book = order_of(seller, status=Order.Status.PAID)
    with django_capture_on_commit_callbacks(execute=True):
        change_status(order=order, status=Order.Status.CANCELLED)
    correction = Invoice.objects.get(kind=Invoice.Kind.CORRECTION)
    assert correction.correction_key == "cancel"
    assert correction.total_gross == -invoice.total_gross
    assert correction.total_net == -invoice.total_net and correction.total_vat == -invoice.total_vat
    assert {row["key"] for row in correction.lines} >= {"shipping"}
    assert all(row["after"]["gross"] == "0.00" for row in correction.lines)
    # Nothing is left to correct: a second cause finds no change.
    refund = SimpleNamespace(pk=99, order=order, amount=Decimal("10.00"), currency="PLN")
    assert corrections.correct_refund(refund, render="never") is None
    assert Invoice.objects.filter(kind=Invoice.Kind.CORRECTION).count() == 1


def test_refund_without_return_lowers_prices_in_proportion_to_the_grosz(seller):
    order, _invoice, _shirt, _book = order_of(seller, status=Order.Status.PAID)
    refund = SimpleNamespace(pk=7, order=order, amount=Decimal("33.33"), currency="PLN")
    correction = corrections.correct_refund(refund, render="never")
    assert correction.total_gross == Decimal("-33.33")
    assert correction.correction_key == "refund:7"
    assert all(row["diff"]["quantity"] == 0 for row in correction.lines)
    rates = {row["vat_rate"] for row in correction.lines}
    assert rates == {"23", "5"}  # mixed rates, each position its share
    for row in correction.lines:
        for part in ("before", "after"):
            net, vat, gross = (Decimal(row[part][k]) for k in ("net", "vat", "gross"))
            assert net + vat == gross
    assert corrections.correct_refund(refund, render="never") == correction  # once per refund


@pytest.mark.parametrize(
    ("amount", "weights"),
    [
        ("10.00", {"a": "3.33", "b": "3.33", "c": "3.34"}),
        ("0.01", {"a": "100.00", "b": "100.00"}),
        ("1000.00", {"a": "1.00", "b": "2.00"}),  # more than there is: capped
        ("-5.00", {"a": "1.00"}),
        ("7.77", {"a": "0.00", "b": "9.99", "c": "0.01"}),
    ],
)
def test_spread_is_exact_and_never_above_a_weight(amount, weights):
    weights = {k: Decimal(v) for k, v in weights.items()}
    parts = corrections.spread(Decimal(amount), weights)
    assert sum(parts.values()) == max(min(Decimal(amount), sum(weights.values())), Decimal("0"))
    assert all(Decimal("0") <= parts[k] <= weights[k] for k in weights)


def test_no_shop_invoice_no_correction(seller):
    shirt = VariantFactory(store=seller, price=Decimal("10.00"), stock=5)
    order = make_order(store=seller, lines=[(shirt, 1)], status=Order.Status.PAID)
    assert corrections.correct_cancellation(order, render="never") is None
    assert not Invoice.objects.exists()


def test_correction_waits_for_the_seller_data(seller, django_capture_on_commit_callbacks):
    order, _invoice, _shirt, _book = order_of(seller, status=Order.Status.PAID)
    seller.company_tax_id = ""
    seller.save()
    with django_capture_on_commit_callbacks(execute=True):
        change_status(order=order, status=Order.Status.CANCELLED)
    assert not Invoice.objects.filter(kind=Invoice.Kind.CORRECTION).exists()
    assert OrderNote.objects.filter(order=order, text__contains="NIP").exists()


def test_corrections_share_the_seller_series_across_stores():
    first = StoreFactory(company_tax_id="5260001246")
    second = StoreFactory(company_tax_id="5260001246")
    numbers = []
    for store in (first, second):
        order, *_ = order_of(store, status=Order.Status.PAID)
        numbers.append(corrections.correct_cancellation(order, render="never").number)
    assert numbers == ["KOR/2026/12/0001", "KOR/2026/12/0002"]


def test_fa3_kor_document_is_schema_valid(seller):
    order, invoice, shirt, _book = order_of(seller)
    ret = returns.request_return(order=order, items={line_of(order, shirt).pk: 1}, reason="damaged")
    returns.accept_return(return_request=ret)
    correction = corrections.correct_return(ret, render="never")
    xml = fa3.build_invoice_xml(correction)  # validates against the FA(3) XSD
    tree = etree.fromstring(xml)
    ns = {"f": fa3.NS}
    assert tree.findtext(".//f:RodzajFaktury", namespaces=ns) == "KOR"
    assert tree.findtext(".//f:NrFaKorygowanej", namespaces=ns) == invoice.number
    assert tree.findtext(".//f:P_15", namespaces=ns) == "-123.00"
    assert tree.findtext(".//f:P_13_1", namespaces=ns) == "-100.00"
    assert [r.findtext("f:StanPrzed", namespaces=ns) for r in tree.findall(".//f:FaWiersz", ns)] == [
        "1",
        None,
    ]


def test_correction_of_a_b2b_invoice_is_queued_for_ksef_as_kor(seller):
    from orders.models import KsefSettings, KsefSubmission

    KsefSettings.objects.create(store=seller, enabled=True)
    order, invoice, _shirt, _book = order_of(seller, status=Order.Status.PAID)
    correction = corrections.correct_cancellation(order, render="never")
    submission = KsefSubmission.objects.get(invoice=correction)
    assert submission.state == KsefSubmission.State.PENDING
    assert "<RodzajFaktury>KOR</RodzajFaktury>" in submission.xml
    assert f"<NrFaKorygowanej>{invoice.number}</NrFaKorygowanej>" in submission.xml
