"""PDF through WeasyPrint: A4, a header with the store and the range, charts (inline SVG),
tables whose header repeats on every page, totals, and "page X of Y" from CSS page counters.

WeasyPrint lays out the whole document in memory, so time and memory grow with the rows;
``REPORTS_PDF_MAX_ROWS`` caps it (see bench/results and docs/reports.md) and larger reports are
refused with a message pointing to XLSX or CSV.
"""

from __future__ import annotations

from typing import BinaryIO

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from .table import INT, MONEY, PERCENT, Progress, Report, Totals, counted, display

NUMERIC = (INT, MONEY, PERCENT)


class PdfTooLarge(ValueError):
    pass


def _rows_html(section, report: Report, progress: Progress | None) -> tuple[str, dict | None, int]:
    columns = [c for c in section.columns if c.in_pdf]
    totals = Totals(section.columns)
    classes = [' class="num"' if c.kind in NUMERIC else "" for c in columns]
    parts: list[str] = []
    n = 0
    limit = settings.REPORTS_PDF_MAX_ROWS
    for n, row in enumerate(counted(section.rows, progress, settings.REPORTS_CHUNK_SIZE), 1):
        if n > limit:
            raise PdfTooLarge(
                _("A PDF holds at most %(limit)s rows; choose XLSX or CSV, or a shorter range.")
                % {"limit": limit}
            )
        totals.add(row)
        cells = "".join(
            f"<td{cls}>{escape(display(row.get(c.key), c, report.currency, report.yes_no))}</td>"
            for c, cls in zip(columns, classes, strict=True)
        )
        parts.append(f"<tr>{cells}</tr>")
    total_cells = None
    if section.has_totals:
        total_row = totals.row(section.columns, section.total_label)
        total_cells = [
            {
                "value": display(total_row.get(c.key), c, report.currency, report.yes_no),
                "numeric": c.kind in NUMERIC,
            }
            for c in columns
        ]
    return "".join(parts), total_cells, n


def write_pdf(report: Report, fh: BinaryIO, *, progress: Progress | None = None, **_options) -> None:
    import weasyprint

    sections = []
    for index, section in enumerate(report.sections):
        body, total_cells, n = _rows_html(section, report, progress if index == 0 else None)
        columns = [c for c in section.columns if c.in_pdf]
        sections.append(
            {
                "title": section.title,
                "columns": [
                    {"title": c.title, "numeric": c.kind in NUMERIC, "width": c.width} for c in columns
                ],
                "body": mark_safe(body),
                "totals": total_cells,
                "count": n,
            }
        )
    html = render_to_string(
        "reports/pdf/report.html",
        {
            "report": report,
            "sections": sections,
            "charts": [mark_safe(svg) for svg in report.charts],
        },
    )
    weasyprint.HTML(string=html).write_pdf(fh)
