"""iFirma: the HMAC-SHA1 authentication (against iFirma's own published vector), invoices with
their full numbers, corrections, refusals, and no duplicate after a timeout."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from integrations.accounting import services
from integrations.accounting.documents import Position
from integrations.accounting.ifirma import authentication_header, positions_payload, signature
from integrations.accounting.models import ExternalDocument
from integrations.accounting.sink import DocumentRejected
from orders import returns
from tests.fakes.fakturownia import Misbehaviour
from tests.fakes.ifirma import ifirma_hmac

from .factories import goods, ifirma_config, paid_order

pytestmark = pytest.mark.django_db


def test_hmac_matches_ifirmas_published_vector():
    # api.ifirma.pl FAQ: for the hexadecimal key 111111 and the message 222222 the hash is
    # cec153ee6350475f117a307111e2bd7d83034925.
    assert signature(url="2", login="2", key_name="2", body=b"222", key_hex="111111") == (
        "cec153ee6350475f117a307111e2bd7d83034925"
    )


def test_header_signs_url_without_query_login_key_name_and_body():
    body = '{"Nazwa":"Żółw"}'.encode()
    header = authentication_header(
        url="https://www.ifirma.pl/iapi/faktury.json?dataOd=2026-11-01",
        login="jan",
        key_name="faktura",
        body=body,
        key_hex="A1B2C3D4E5F60718",
    )
    expected = ifirma_hmac("A1B2C3D4E5F60718", b"https://www.ifirma.pl/iapi/faktury.jsonjanfaktura" + body)
    assert header == f"IAPIS user=jan, hmac-sha1={expected}"


def test_non_hex_key_is_refused_with_a_clear_message():
    with pytest.raises(DocumentRejected, match="hexadecimal"):
        signature(url="u", login="l", key_name="faktura", body=b"", key_hex="not-hex!")


def test_tampered_body_is_rejected_by_the_service(ifirma):
    import httpx

    body = b'{"a": 1}'
    header = authentication_header(
        url=ifirma.api_url + "/fakturakraj.json",
        login=ifirma.login,
        key_name="faktura",
        body=body,
        key_hex=ifirma.key_hex,
    )
    answer = httpx.post(
        ifirma.api_url + "/fakturakraj.json",
        content=b'{"a": 2}',
        headers={"Authentication": header, "Content-Type": "application/json"},
    ).json()
    assert answer["response"]["Kod"] == 403


def test_paid_order_becomes_an_invoice_with_its_full_number(store, ifirma, pay):
    config = ifirma_config(store, ifirma, place="Kraków")
    store.bank_account = "12 3456 7890 1234 5678 9012 3456"
    store.save()
    shirt, book = goods(store, ("100.00", "23"), ("40.00", "5"))
    order = paid_order(store, [(shirt, 1), (book, 3)], shipping=Decimal("0.00"))
    pay(order)
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.config == config and document.status == "sent"
    assert document.external_number == "1/11/2026" and len(ifirma.invoices) == 1
    sent = json.loads(ifirma.posts()[0].body)
    assert (
        sent["LiczOd"] == "BRT" and sent["SposobZaplaty"] == "ELE" and sent["MiejsceWystawienia"] == "Kraków"
    )
    assert sent["NumerKontaBankowego"] == "12345678901234567890123456"
    assert sent["Pozycje"] == [
        {
            "StawkaVat": 0.23,
            "TypStawkiVat": "PRC",
            "Ilosc": 1,
            "CenaJednostkowa": 100.0,
            "NazwaPelna": shirt.product.name,
            "Jednostka": "szt.",
        },
        {
            "StawkaVat": 0.05,
            "TypStawkiVat": "PRC",
            "Ilosc": 3,
            "CenaJednostkowa": 40.0,
            "NazwaPelna": book.product.name,
            "Jednostka": "szt.",
        },
    ]
    assert sent["Kontrahent"]["OsobaFizyczna"] is True and "NIP" not in sent["Kontrahent"]
    assert sent["Zaplacono"] == 220.0


@pytest.mark.parametrize(
    ("rate", "fields"),
    [
        ("23", {"StawkaVat": 0.23, "TypStawkiVat": "PRC"}),
        ("8", {"StawkaVat": 0.08, "TypStawkiVat": "PRC"}),
        ("5", {"StawkaVat": 0.05, "TypStawkiVat": "PRC"}),
        ("0", {"StawkaVat": 0.0, "TypStawkiVat": "PRC"}),
        ("zw", {"TypStawkiVat": "ZW"}),
    ],
)
def test_vat_rate_fields(rate, fields):
    (row,) = positions_payload([Position("X", "", 1, rate, Decimal("10.00"))])
    assert {k: row[k] for k in ("StawkaVat", "TypStawkiVat") if k in row} == fields


def test_a_line_that_does_not_divide_is_split_so_totals_match():
    rows = positions_payload([Position("Kubek", "K", 3, "23", Decimal("10.00"))])
    assert [(r["Ilosc"], r["CenaJednostkowa"]) for r in rows] == [(2, 3.33), (1, 3.34)]


def test_company_buyer_sends_the_nip(store, ifirma, pay):
    ifirma_config(store, ifirma)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(
        store, [(item, 1)], wants_invoice=True, buyer={"company_name": "ACME", "tax_id": "526-025-09-95"}
    )
    pay(order)
    sent = json.loads(ifirma.posts()[0].body)
    assert sent["Kontrahent"]["NIP"] == "5260250995" and sent["Kontrahent"]["OsobaFizyczna"] is False
    assert sent["Kontrahent"]["Nazwa"] == "ACME"


def test_wrong_key_fails_with_ifirmas_code(store, ifirma, pay):
    ifirma_config(store, ifirma, api_key="0011223344556677")
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and "code 403" in document.last_error and not ifirma.invoices


def test_validation_refusal_is_reported(store, ifirma, pay):
    ifirma_config(store, ifirma)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(
        store, [(item, 1)], wants_invoice=True, buyer={"company_name": "ACME", "tax_id": "123"}
    )
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and "niepoprawny NIP" in document.last_error


def test_timeout_is_looked_up_in_the_invoice_list_not_sent_twice(store, ifirma, pay):
    ifirma_config(store, ifirma)
    ifirma.script.append(Misbehaviour(status=200, delay=1.0))  # created, answer lost
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "pending" and document.needs_lookup and len(ifirma.posts()) == 1
    document = services.send_document(document_id=document.pk)
    assert document.status == "sent" and document.external_number == "1/11/2026"
    assert len(ifirma.invoices) == 1 and len(ifirma.posts()) == 1


def test_technical_problem_is_retried(store, ifirma, pay):
    ifirma_config(store, ifirma)
    ifirma.script.append(
        Misbehaviour(
            status=200, create=False, body=b'{"response": {"Kod": 100, "Informacja": "problem techniczny"}}'
        )
    )
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "pending" and "code 100" in document.last_error
    assert services.send_document(document_id=document.pk).status == "sent"
    assert len(ifirma.invoices) == 1


def test_malformed_answer_is_reported(store, ifirma, pay):
    ifirma_config(store, ifirma)
    ifirma.script.append(Misbehaviour(status=200, create=False, body=b"<html>"))
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "pending" and "without a readable response" in document.last_error


def test_correction_for_an_accepted_return(store, ifirma, pay, accept):
    ifirma_config(store, ifirma)
    (item,) = goods(store, ("100.00", "23"))
    order = paid_order(store, [(item, 2)], status="delivered")
    pay(order)
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    accept(ret)
    correction = ExternalDocument.objects.get(kind="correction")
    assert correction.status == "sent" and correction.external_number == "KOR 1/11/2026"
    invoice = ExternalDocument.objects.get(kind="invoice")
    ((source, stored),) = [(c["source"], c) for c in ifirma.corrections.values()]
    assert str(source) == invoice.external_id and stored["PowodKorekty"] == "ZWR_SPRZ_TOW"
    assert [(p["Ilosc"], p["CenaJednostkowa"]) for p in stored["Pozycje"]] == [(1, 100.0), (1, 15.0)]


def test_connection_test(store, ifirma):
    assert services.test_connection(config=ifirma_config(store, ifirma))[0]
    bad = ifirma_config(store, ifirma, name="Inne", login="ktos_inny")
    ok, message = services.test_connection(config=bad)
    assert not ok and "code 401" in message


def test_foreign_currency_orders_are_refused_clearly(store, ifirma, pay):
    ifirma_config(store, ifirma)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)], currency="EUR")
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and "in PLN; this order is in EUR" in document.last_error
    assert not ifirma.posts()
