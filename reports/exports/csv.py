"""CSV: UTF-8 with a BOM (so Excel shows Polish letters), ``;`` or ``,`` between fields.

With ``;`` (what Polish Excel expects) numbers use a decimal comma; with ``,`` a decimal point.
Only the main section is written: a CSV file holds one table. Text that could start a formula
gets a leading quote (:func:`shop.spreadsheets.spreadsheet_text`); numbers are left as numbers.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from django.conf import settings

from shop.spreadsheets import spreadsheet_text

from .table import BOOL, Progress, Report, Totals, counted


def _csv_value(value, kind: str, decimal_comma: bool, yes_no: tuple[str, str]) -> str:
    if value is None:
        return ""
    if kind == BOOL:
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        text = str(value)
        return text.replace(".", ",") if decimal_comma else text
    if isinstance(value, int):
        return str(value)
    return spreadsheet_text(str(value))


def write_csv(
    report: Report, fh: BinaryIO, *, progress: Progress | None = None, delimiter: str = ";", **_options
) -> None:
    if delimiter not in (";", ","):
        raise ValueError("delimiter must be ';' or ','")
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
        if report.sections:
            section = report.sections[0]
            columns = section.columns
            comma = delimiter == ";"
            writer.writerow([spreadsheet_text(str(c.title)) for c in columns])
            totals = Totals(columns)
            for row in counted(section.rows, progress, settings.REPORTS_CHUNK_SIZE):
                totals.add(row)
                writer.writerow([_csv_value(row.get(c.key), c.kind, comma, report.yes_no) for c in columns])
            if section.has_totals:
                total_row = totals.row(columns, section.total_label)
                writer.writerow(
                    [_csv_value(total_row.get(c.key), c.kind, comma, report.yes_no) for c in columns]
                )
        text.flush()
    finally:
        text.detach()
