"""Render the pictures of docs/reports.md: a sales chart and the first page of an order report PDF.

    .venv/bin/python bench/reports_docs_images.py     # needs pdftoppm (apt-get install poppler-utils)

The chart is the real ``shop.charts`` output, put into a tiny HTML page, printed by WeasyPrint
(exactly as in the report PDFs) and rasterised with pdftoppm; the PDF page is the real order report
writer fed with sample rows. No database needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
IMG = ROOT / "docs" / "img"


def main() -> None:
    import django

    django.setup()
    import random
    from zoneinfo import ZoneInfo

    import weasyprint
    from django.utils import translation

    from reports.builders import order_columns
    from reports.exports import Report, Section, write_pdf
    from shop import charts

    translation.activate("pl")
    rng = random.Random(7)
    days = [date(2025, 3, 1) + timedelta(days=i) for i in range(31)]
    variants = ["Koszulka Żółw – S", "Koszulka Żółw – M", "Koszulka Żółw – L"]
    values = [[Decimal(rng.randint(0, 9) * 49) for _ in days] for _ in variants]
    previous = [Decimal(rng.randint(2, 16) * 49) for _ in days]
    svg = charts.stacked_bar_chart(
        title="Przychód",
        categories=[d.strftime("%d.%m") for d in days],
        series=[charts.Series(v, vals) for v, vals in zip(variants, values, strict=True)],
        overlay=[charts.Series("Poprzedni okres (01.02.2025 – 28.02.2025)", previous, dashed=True)],
        unit=charts.Unit("money", "PLN"),
        y_label="Przychód (zł)",
    )
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        chart_pdf = Path(tmp) / "chart.pdf"
        html = f"<style>@page {{ size: 800px 400px; margin: 0 }} body {{ margin: 0 }}</style>{svg}"
        weasyprint.HTML(string=html).write_pdf(chart_pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "96", "-singlefile", str(chart_pdf), str(IMG / "reports-chart")],
            check=True,
        )
        zone = ZoneInfo("Europe/Warsaw")
        names = ["Anna Kowalska", "Jan Brzęczyszczykiewicz", "Zofia Żółkiewska", "Łukasz Ślęzak"]
        rows = []
        for i in range(60):
            total = Decimal(rng.randint(30, 900)) + Decimal("0.99")
            refunded = total if i % 17 == 0 else Decimal("0.00")
            rows.append(
                {
                    "number": f"KS-2503-{i + 1:05d}",
                    "created_at": datetime(2025, 3, 1, 8, tzinfo=UTC).astimezone(zone)
                    + timedelta(hours=11 * i),
                    "status": ["opłacone", "wysłane", "dostarczone"][i % 3],
                    "payment_status": "opłacone",
                    "channel": ["sklep", "API", "marketplace"][i % 3],
                    "customer": names[i % 4],
                    "shipping_method": ["Kurier InPost", "Paczkomat InPost", "Odbiór osobisty"][i % 3],
                    "items": 1 + i % 4,
                    "total": total,
                    "refunded": refunded,
                    "net": total - refunded,
                }
            )
        report = Report(
            title="Zamówienia",
            store_name="Sklep Testowy",
            range_label="01.03.2025 – 31.03.2025",
            currency="PLN",
            sections=[
                Section(
                    "Zamówienia", order_columns(), rows, count=len(rows), total_label=f"Razem ({len(rows)})"
                )
            ],
            landscape=True,
            yes_no=("tak", "nie"),
        )
        report_pdf = Path(tmp) / "orders.pdf"
        with open(report_pdf, "wb") as fh:
            write_pdf(report, fh)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(report_pdf),
                str(IMG / "reports-pdf-page"),
            ],
            check=True,
        )
    print(IMG / "reports-chart.png", IMG / "reports-pdf-page.png")


if __name__ == "__main__":
    main()
