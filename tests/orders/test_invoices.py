"""VAT invoices: issued on order.paid (once), numbered per store and month without gaps, the PDF's
content, and who may download it."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from pypdf import PdfReader

from catalog.models import StockMovement
from orders import invoices
from orders.handlers import INVOICE_HANDLER
from orders.models import Invoice, InvoiceCounter, Order
from shop import events
from shop.models import EventDelivery
from tests.catalog.factories import GiftCardProductFactory, VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture
def seller(store):
    store.company_name = "Koszyk Sp. z o.o."
    store.company_address = "ul. Marszałkowska 1\n00-001 Warszawa"
    store.company_tax_id = "5260001246"
    store.bank_account = "PL61109010140000071219812874"
    store.save()
    return store


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def paid_order(store, **kwargs):
    book = VariantFactory(store=store, price=Decimal("49.99"), product__vat_rate="5", stock=10)
    shirt = VariantFactory(store=store, price=Decimal("123.00"), stock=10, product__name="Koszulka lniana")
    return make_order(store=store, lines=[(book, 2), (shirt, 1)], status=Order.Status.PAID, **kwargs)


# --- amount in words -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0.00", "zero złotych 00/100"),
        ("1.00", "jeden złoty 00/100"),
        ("2.50", "dwa złote 50/100"),
        ("12.00", "dwanaście złotych 00/100"),
        ("22.01", "dwadzieścia dwa złote 01/100"),
        ("115.00", "sto piętnaście złotych 00/100"),
        ("1000.00", "tysiąc złotych 00/100"),
        ("2345.67", "dwa tysiące trzysta czterdzieści pięć złotych 67/100"),
        ("15012.00", "piętnaście tysięcy dwanaście złotych 00/100"),
        ("1000000.00", "milion złotych 00/100"),
    ],
)
def test_amount_in_words(amount, words):
    assert invoices.amount_in_words_pl(Decimal(amount)) == words


# --- issuing -----------------------------------------------------------------------------------------


def test_invoice_lines_and_totals_add_up(seller):
    order = paid_order(seller, discount=Decimal("10.00"))
    invoice = invoices.issue_invoice(order=order, render="never")
    lines = invoices.invoice_lines(order)
    assert len(lines) == 3  # two products + shipping
    assert sum(line.gross for line in lines) == order.total == invoice.total_gross
    assert invoice.total_net + invoice.total_vat == invoice.total_gross
    for line in lines:
        assert line.net + line.vat == line.gross
    summary = {s.vat_rate: s for s in invoices.vat_summary(lines)}
    assert set(summary) == {"23", "5"}
    assert summary["5"].gross == lines[0].gross
    assert summary["23"].gross == lines[1].gross + lines[2].gross


def test_invoice_number_and_frozen_parties(seller):
    order = paid_order(
        seller,
        billing_address=AddressFactory(company_name="Firma ABC Sp. z o.o.", tax_id="7740001454"),
    )
    invoice = invoices.issue_invoice(order=order, render="never")
    now = invoice.issued_at.astimezone(seller.zone)
    assert invoice.number == f"FV/{now.year}/{now.month:02d}/0001"
    assert invoice.sequence == 1
    assert invoice.seller["tax_id"] == "5260001246"
    assert invoice.buyer["company_name"] == "Firma ABC Sp. z o.o."
    assert invoice.buyer["tax_id"] == "7740001454"
    # The seller changing its data later does not change an issued invoice.
    seller.company_name = "Nowa nazwa"
    seller.save()
    invoice.refresh_from_db()
    assert invoice.seller["name"] == "Koszyk Sp. z o.o."


def test_issue_is_idempotent(seller):
    order = paid_order(seller)
    first = invoices.issue_invoice(order=order, render="never")
    second = invoices.issue_invoice(order=order, render="never")
    assert first.pk == second.pk
    assert Invoice.objects.count() == 1
    assert InvoiceCounter.objects.get().last_number == 1


def test_no_invoice_for_unpaid_order(seller):
    variant = VariantFactory(store=seller, stock=3)
    order = make_order(store=seller, lines=[(variant, 1)], status=Order.Status.AWAITING_PAYMENT)
    with pytest.raises(invoices.InvoiceError):
        invoices.issue_invoice(order=order)
    assert not Invoice.objects.exists()
    assert not InvoiceCounter.objects.exists()


@time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), tick=True)
def test_numbering_per_seller_and_month_without_gaps(seller):
    other = StoreFactory(company_tax_id="7740001454")  # another company: its own series
    numbers = [invoices.issue_invoice(order=paid_order(seller), render="never").number for _ in range(3)]
    assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]
    assert invoices.issue_invoice(order=paid_order(other), render="never").number.endswith("/0001")
    # A rolled-back invoice gives its number back.
    order = paid_order(seller)
    with pytest.raises(RuntimeError), transaction.atomic():
        invoices.issue_invoice(order=order, render="never")
        raise RuntimeError("crash after numbering")
    assert invoices.issue_invoice(order=order, render="never").number.endswith("/0004")
    # A new month starts again at 1 (issue date in the store's zone: 1 Dec 00:30 Warsaw = 30 Nov UTC).
    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)):
        december = invoices.issue_invoice(order=paid_order(seller), render="never")
    assert december.number == "FV/2026/12/0001"


def test_correction_numbers_are_separate():
    assert invoices.format_number(year=2026, month=1, sequence=7) == "FV/2026/01/0007"
    assert invoices.format_number(year=2026, month=1, sequence=7, kind="correction") == "KOR/2026/01/0007"


# --- the order.paid event ---------------------------------------------------------------------------


def test_order_paid_event_issues_one_invoice(seller, django_capture_on_commit_callbacks):
    order = paid_order(seller)
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(type="order.paid", payload={"order_id": order.pk}, store=seller)
    invoice = Invoice.objects.get(order=order)
    assert invoice.pdf  # rendered by the after-commit task
    assert EventDelivery.objects.get(event=event, handler=INVOICE_HANDLER).status == "done"
    # A second delivery of the same kind of event (e.g. a retried webhook) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.paid", payload={"order_id": order.pk}, store=seller)
    assert Invoice.objects.filter(order=order).count() == 1
    assert InvoiceCounter.objects.get().last_number == 1


def test_order_paid_for_unknown_order_is_harmless(seller, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = events.publish(type="order.paid", payload={"order_id": 999999}, store=seller)
    assert EventDelivery.objects.get(event=event, handler=INVOICE_HANDLER).status == "done"
    assert not Invoice.objects.exists()


# --- the PDF ------------------------------------------------------------------------------------------


def test_pdf_content(seller):
    order = paid_order(
        seller,
        billing_address=AddressFactory(
            first_name="Ewa", last_name="Lis", company_name="Firma ABC Sp. z o.o.", tax_id="7740001454"
        ),
    )
    invoice = invoices.issue_invoice(order=order, render="now")
    invoice.refresh_from_db()
    assert invoice.pdf.name.startswith("invoices/")
    text = pdf_text(invoices.invoice_pdf(invoice))
    flat = " ".join(text.split())
    for expected in (
        "Faktura VAT",
        invoice.number,
        "Data wystawienia",
        "Data sprzedaży",
        "Koszyk Sp. z o.o.",
        "NIP: 5260001246",
        "PL61109010140000071219812874",
        "Firma ABC Sp. z o.o.",
        "NIP: 7740001454",
        "Koszulka lniana",
        "23%",
        "5%",
        "100.00",  # 100.00 net + 23.00 VAT = 123.00 gross for the shirt
        "123.00",
        str(invoice.total_gross),
        "Słownie",
        "złot",
    ):
        assert expected in flat, expected


def test_gift_card_line_is_outside_vat(seller):
    """A gift card is a multi-purpose voucher: "np." (outside VAT), not "zw" (exempt)."""
    card = VariantFactory(store=seller, product=GiftCardProductFactory(store=seller), price=Decimal("100.00"))
    order = make_order(store=seller, lines=[(card, 1)], status=Order.Status.PAID, shipping=Decimal("0"))
    invoice = invoices.issue_invoice(order=order, render="now")
    assert invoice.total_vat == Decimal("0.00")
    text = " ".join(pdf_text(invoices.invoice_pdf(invoice)).split())  # one line: the note wraps
    assert "np." in text and "art. 8a ust. 4" in text
    assert " zw " not in f" {text} "  # no "zw" rate anywhere (the word "rozlicza" aside)


def test_missing_pdf_is_rendered_on_download(seller):
    invoice = invoices.issue_invoice(order=paid_order(seller), render="never")
    assert not invoice.pdf
    assert invoices.invoice_pdf(invoice).startswith(b"%PDF")
    invoice.refresh_from_db()
    assert invoice.pdf


# --- downloads ----------------------------------------------------------------------------------------


def test_owner_downloads_invoice_others_get_404(seller, client):
    owner = UserFactory()
    order = paid_order(seller, user=owner)
    invoices.issue_invoice(order=order, render="never")
    url = reverse("orders:account:invoice", kwargs={"number": order.number})
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_invoice_download_without_invoice_is_404(seller, client):
    owner = UserFactory()
    order = paid_order(seller, user=owner)
    client.force_login(owner)
    assert client.get(reverse("orders:account:invoice", kwargs={"number": order.number})).status_code == 404


def test_guest_downloads_invoice_with_order_token(seller, client):
    order = paid_order(seller)
    invoices.issue_invoice(order=order, render="never")
    response = client.get(reverse("orders:account:guest_invoice", kwargs={"token": order.token}))
    assert response.status_code == 200
    assert client.get(reverse("orders:account:guest_invoice", kwargs={"token": "x" * 32})).status_code == 404


def test_invoice_of_another_store_is_404(seller, client):
    other = StoreFactory()
    owner = UserFactory()
    order = paid_order(other, user=owner)
    invoices.issue_invoice(order=order, render="never")
    client.force_login(owner)
    assert client.get(reverse("orders:account:invoice", kwargs={"number": order.number})).status_code == 404
    assert (
        client.get(reverse("orders:account:guest_invoice", kwargs={"token": order.token})).status_code == 404
    )


def test_invoice_does_not_touch_stock(seller):
    order = paid_order(seller)
    before = StockMovement.objects.count()
    invoices.issue_invoice(order=order, render="never")
    assert StockMovement.objects.count() == before
