"""VAT classes on the invoice: a gift card is outside VAT ("np.") by its product kind whatever rate
its product has, an exemption is printed with its legal basis (the store's setting), and FA(3)
carries both."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from orders import invoices
from orders.ksef import fa3
from orders.models import KsefSettings, Order
from tests.catalog.factories import GiftCardProductFactory, VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache
from tests.shop.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


def mixed_order(store, card_rate="zw"):
    card = VariantFactory(
        store=store, product=GiftCardProductFactory(store=store, vat_rate=card_rate), price=Decimal("100.00")
    )
    book = VariantFactory(store=store, price=Decimal("49.99"), product__vat_rate="5", stock=5)
    course = VariantFactory(store=store, price=Decimal("300.00"), product__vat_rate="zw", stock=5)
    shirt = VariantFactory(store=store, price=Decimal("123.00"), stock=5)
    return make_order(
        store=store,
        lines=[(card, 1), (book, 3), (course, 1), (shirt, 1)],
        status=Order.Status.PAID,
        billing_address=AddressFactory(company_name="Firma ABC Sp. z o.o.", tax_id="5260250274"),
    )


def test_gift_card_is_np_and_exemption_has_its_basis():
    store = StoreFactory()
    KsefSettings.objects.create(store=store, exemption_basis="art. 43 ust. 1 pkt 29 lit. b ustawy o VAT")
    order = mixed_order(store)
    lines = invoices.invoice_lines(order, list(order.lines.all()))
    labels = {line.name: line.vat_label for line in lines}
    assert sorted(labels.values()).count("np.") == 1 and "zw" in labels.values()
    summary = {s.vat_label: s for s in invoices.vat_summary(lines)}
    assert summary["np."].gross == Decimal("100.00") and summary["np."].vat == Decimal("0.00")
    assert summary["zw"].gross == Decimal("300.00")  # the card is not mixed into the exempt total
    invoice = invoices.issue_invoice(order=order, render="now")
    # The invoice keeps agreeing with the order to the grosz.
    assert invoice.total_gross == order.total
    assert invoice.total_net == order.total_net
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(invoices.invoice_pdf(invoice))).pages).split()
    )  # one line: the notes wrap
    assert "art. 43 ust. 1 pkt 29 lit. b ustawy o VAT" in text
    assert "art. 8a ust. 4" in text


def test_gift_card_is_never_taxed_even_if_its_product_says_23():
    store = StoreFactory()
    card = VariantFactory(
        store=store, product=GiftCardProductFactory(store=store, vat_rate="23"), price=Decimal("50.00")
    )
    order = make_order(store=store, lines=[(card, 1)], status=Order.Status.PAID, shipping=Decimal("0"))
    [line] = invoices.invoice_lines(order)
    assert (line.vat_label, line.net, line.vat) == ("np.", Decimal("50.00"), Decimal("0.00"))


def test_without_a_store_setting_the_general_exemption_article_is_printed():
    store = StoreFactory()
    course = VariantFactory(store=store, price=Decimal("300.00"), product__vat_rate="zw", stock=5)
    order = make_order(store=store, lines=[(course, 1)], status=Order.Status.PAID)
    notes = invoices.legal_notes(store, invoices.invoice_lines(order))
    assert notes == ["zw – sprzedaż zwolniona z VAT na podstawie: art. 43 ust. 1 ustawy o VAT."]


def test_fa3_carries_np_and_zw_and_is_schema_valid():
    store = StoreFactory()
    invoice = invoices.issue_invoice(order=mixed_order(store), render="never")
    xml = fa3.build_invoice_xml(invoice)  # raises when the XSD refuses it
    ns = {"f": fa3.NS}
    tree = etree.fromstring(xml)
    rates = [row.findtext("f:P_12", namespaces=ns) for row in tree.findall(".//f:FaWiersz", ns)]
    assert rates.count("np I") == 1 and rates.count("zw") == 1
    assert tree.findtext(".//f:P_13_8", namespaces=ns) == "100.00"
    assert tree.findtext(".//f:P_13_7", namespaces=ns) == "300.00"
