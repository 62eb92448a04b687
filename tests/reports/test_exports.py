"""Files opened back: XLSX with openpyxl, PDF text with pypdf, CSV with csv."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from reports import services

from .factories import make_order

PARAMS = {"date_from": "2025-01-14", "date_to": "2025-01-16"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def export(shop, kind, fmt, params=None):
    result = services.export(store=shop.store, kind=kind, fmt=fmt, params=params or PARAMS)
    assert result.job is None
    return result.file.read(), result


def pdf_text(content: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def test_orders_xlsx_types_formats_and_totals(shop):
    content, result = export(shop, "orders", "xlsx")
    assert result.filename.endswith(".xlsx") and result.row_count == 5
    ws = load_workbook(io.BytesIO(content)).active
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:P6"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Number", "Placed at", "Status"] and header[-1] == "After refunds"
    col = {title: i for i, title in enumerate(header)}
    o2 = ws[3]
    assert o2[col["Number"]].value == shop.o2.number
    placed = o2[col["Placed at"]]
    assert isinstance(placed.value, datetime) and placed.value == datetime(2025, 1, 15, 0, 30)
    assert placed.number_format == "yyyy-mm-dd hh:mm"
    total = o2[col["Total"]]
    assert total.value == 90 and isinstance(total.value, int | float)
    assert "zł" in total.number_format and "#,##0.00" in total.number_format
    assert o2[col["Customer"]].value == "Jan Brzęczyszczykiewicz (Łódź Sp. z o.o.)"
    totals = ws[7]
    assert totals[0].value == "Total (5)" and totals[0].font.b
    # 215 + 90 + 150 (unpaid) + 100 + 30 (cancelled) = 585; refunded 100; net 485; items 2+2+3+1+1
    assert totals[col["Total"]].value == 585
    assert totals[col["Refunded"]].value == 100
    assert totals[col["After refunds"]].value == 485
    assert totals[col["Items"]].value == 9
    assert ws.max_row == 7


def test_orders_pdf_has_header_rows_totals_and_page_numbers(shop):
    content, _ = export(shop, "orders", "pdf", {**PARAMS, "statuses": ["paid", "delivered"]})
    text, pages = pdf_text(content)
    text = text.replace("\xa0", " ")
    assert content.startswith(b"%PDF")
    assert "Sklep Testowy" in text and "14.01.2025 – 16.01.2025" in text
    for order in (shop.o1, shop.o2, shop.o3):
        assert order.number in text
    assert shop.unpaid.number not in text
    assert "Total (3)" in text and "405,00 zł" in text  # 215 + 90 + 100
    assert f"Page 1 of {pages}" in text
    assert "Brzęczyszczykiewicz" in text


def test_pdf_in_polish(shop):
    with translation.override("pl"):
        content, _ = export(shop, "orders", "pdf")
    text, pages = pdf_text(content)
    assert f"Strona 1 z {pages}" in text and "Zamówienia" in text


def test_long_pdf_repeats_the_header_and_numbers_every_page(store, shop):
    for i in range(60):
        make_order(store, at=datetime(2025, 1, 14, 10, i % 60, tzinfo=UTC), lines=[(shop.c, 1)])
    content, _ = export(shop, "orders", "pdf")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) >= 2
    for n, page in enumerate(reader.pages, 1):
        text = page.extract_text()
        assert f"Page {n} of {len(reader.pages)}" in text
        assert "Number" in text  # the table header repeats


def test_orders_csv_bom_semicolon_and_decimal_comma(shop):
    content, _ = export(shop, "orders", "csv")
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Number" and len(rows) == 7
    o2 = rows[2]
    assert o2[1] == "2025-01-15 00:30:00"
    assert "90,00" in o2 and "Jan Brzęczyszczykiewicz (Łódź Sp. z o.o.)" in o2
    assert rows[-1][0] == "Total (5)" and "585,00" in rows[-1]


def test_csv_with_comma_uses_decimal_point(shop):
    content, _ = export(shop, "orders", "csv", {**PARAMS, "delimiter": ","})
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=","))
    assert "90.00" in rows[2]


def test_sales_pdf_and_xlsx(shop):
    params = {
        **PARAMS,
        "granularity": "day",
        "products": [shop.shirt.pk],
        "compare": True,
        "metric": "revenue",
    }
    content, _ = export(shop, "sales", "pdf", params)
    text, _pages = pdf_text(content)
    text = text.replace("\xa0", " ")
    assert "Sales report: Koszulka Żółw" in text
    assert "Koszulka Żółw – M" in text  # chart legend / table column (SVG rendered into the PDF)
    assert "250,00 zł" in text  # revenue after refunds
    content, _ = export(shop, "sales", "xlsx", params)
    wb = load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["Sales per period", "Top products", "Top categories", "Sales per channel"]
    ws = wb["Sales per period"]
    header = [c.value for c in ws[1]]
    col = {t: i for i, t in enumerate(header)}
    assert [r[col["Revenue"]].value for r in ws.iter_rows(min_row=2, max_row=4)] == [200, 50, 0]
    assert ws[5][0].value == "Total" and ws[5][col["Revenue"]].value == 250
    assert ws[3][col["Previous period"]].value == 100  # the "before" order (12th) lines up with the 15th


def test_stock_exports(store, shop):
    from tests.catalog.factories import give_stock

    shop.a.cost_price = Decimal("40.00")
    shop.a.save()
    give_stock(shop.a, 10)
    give_stock(shop.b, 2)
    content, _ = export(shop, "stock", "xlsx", {"delimiter": ";"})
    ws = load_workbook(io.BytesIO(content)).active
    header = [c.value for c in ws[1]]
    col = {t: i for i, t in enumerate(header)}
    rows = {r[col["SKU"]].value: r for r in ws.iter_rows(min_row=2) if r[col["SKU"]].value}
    assert rows["KOSZ-M"][col["Value at cost"]].value == 400
    assert rows["KOSZ-M"][col["Value at price"]].value == 1000
    assert rows["KOSZ-L"][col["Low stock"]].value == "yes"
    assert rows["KOSZ-L"][col["Value at cost"]].value is None  # unknown cost price stays empty
    last = ws[ws.max_row]
    assert last[col["Value at price"]].value == 1100 and last[col["On hand"]].value == 12
    content, _ = export(shop, "stock", "pdf", {"only_below_threshold": True})
    text, _pages = pdf_text(content)
    assert "KOSZ-L" in text and "KOSZ-M" not in text


def test_dates_in_excel_are_real_dates():
    from reports.exports import Column, Report, Section, write_xlsx

    report = Report(
        title="t",
        store_name="s",
        range_label="r",
        currency="PLN",
        sections=[
            Section(
                "S",
                [Column("d", "Day", "date"), Column("n", "N", "int", total=True)],
                [{"d": date(2025, 1, 2), "n": 3}],
                1,
                "Sum",
            )
        ],
    )
    fh = io.BytesIO()
    write_xlsx(report, fh)
    ws = load_workbook(fh).active
    assert ws["A2"].is_date and ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["B3"].value == 3
