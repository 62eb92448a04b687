"""POS / fiscal printer hand-off: the documented receipt payload, the directory drop (atomic, one
file per receipt, never overwritten) and the signed HTTP drop."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from integrations.accounting.models import ExternalDocument
from integrations.accounting.pos import PosDropConnector, receipt_filename
from integrations.models import SyncRun
from tests.fakes.http_server import FakeHTTPServer, FakeResponse

from .factories import goods, paid_order, pos_config

pytestmark = pytest.mark.django_db


def test_receipt_file_with_ptu_letters_and_totals(store, pay, settings):
    pos_config(store)
    store.company_name, store.company_tax_id = "Sklep Testowy sp. z o.o.", "5260250995"
    store.save()
    a, b, c, d, e = goods(
        store, ("24.60", "23"), ("10.80", "8"), ("10.50", "5"), ("5.00", "0"), ("7.00", "zw")
    )
    order = paid_order(store, [(a, 2), (b, 1), (c, 1), (d, 1), (e, 1)], payment_provider="cod")
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.kind == "receipt" and document.status == "sent"
    path = settings.ACCOUNTING_POS_DROP_ROOT / "kasa-1" / f"{order.number}.json"
    receipt = json.loads(path.read_text(encoding="utf-8"))
    assert receipt["format"] == "koszyk.pos-receipt" and receipt["version"] == 1
    assert receipt["receipt_id"] == order.number and receipt["buyer_tax_id"] is None
    assert [
        (line["ptu"], line["vat_rate"], line["quantity"], line["unit_price"]) for line in receipt["lines"]
    ] == [
        ("A", "23", 2, "24.60"),
        ("B", "8", 1, "10.80"),
        ("C", "5", 1, "10.50"),
        ("D", "0", 1, "5.00"),
        ("E", "zw", 1, "7.00"),
        ("A", "23", 1, "15.00"),  # shipping
    ]
    summary = {row["ptu"]: (row["gross"], row["net"], row["vat"]) for row in receipt["vat_summary"]}
    assert summary["A"] == ("64.20", "52.20", "12.00") and summary["E"] == ("7.00", "7.00", "0.00")
    assert receipt["payments"] == [{"type": "cash", "name": "Przelew", "amount": "97.50"}]
    assert receipt["total"] == "97.50" and receipt["store"]["tax_id"] == "5260250995"
    assert not list(path.parent.glob(".receipt-*"))  # no temporary file left behind


def test_receipt_with_nip_and_a_line_that_does_not_divide(store, pay, settings):
    pos_config(store, only_without_invoice=False)
    (mug,) = goods(store, ("3.34", "23"))
    order = paid_order(
        store,
        [(mug, 3)],
        shipping=Decimal("0.00"),
        discount=Decimal("0.02"),
        buyer={"tax_id": "526-025-09-95"},
    )
    pay(order)
    receipt = json.loads((settings.ACCOUNTING_POS_DROP_ROOT / "kasa-1" / f"{order.number}.json").read_text())
    assert receipt["buyer_tax_id"] == "5260250995"
    assert [(line["quantity"], line["unit_price"]) for line in receipt["lines"]] == [(2, "3.33"), (1, "3.34")]
    assert receipt["total"] == "10.00"


def test_orders_with_a_company_invoice_get_no_receipt_by_default(store, pay):
    pos_config(store)
    (item,) = goods(store, ("10.00", "23"))
    pay(
        paid_order(
            store, [(item, 1)], wants_invoice=True, buyer={"company_name": "ACME", "tax_id": "5260250995"}
        )
    )
    assert not ExternalDocument.objects.exists()


def test_existing_file_is_never_overwritten(store, pay, settings):
    config = pos_config(store)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    target = settings.ACCOUNTING_POS_DROP_ROOT / "kasa-1" / receipt_filename(order.number)
    target.parent.mkdir(parents=True)
    target.write_text('{"printed": "by hand"}')
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and "was not overwritten" in document.last_error
    assert target.read_text() == '{"printed": "by hand"}'
    assert SyncRun.objects.get(config=config).status == "failed"


def test_second_send_of_the_same_receipt_is_a_no_op(store, pay, settings):
    config = pos_config(store)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    from integrations.accounting.documents import invoice_data

    outcome = PosDropConnector(config).send_document(document, invoice_data(order, kind="receipt"))
    assert outcome.external_id == f"{order.number}.json"
    assert len(list((settings.ACCOUNTING_POS_DROP_ROOT / "kasa-1").iterdir())) == 1


def test_hostile_order_numbers_stay_inside_the_directory():
    assert receipt_filename("../../etc/passwd") == "etc_passwd.json"
    assert receipt_filename("KS/2611/0001") == "KS_2611_0001.json"
    assert receipt_filename("...") == "receipt.json"


@pytest.mark.parametrize("directory", ["", "../etc", "/etc/cron.d", "a/b", "x" * 80])
def test_directory_must_be_a_plain_name(directory):
    with pytest.raises(ValidationError) as info:
        PosDropConnector.clean_settings({"target": "directory", "directory": directory})
    assert "directory" in info.value.message_dict


@pytest.mark.parametrize(
    "ptu",
    [
        '{"23": "A"}',
        '{"23": "A", "8": "A", "5": "C", "0": "D", "zw": "E"}',
        '{"23": "Z", "8": "B", "5": "C", "0": "D", "zw": "E"}',
        "[1]",
        "{",
    ],
)
def test_ptu_letters_are_validated(ptu):
    with pytest.raises(ValidationError) as info:
        PosDropConnector.clean_settings({"target": "directory", "directory": "kasa", "ptu_letters": ptu})
    assert "ptu_letters" in info.value.message_dict


def test_http_drop_is_signed_and_idempotent(store, pay):
    with FakeHTTPServer() as server:
        server.route(
            "POST", "/receipts", FakeResponse(201, b'{"id": "R-77"}', {"Content-Type": "application/json"})
        )
        pos_config(
            store, target="http", directory="", endpoint_url=server.url("/receipts"), signing_secret="s3cret"
        )
        (item,) = goods(store, ("10.00", "23"))
        order = paid_order(store, [(item, 1)])
        pay(order)
        (request,) = server.requests
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "sent" and document.external_id == "R-77"
    assert request.headers["idempotency-key"] == order.number
    stamp, _sep, signature = request.headers["x-koszyk-signature"].partition(",v1=")
    timestamp = stamp.removeprefix("t=")
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(request.body)["receipt_id"] == order.number


def test_http_drop_refusal_and_outage(store, pay, settings):
    settings.INTEGRATIONS_HTTP_RETRIES = 0
    with FakeHTTPServer() as server:
        server.route("POST", "/receipts", FakeResponse(422, b"bad receipt"))
        pos_config(store, target="http", directory="", endpoint_url=server.url("/receipts"))
        (item,) = goods(store, ("10.00", "23"))
        refused = paid_order(store, [(item, 1)])
        pay(refused)
        server.route("POST", "/receipts", FakeResponse(503, b"down"))
        later = paid_order(store, [(item, 1)])
        pay(later)
    assert ExternalDocument.objects.get(order=refused).status == "failed"
    assert "HTTP 422" in ExternalDocument.objects.get(order=refused).last_error
    pending = ExternalDocument.objects.get(order=later)
    assert pending.status == "pending" and "HTTP 503" in pending.last_error


def test_foreign_currency_receipt_is_refused(store, pay, settings):
    pos_config(store)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)], currency="EUR")
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and "printed in PLN" in document.last_error
    assert not (settings.ACCOUNTING_POS_DROP_ROOT / "kasa-1").exists()
