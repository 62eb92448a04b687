"""FA(3) XML of issued invoices: valid against the official XSD (vendored in orders/ksef/schemas),
amounts equal to the invoice's, buyers identified the FA(3) way, hostile text kept as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from lxml import etree

from orders import invoices
from orders.ksef import fa3
from orders.models import Order
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache

pytestmark = pytest.mark.django_db
NS = {"f": fa3.NS}


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


def variant(store, price: str, rate: str, name: str = "Towar"):
    return VariantFactory(
        store=store, price=Decimal(price), product__vat_rate=rate, product__name=name, stock=50
    )


def issued(order) -> tuple:
    invoice = invoices.issue_invoice(order=order, render="never")
    xml = fa3.to_xml(fa3.document_for_invoice(invoice))
    return invoice, xml, etree.fromstring(xml)


def amounts(tree, path: str) -> Decimal:
    return sum((Decimal(e.text) for e in tree.iterfind(path, NS)), Decimal("0"))


def test_mixed_rates_with_shipping_and_discount_is_schema_valid_and_adds_up(seller):
    lines = [
        (variant(seller, "123.00", "23", "Koszulka"), 2),
        (variant(seller, "54.00", "8", "Kawa"), 3),
        (variant(seller, "49.99", "5", "Książka"), 1),
        (variant(seller, "10.00", "0", "Usługa 0%"), 1),
        (variant(seller, "80.00", "zw", "Kurs"), 1),
    ]
    order = make_order(
        store=seller,
        lines=lines,
        status=Order.Status.PAID,
        shipping=Decimal("15.99"),
        discount=Decimal("37.13"),
        billing_address=AddressFactory(company_name="Firma ABC Sp. z o.o.", tax_id="PL 526-025-02-74"),
    )
    invoice, xml, tree = issued(order)

    assert fa3.validation_errors(xml) == []
    assert tree.findtext("f:Fa/f:P_2", namespaces=NS) == invoice.number
    assert Decimal(tree.findtext("f:Fa/f:P_15", namespaces=NS)) == invoice.total_gross
    # Positions: gross values add up to the total; one row per invoice line (shipping included).
    assert amounts(tree, "f:Fa/f:FaWiersz/f:P_11A") == invoice.total_gross
    assert len(tree.findall("f:Fa/f:FaWiersz", NS)) == len(invoices.invoice_lines(order))
    rates = {e.text for e in tree.iterfind("f:Fa/f:FaWiersz/f:P_12", NS)}
    assert rates == {"23", "8", "5", "0 KR", "zw"}
    # Totals per rate: net + VAT fields equal the invoice's net and VAT.
    nets = sum(
        (
            Decimal(tree.findtext(f"f:Fa/f:{n}", namespaces=NS) or 0)
            for n in ("P_13_1", "P_13_2", "P_13_3", "P_13_6_1", "P_13_7")
        ),
        Decimal("0"),
    )
    vats = sum(
        (Decimal(tree.findtext(f"f:Fa/f:{n}", namespaces=NS) or 0) for n in ("P_14_1", "P_14_2", "P_14_3")),
        Decimal("0"),
    )
    assert nets == invoice.total_net
    assert vats == invoice.total_vat
    # The exempt position carries its legal basis; the buyer is identified by a clean NIP.
    assert tree.findtext("f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19", namespaces=NS) == "1"
    assert (
        tree.findtext("f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19A", namespaces=NS) == fa3.DEFAULT_EXEMPTION_BASIS
    )
    assert tree.findtext("f:Podmiot2/f:DaneIdentyfikacyjne/f:NIP", namespaces=NS) == "5260250274"
    assert tree.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP", namespaces=NS) == "5260001246"
    assert tree.findtext("f:Fa/f:RodzajFaktury", namespaces=NS) == "VAT"
    assert tree.findtext("f:Fa/f:Platnosc/f:Zaplacono", namespaces=NS) == "1"


def test_without_exempt_lines_no_exemption_is_declared(seller):
    order = make_order(
        store=seller,
        lines=[(variant(seller, "100.00", "23"), 1)],
        status=Order.Status.PAID,
        billing_address=AddressFactory(company_name="Firma", tax_id="5260250274"),
    )
    _, xml, tree = issued(order)
    assert fa3.validation_errors(xml) == []
    assert tree.find("f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19N", NS) is not None
    assert tree.find("f:Fa/f:Adnotacje/f:Zwolnienie/f:P_19", NS) is None


@pytest.mark.parametrize(
    ("country", "tax_id", "expect"),
    [
        ("DE", "DE123456789", {"KodUE": "DE", "NrVatUE": "123456789"}),
        ("GR", "EL123456789", {"KodUE": "EL", "NrVatUE": "123456789"}),
        ("US", "98-7654321", {"KodKraju": "US", "NrID": "98-7654321"}),
        ("PL", "", {"BrakID": "1"}),
    ],
)
def test_foreign_and_consumer_buyers(seller, country, tax_id, expect):
    order = make_order(
        store=seller,
        lines=[(variant(seller, "61.50", "23"), 1)],
        status=Order.Status.PAID,
        billing_address=AddressFactory(
            company_name="Buyer Ltd" if tax_id else "",
            tax_id=tax_id,
            country=country,
            postal_code="10115",
            city="Berlin",
        ),
    )
    _, xml, tree = issued(order)
    assert fa3.validation_errors(xml) == []
    ids = tree.find("f:Podmiot2/f:DaneIdentyfikacyjne", NS)
    assert {etree.QName(e).localname: e.text for e in ids if etree.QName(e).localname != "Nazwa"} == expect
    assert tree.findtext("f:Podmiot2/f:Adres/f:KodKraju", namespaces=NS) == country


def test_hostile_text_stays_text_and_fits_the_schema(seller):
    hostile = 'Kubek <script>alert("x")</script> & ]]> \x0b\x1f'  # PostgreSQL stores no NUL
    order = make_order(
        store=seller,
        lines=[(variant(seller, "20.00", "23", name=hostile), 1)],
        status=Order.Status.PAID,
        billing_address=AddressFactory(
            company_name='<Firma> & "Syn"', tax_id="5260250274", street="ul. <b>Zła</b>\x07 1"
        ),
    )
    invoice, xml, tree = issued(order)
    assert fa3.validation_errors(xml) == []
    assert b"<script>" not in xml  # escaped, never markup
    assert tree.findtext("f:Fa/f:FaWiersz/f:P_7", namespaces=NS) == 'Kubek <script>alert("x")</script> & ]]>'
    assert tree.findtext("f:Podmiot2/f:DaneIdentyfikacyjne/f:Nazwa", namespaces=NS) == '<Firma> & "Syn"'
    assert tree.findtext("f:Podmiot2/f:Adres/f:AdresL1", namespaces=NS) == "ul. <b>Zła</b> 1"
    # Longer than the schema allows (frozen data from elsewhere): cut to the limit, still valid.
    invoice.buyer["company_name"] = "x" * 600
    xml = fa3.to_xml(fa3.document_for_invoice(invoice))
    assert fa3.validation_errors(xml) == []
    assert (
        len(etree.fromstring(xml).findtext("f:Podmiot2/f:DaneIdentyfikacyjne/f:Nazwa", namespaces=NS)) == 512
    )


@pytest.mark.parametrize("tax_id", ["1234567890", "52600012", "ABCDEFGHIJ"])
def test_invalid_polish_nip_is_refused(seller, tax_id):
    order = make_order(
        store=seller,
        lines=[(variant(seller, "20.00", "23"), 1)],
        status=Order.Status.PAID,
        billing_address=AddressFactory(company_name="Firma", tax_id=tax_id),
    )
    invoice = invoices.issue_invoice(order=order, render="never")
    with pytest.raises(fa3.Fa3Error, match="NIP"):
        fa3.document_for_invoice(invoice)


@pytest.mark.parametrize(("field", "message"), [("tax_id", "NIP"), ("address", "address"), ("name", "name")])
def test_missing_seller_data_is_refused(seller, field, message):
    order = make_order(store=seller, lines=[(variant(seller, "20.00", "23"), 1)], status=Order.Status.PAID)
    invoice = invoices.issue_invoice(order=order, render="never")
    invoice.seller[field] = ""  # frozen seller data without it (issued before the data was required)
    with pytest.raises(fa3.Fa3Error, match=message):
        fa3.build_invoice_xml(invoice)


def test_issue_date_is_the_local_day_and_creation_time_utc(seller):
    # 23:30 UTC on 31 December is already 1 January in Warsaw.
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=False):
        order = make_order(
            store=seller,
            lines=[(variant(seller, "20.00", "23"), 1)],
            status=Order.Status.PAID,
            billing_address=AddressFactory(company_name="Firma", tax_id="5260250274"),
        )
        _, xml, tree = issued(order)
    assert tree.findtext("f:Fa/f:P_1", namespaces=NS) == "2027-01-01"
    assert tree.findtext("f:Naglowek/f:DataWytworzeniaFa", namespaces=NS) == "2026-12-31T23:30:00Z"
    assert fa3.validation_errors(xml) == []


def _document(**changes) -> fa3.Fa3Document:
    doc = fa3.Fa3Document(
        number="FV/2026/12/0001",
        issue_date=date(2026, 12, 7),
        created_at=datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        currency="PLN",
        seller=fa3.Party(
            name="Koszyk Sp. z o.o.",
            address_lines=["ul. Marszałkowska 1", "00-001 Warszawa"],
            nip="5260001246",
        ),
        buyer=fa3.Party(name="Firma", address_lines=["ul. Długa 2"], nip="5260250274"),
        positions=[fa3.Position("Koszulka", Decimal(1), Decimal("123.00"), Decimal("123.00"), "23")],
        totals=[fa3.RateTotal("23", Decimal("100.00"), Decimal("23.00"))],
        total_gross=Decimal("123.00"),
    )
    for name, value in changes.items():
        setattr(doc, name, value)
    return doc


@pytest.mark.parametrize("ksef_number", ["5260001246-20261201-0100001AF629-AF", ""])
def test_a_correcting_invoice_is_the_same_document_with_a_reference(ksef_number):
    doc = _document(
        number="KFV/2026/12/0001",
        positions=[
            fa3.Position("Koszulka", Decimal(1), Decimal("123.00"), Decimal("123.00"), "23", before=True),
            fa3.Position("Koszulka", Decimal(0), Decimal("123.00"), Decimal("0.00"), "23"),
        ],
        totals=[fa3.RateTotal("23", Decimal("-100.00"), Decimal("-23.00"))],
        total_gross=Decimal("-123.00"),
        correction=fa3.CorrectionRef(
            reason="Zwrot towaru",
            invoice_number="FV/2026/12/0001",
            issue_date=date(2026, 12, 1),
            ksef_number=ksef_number,
        ),
    )
    xml = fa3.to_xml(doc)
    assert fa3.validation_errors(xml) == []
    tree = etree.fromstring(xml)
    assert tree.findtext("f:Fa/f:RodzajFaktury", namespaces=NS) == "KOR"
    assert tree.findtext("f:Fa/f:DaneFaKorygowanej/f:NrFaKorygowanej", namespaces=NS) == "FV/2026/12/0001"
    assert tree.findtext("f:Fa/f:P_15", namespaces=NS) == "-123.00"


def test_the_schema_check_catches_a_broken_document():
    xml = fa3.to_xml(_document(total_gross=Decimal("1234567890123456789.00")))
    assert fa3.validation_errors(xml)
    with pytest.raises(fa3.Fa3Error, match="schema"):
        fa3.validate(xml)
    assert fa3.validation_errors(b"<Faktura><unclosed></Faktura>")[0].startswith("not well-formed")
    # An entity that would read a local file is never expanded.
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><Faktura>&x;</Faktura>'
    )
    assert fa3.validation_errors(evil)


@pytest.mark.parametrize(
    ("nip", "valid"),
    [
        ("5260001246", True),
        ("PL5260001246", True),
        ("526-000-12-46", True),
        ("5260001247", False),
        ("0260001246", False),
    ],
)
def test_nip_checksum(nip, valid):
    assert fa3.valid_nip(nip) is valid


@pytest.mark.parametrize("seed", range(12))
def test_random_carts_give_valid_xml_that_agrees_with_the_invoice(seller, seed):
    import random

    rng = random.Random(seed)
    rates = ["23", "8", "5", "0", "zw"]
    lines = [
        (
            variant(seller, f"{rng.randint(1, 99999) / 100:.2f}", rng.choice(rates), f"Produkt {i}"),
            rng.randint(1, 7),
        )
        for i in range(rng.randint(1, 6))
    ]
    subtotal = sum((v.price * q for v, q in lines), Decimal("0"))
    order = make_order(
        store=seller,
        lines=lines,
        status=Order.Status.PAID,
        shipping=Decimal(rng.choice(["0.00", "9.99", "15.00", "24.60"])),
        discount=(subtotal * Decimal(rng.randint(0, 30)) / 100).quantize(Decimal("0.01")),
        billing_address=AddressFactory(company_name="Firma", tax_id="5260250274"),
    )
    invoice, xml, tree = issued(order)
    assert fa3.validation_errors(xml) == []
    assert Decimal(tree.findtext("f:Fa/f:P_15", namespaces=NS)) == invoice.total_gross
    assert amounts(tree, "f:Fa/f:FaWiersz/f:P_11A") == invoice.total_gross
    net_fields = ("P_13_1", "P_13_2", "P_13_3", "P_13_6_1", "P_13_7")
    assert sum((amounts(tree, f"f:Fa/f:{n}") for n in net_fields), Decimal("0")) == invoice.total_net
    assert (
        sum((amounts(tree, f"f:Fa/f:{n}") for n in ("P_14_1", "P_14_2", "P_14_3")), Decimal("0"))
        == invoice.total_vat
    )
