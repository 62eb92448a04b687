"""XLSX in openpyxl's write-only mode: typed cells (dates as dates, money as numbers with a
currency format), a frozen header, an autofilter and a totals row.

Text is always a string cell (``data_type`` ``"s"``, never a formula) and starts with a quote
where it could start a formula (:func:`shop.spreadsheets.spreadsheet_text`): shopper and feed
text reaches these files."""

from __future__ import annotations

import re
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from shop.numbers import currency_symbol
from shop.spreadsheets import spreadsheet_text

from .table import BOOL, DATE, DATETIME, INT, MONEY, PERCENT, Progress, Report, Totals, counted

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TOTAL_FONT = Font(bold=True)
FORMATS = {
    DATE: "yyyy-mm-dd",
    DATETIME: "yyyy-mm-dd hh:mm",
    INT: "#,##0",
    PERCENT: '0.0"%"',
}


def money_format(currency: str) -> str:
    return f'#,##0.00 "{currency_symbol(currency)}";-#,##0.00 "{currency_symbol(currency)}"'


def sheet_title(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def text_cell(ws, value: str) -> WriteOnlyCell:
    """A string cell openpyxl can never turn into a formula, neutralised for a copy to CSV."""
    cell = WriteOnlyCell(ws, value=spreadsheet_text(value))
    cell.data_type = "s"
    return cell


def _excel_value(value, kind: str, yes_no: tuple[str, str]):
    if isinstance(value, datetime):
        # Excel has no time zones: the value is already on the store's wall clock.
        return value.replace(tzinfo=None)
    if kind == BOOL and value is not None:
        return yes_no[0] if value else yes_no[1]
    return value


def write_xlsx(report: Report, fh: BinaryIO, *, progress: Progress | None = None, **_options) -> None:
    wb = Workbook(write_only=True)
    wb.properties.title = f"{report.title} · {report.range_label}"
    wb.properties.creator = report.store_name
    used: set[str] = set()
    formats = {**FORMATS, MONEY: money_format(report.currency)}
    for index, section in enumerate(report.sections):
        ws = wb.create_sheet(title=sheet_title(section.title, used))
        ws.freeze_panes = "A2"
        columns = section.columns
        for i, column in enumerate(columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        header = []
        for column in columns:
            cell = text_cell(ws, str(column.title))
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            header.append(cell)
        ws.append(header)
        totals = Totals(columns)
        typed = [(c.key, c.kind, formats.get(c.kind)) for c in columns]
        rows = section.rows
        if index == 0:
            rows = counted(rows, progress, settings.REPORTS_CHUNK_SIZE)
        n = 0
        for n, row in enumerate(rows, 1):  # noqa: B007 - n is read after the loop
            totals.add(row)
            out = []
            for key, kind, number_format in typed:
                value = _excel_value(row.get(key), kind, report.yes_no)
                if isinstance(value, str):
                    out.append(text_cell(ws, value))
                elif number_format and value is not None:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = number_format
                    out.append(cell)
                else:
                    out.append(value)
            ws.append(out)
        last = get_column_letter(len(columns))
        ws.auto_filter.ref = f"A1:{last}{n + 1}"
        if section.has_totals:
            out = []
            for column in columns:
                value = totals.row(columns, section.total_label).get(column.key)
                cell = text_cell(ws, value) if isinstance(value, str) else WriteOnlyCell(ws, value=value)
                cell.font = TOTAL_FONT
                if column.total and formats.get(column.kind):
                    cell.number_format = formats[column.kind]
                out.append(cell)
            ws.append(out)
    if not report.sections:
        wb.create_sheet(title="—")
    wb.save(fh)
