"""Fakturownia: a paid order becomes one invoice (however often the event comes and whatever the
network does), its number is stored, a return becomes a correction, refusals are reported."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from integrations.accounting import services
from integrations.accounting.fakturownia import FakturowniaConnector
from integrations.accounting.models import ExternalDocument
from integrations.models import SyncRun, SyncRunError
from orders import returns
from orders.models import Invoice
from shop import events
from tests.fakes.fakturownia import Misbehaviour

from .factories import fakturownia_config, goods, paid_order

pytestmark = pytest.mark.django_db


def test_paid_order_creates_one_invoice_with_its_number(store, fakturownia, pay):
    config = fakturownia_config(store, fakturownia)
    shirt, mug = goods(store, ("100.00", "23"), ("30.00", "8"))
    order = paid_order(store, [(shirt, 2), (mug, 1)])
    event = pay(order)
    events.deliver(event.pk)  # a second delivery of the same event
    services.handle_order_paid(event)  # and the handler run by hand
    document = ExternalDocument.objects.get(order=order)
    assert document.config == config and document.status == "sent" and document.attempts == 1
    assert len(fakturownia.invoices) == 1 and len(fakturownia.creates()) == 1
    stored = next(iter(fakturownia.invoices.values()))
    assert document.external_id == str(stored["id"]) and document.external_number == "FV 1/11/2026"
    assert stored["oid"] == order.number and stored["oid_unique"] == "yes" and stored["kind"] == "vat"
    assert [(p["name"], p["tax"], p["total_price_gross"], p["quantity"]) for p in stored["positions"]] == [
        (shirt.product.name, 23, "200.00", 2),
        (mug.product.name, 8, "30.00", 1),
        ("Dostawa: Kurier", 23, "15.00", 1),
    ]
    assert (
        stored["status"] == "paid" and stored["paid"] == "245.00" and stored["payment_type"] == "Przelewy24"
    )
    assert "api_token" not in json.dumps(document.payload)  # the token is never stored
    # in addition to the shop's own invoice (the default)
    assert Invoice.objects.filter(order=order).count() == 1
    run = SyncRun.objects.get(config=config)
    assert run.direction == "documents" and run.status == "succeeded" and run.summary["order"] == order.number


@pytest.mark.parametrize(("rate", "expected"), [("23", 23), ("8", 8), ("5", 5), ("0", 0), ("zw", "zw")])
def test_vat_rates_are_mapped(store, fakturownia, pay, rate, expected):
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("12.30", rate))
    pay(paid_order(store, [(item, 1)], shipping=Decimal("0.00")))
    (stored,) = fakturownia.invoices.values()
    assert [p["tax"] for p in stored["positions"]] == [expected]


def test_instead_of_the_shops_own_invoice(store, fakturownia, pay):
    fakturownia_config(store, fakturownia, invoice_mode="instead")
    (item,) = goods(store, ("50.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    assert ExternalDocument.objects.get(order=order).status == "sent"
    assert not Invoice.objects.filter(order=order).exists()


def test_inactive_or_none_mode_sends_nothing_and_the_shop_invoices(store, fakturownia, pay):
    config = fakturownia_config(store, fakturownia, invoice_mode="instead")
    config.is_active = False
    config.save()
    (item,) = goods(store, ("50.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    assert not ExternalDocument.objects.exists() and Invoice.objects.filter(order=order).count() == 1


def test_only_orders_asking_for_an_invoice(store, fakturownia, pay):
    fakturownia_config(store, fakturownia, only_requested=True)
    (item,) = goods(store, ("50.00", "23"))
    private = paid_order(store, [(item, 1)])
    company = paid_order(
        store, [(item, 1)], wants_invoice=True, buyer={"company_name": "Firma", "tax_id": "5260250995"}
    )
    pay(private)
    pay(company)
    assert list(ExternalDocument.objects.values_list("order_id", flat=True)) == [company.pk]


def test_timeout_after_creating_is_looked_up_not_sent_twice(store, fakturownia, pay, settings):
    settings.INTEGRATIONS_HTTP_RETRIES = 0
    config = fakturownia_config(store, fakturownia)
    fakturownia.script.append(Misbehaviour(status=201, delay=1.0))  # created, answer too late
    (item,) = goods(store, ("99.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "pending" and document.needs_lookup and "timed out" in document.last_error
    assert SyncRun.objects.get(config=config).status == "failed"
    assert SyncRunError.objects.filter(run__config=config, key=order.number).exists()
    document = services.send_document(document_id=document.pk)
    assert document.status == "sent" and document.attempts == 2 and not document.needs_lookup
    assert len(fakturownia.invoices) == 1 and len(fakturownia.creates()) == 1  # looked up, not re-sent
    assert document.external_number == "FV 1/11/2026"


def test_client_retry_after_timeout_meets_the_unique_oid(store, fakturownia, pay, settings):
    """The HTTP client retries the POST itself; Fakturownia refuses the duplicate reference and
    the connector finds the invoice the first try created."""
    settings.INTEGRATIONS_HTTP_RETRIES = 2
    fakturownia_config(store, fakturownia)
    fakturownia.script.append(Misbehaviour(status=201, delay=1.0))
    (item,) = goods(store, ("99.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "sent" and document.attempts == 1
    assert len(fakturownia.invoices) == 1 and len(fakturownia.creates()) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_5xx_and_429_are_retried(store, fakturownia, pay, status):
    fakturownia_config(store, fakturownia)
    fakturownia.script.append(Misbehaviour(status=status, create=False, body=b'{"code":"error"}'))
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "sent" and len(fakturownia.invoices) == 1


def test_malformed_answer_is_reported_then_looked_up(store, fakturownia, pay, settings):
    settings.INTEGRATIONS_HTTP_RETRIES = 0
    config = fakturownia_config(store, fakturownia)
    fakturownia.script.append(Misbehaviour(status=201, body=b"<html>Bad gateway</html>"))
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "pending" and document.needs_lookup
    assert "without a readable document id" in document.last_error
    assert "without a readable" in SyncRun.objects.get(config=config).error
    assert services.send_document(document_id=document.pk).status == "sent"
    assert len(fakturownia.invoices) == 1


def test_invalid_token_fails_at_once_and_retry_after_fixing(
    store, fakturownia, pay, django_capture_on_commit_callbacks
):
    config = fakturownia_config(store, fakturownia, api_token="wrong")
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and document.attempts == 1
    assert "refused the API token (HTTP 401)" in document.last_error
    assert not fakturownia.invoices
    from integrations import services as integration_services

    integration_services.save_config(
        config=config, raw_settings={**config.settings, "api_token": fakturownia.token}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.retry(document=document)
    document.refresh_from_db()
    assert document.status == "sent" and len(fakturownia.invoices) == 1


def test_gives_up_after_the_configured_attempts(store, fakturownia, pay, settings):
    settings.INTEGRATIONS_HTTP_RETRIES = 0
    settings.ACCOUNTING_MAX_ATTEMPTS = 2
    fakturownia_config(store, fakturownia)
    fakturownia.script += [Misbehaviour(status=503, create=False, body=b"{}")] * 2
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = services.send_document(document_id=ExternalDocument.objects.get(order=order).pk)
    assert document.status == "failed" and document.attempts == 2
    assert document.last_error.startswith("Gave up after 2 attempts")
    assert not fakturownia.invoices


def test_validation_error_is_reported_with_the_partners_message(store, fakturownia, pay):
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)], buyer={"first_name": "", "last_name": "", "company_name": ""})
    order.email = ""
    order.save(update_fields=["email"])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert document.status == "failed" and "buyer_name: can't be blank" in document.last_error


def test_company_buyer_with_nip_and_private_buyer(store, fakturownia, pay):
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    company = paid_order(
        store,
        [(item, 1)],
        wants_invoice=True,
        buyer={"company_name": 'Firma "Żółw" Sp. z o.o.', "tax_id": "PL 526-025-09-95"},
    )
    private = paid_order(store, [(item, 1)], buyer={"first_name": "Zażółć", "last_name": "Gęślą-Jaźń"})
    pay(company)
    pay(private)
    by_oid = {i["oid"]: i for i in fakturownia.invoices.values()}
    c, p = by_oid[company.number], by_oid[private.number]
    assert (c["buyer_company"], c["buyer_name"], c["buyer_tax_no"]) == (
        True,
        'Firma "Żółw" Sp. z o.o.',
        "5260250995",
    )
    assert (p["buyer_company"], p["buyer_first_name"], p["buyer_last_name"]) == (
        False,
        "Zażółć",
        "Gęślą-Jaźń",
    )
    assert "buyer_tax_no" not in p


def test_hostile_names_and_missing_address(store, fakturownia, pay):
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("10.00", "23"))
    item.product.name = ('Kubek "Ala" \' ; DROP TABLE -- ' + "ż" * 200)[:200]
    item.product.save()
    item.name = "ł" * 200
    item.save()
    order = paid_order(store, [(item, 1)], buyer={"street": "", "postal_code": "", "city": ""})
    pay(order)
    (stored,) = fakturownia.invoices.values()
    assert len(stored["positions"][0]["name"]) == 255 and stored["positions"][0]["name"].startswith(
        'Kubek "Ala"'
    )
    assert "buyer_street" not in stored and "buyer_city" not in stored
    assert ExternalDocument.objects.get(order=order).status == "sent"


def test_send_by_email_and_pdf(store, fakturownia, pay):
    fakturownia_config(store, fakturownia, send_by_email=True)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    document = ExternalDocument.objects.get(order=order)
    assert fakturownia.emails == [int(document.external_id)]
    assert services.fetch_pdf(document=document).startswith(b"%PDF")


def test_correction_for_an_accepted_return(store, fakturownia, pay, accept):
    fakturownia_config(store, fakturownia)
    shirt, mug = goods(store, ("100.00", "23"), ("30.00", "8"))
    order = paid_order(store, [(shirt, 2), (mug, 1)], status="delivered")
    pay(order)
    first = returns.request_return(
        order=order, items={order.lines.get(sku=shirt.sku).pk: 1}, reason="withdrawal"
    )
    accept(first)
    correction = ExternalDocument.objects.get(order=order, kind="correction")
    assert correction.status == "sent" and correction.return_request == first
    stored = fakturownia.invoices[int(correction.external_id)]
    invoice = ExternalDocument.objects.get(order=order, kind="invoice")
    assert stored["kind"] == "correction" and stored["invoice_id"] == invoice.external_id
    assert stored["oid"] == f"{order.number}-R{first.pk}"
    (position,) = stored["positions"]
    assert (position["quantity"], position["total_price_gross"], position["kind"]) == (
        -1,
        "-100.00",
        "correction",
    )
    assert position["correction_before_attributes"]["quantity"] == 2
    assert position["correction_before_attributes"]["total_price_gross"] == "200.00"
    assert position["correction_after_attributes"]["quantity"] == 1
    assert correction.external_number == "KOR 1/11/2026"
    # the rest comes back: the second correction starts where the first ended, with shipping
    second = returns.request_return(
        order=order,
        items={order.lines.get(sku=shirt.sku).pk: 1, order.lines.get(sku=mug.sku).pk: 1},
        reason="withdrawal",
    )
    accept(second)
    stored = fakturownia.invoices[int(ExternalDocument.objects.get(return_request=second).external_id)]
    befores = [
        (p["name"], p["correction_before_attributes"]["quantity"], p["total_price_gross"])
        for p in stored["positions"]
    ]
    assert befores == [
        (shirt.product.name, 1, "-100.00"),
        (mug.product.name, 1, "-30.00"),
        ("Dostawa: Kurier", 1, "-15.00"),
    ]


def test_correction_waits_for_the_invoice(store, fakturownia, pay, settings, accept):
    settings.INTEGRATIONS_HTTP_RETRIES = 0
    fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("100.00", "23"))
    order = paid_order(store, [(item, 2)], status="delivered")
    fakturownia.script.append(Misbehaviour(status=503, create=False, body=b"{}"))
    pay(order)
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    accept(ret)
    correction = ExternalDocument.objects.get(kind="correction")
    assert correction.status == "pending" and "Waiting for the order's invoice" in correction.last_error
    from integrations.accounting.tasks import sweep_documents

    assert sweep_documents() == 2
    assert set(ExternalDocument.objects.values_list("status", flat=True)) == {"sent"}


def test_correction_without_an_invoice_fails_clearly(store, fakturownia, deliver, accept):
    config = fakturownia_config(store, fakturownia)
    (item,) = goods(store, ("100.00", "23"))
    order = paid_order(store, [(item, 2)], status="delivered")  # paid before the connector existed
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    accept(ret)
    correction = ExternalDocument.objects.get(kind="correction", config=config)
    assert correction.status == "failed" and "nothing to correct" in correction.last_error


def test_connection_test(store, fakturownia):
    good = fakturownia_config(store, fakturownia)
    assert services.test_connection(config=good) == (True, "Connected to Fakturownia account sklep.")
    bad = fakturownia_config(store, fakturownia, name="Inne", api_token="nope", account="inne")
    ok, message = services.test_connection(config=bad)
    assert not ok and "refused the API token" in message


@pytest.mark.parametrize("account", ["", "Sklep Główny", "a" * 70, "sklep.evil.com", "../x"])
def test_account_name_is_validated(account):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        FakturowniaConnector.clean_settings({"account": account, "invoice_mode": "in_addition"})
    assert "account" in info.value.message_dict


def test_the_token_never_travels_in_a_url(store, fakturownia, pay):
    fakturownia_config(store, fakturownia, send_by_email=True)
    (item,) = goods(store, ("10.00", "23"))
    order = paid_order(store, [(item, 1)])
    pay(order)
    services.fetch_pdf(document=ExternalDocument.objects.get(order=order))
    assert fakturownia.requests and all("tok-123" not in r.query for r in fakturownia.requests)
    assert all(r.headers["authorization"] == "Bearer tok-123" for r in fakturownia.requests)
