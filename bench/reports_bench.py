"""Order report exports (XLSX, PDF) at 1,000 / 10,000 / 100,000 orders, beside the bare library.

Usage (PostgreSQL; the database is created and filled on first run)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_reports \\
        .venv/bin/python bench/reports_bench.py [--sizes 1000 10000 100000] [--out bench/results/...]

Orders are generated with ``INSERT ... SELECT generate_series`` (1,000 per local day from
2024-01-01, one line each), so N orders are exactly the first N/1000 days. Every measurement runs
in a fresh child process and reports wall seconds and peak RSS (``ru_maxrss``) beside the RSS
after Django started, so numbers do not leak between runs.

"Floor" is the bare library writing the same number of rows and columns from memory: an
openpyxl write-only loop, and WeasyPrint rendering a plain HTML table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

if __name__ == "__main__" and "--child" not in sys.argv:
    common.area_database("reports")  # run by the suite: a copy of its database, dropped at exit
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/koszyk_bench_reports"
START = date(2024, 1, 1)
PER_DAY = 1000
PDF_PRACTICAL = 5000  # above this the bench does not run PDFs (REPORTS_PDF_MAX_ROWS refuses them)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django():
    import django

    django.setup()


def ensure_database(max_orders: int) -> int:
    """Create, migrate and fill the bench database; returns the store id."""
    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from shop.models import Store

    store, _ = Store.objects.get_or_create(domain="bench.example.pl", defaults={"name": "Sklep Bench"})
    from orders.models import Order

    have = Order.objects.filter(store=store).count()
    if have >= max_orders:
        return store.pk
    Order.objects.filter(store=store).delete()
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        _insert(cur, "orders_order", max_orders, _order_overrides(store.pk))
        _insert_lines(cur, store.pk)
    print(f"generated {max_orders} orders in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return store.pk


def _defaults(cur, table: str) -> dict[str, str]:
    """A value for every NOT NULL column (Django keeps defaults in Python, not in the table)."""
    cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_name <> 'id'",
        [table],
    )
    by_type = {
        "character varying": "''",
        "text": "''",
        "numeric": "0",
        "integer": "0",
        "smallint": "0",
        "bigint": "0",
        "boolean": "false",
        "timestamp with time zone": "now()",
        "date": "current_date",
        "jsonb": "'[]'::jsonb",
    }
    return {col: by_type[kind] for col, kind in cur.fetchall()}


def _order_overrides(store_id: int) -> dict[str, str]:
    # created_at: i-th order at START 00:00 Warsaw + i * 86.4 s -> exactly 1,000 per local day.
    return {
        "store_id": str(store_id),
        "number": "'B' || lpad(i::text, 7, '0')",
        "token": "md5('bench' || i::text)",
        "email": "'klient' || (i % 5000)::text || '@example.com'",
        "language": "'pl'",
        "currency": "'PLN'",
        "status": "(ARRAY['paid','shipped','delivered','new','cancelled'])[1 + i % 5]",
        "payment_status": "(CASE WHEN i % 5 IN (3, 4) THEN 'unpaid' ELSE 'paid' END)",
        "channel": "(ARRAY['storefront','storefront','api','marketplace'])[1 + i % 4]",
        "shipping_method_name": "'Kurier InPost'",
        "payment_method_name": "'Przelew'",
        "subtotal": "(50 + (i % 400))::numeric(12,2)",
        "shipping_total": "14.99",
        "total": "(64.99 + (i % 400))::numeric(12,2)",
        "total_net": "((64.99 + (i % 400)) / 1.23)::numeric(12,2)",
        "shipping_vat_rate": "'23'",
        "created_at": "timestamptz '2024-01-01 00:00 Europe/Warsaw' + (i * interval '86.4 seconds')",
        "updated_at": "now()",
    }


def _insert(cur, table: str, n: int, overrides: dict[str, str]) -> None:
    values = {**_defaults(cur, table), **overrides}
    cols = ", ".join(values)
    exprs = ", ".join(values.values())
    # No query parameters: the expressions use "%" (modulo); n is an int we made.
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {exprs} FROM generate_series(0, {int(n) - 1}) AS i")  # noqa: S608


def _insert_lines(cur, store_id: int) -> None:
    values = _defaults(cur, "orders_orderline")
    values.update(
        {
            "order_id": "o.id",
            "product_kind": "'standard'",
            "product_name": "'Koszulka bawełniana ' || (o.id % 50)::text",
            "variant_name": "'M'",
            "sku": "'SKU-' || (o.id % 50)::text",
            "quantity": "1 + o.id % 3",
            "unit_price": "o.subtotal",
            "vat_rate": "'23'",
            "total": "o.subtotal",
            "components": "'[]'::jsonb",
        }
    )
    cols = ", ".join(values)
    exprs = ", ".join(values.values())
    cur.execute(
        f"INSERT INTO orders_orderline ({cols}) SELECT {exprs} FROM orders_order o WHERE o.store_id = {int(store_id)}"  # noqa: S608
    )


# --- one measurement, in a child process ------------------------------------------------------


def measure(mode: str, fmt: str, n: int, store_id: int) -> dict:
    setup_django()
    import tempfile

    base = rss_mb()
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as fh:
        if mode == "koszyk":
            from django.conf import settings

            settings.REPORTS_PDF_MAX_ROWS = max(settings.REPORTS_PDF_MAX_ROWS, n)
            from reports import services
            from shop.models import Store

            store = Store.objects.get(pk=store_id)
            params = {
                "date_from": START.isoformat(),
                "date_to": (START + timedelta(days=max(1, -(-n // PER_DAY)) - 1)).isoformat(),
            }
            report = services.build_report(store=store, kind="orders", params=params)
            n = report.row_count  # DST shifts the 86.4 s grid: the last local days hold a few orders less
            services.write_report(report=report, fmt=fmt, fh=fh, params=params)
        elif fmt == "xlsx":
            _floor_xlsx(fh, n)
        else:
            _floor_pdf(fh, n)
        size = fh.tell()
    return {
        "mode": mode,
        "format": fmt,
        "rows": n,
        "seconds": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(rss_mb(), 1),
        "baseline_rss_mb": round(base, 1),
        "file_kb": size // 1024,
    }


def _floor_rows(n: int):
    from datetime import datetime
    from decimal import Decimal

    for i in range(n):
        yield [
            f"B{i:07d}",
            datetime(2024, 1, 1) + timedelta(seconds=86.4 * i),
            "opłacone",
            "opłacone",
            "sklep",
            "klient@example.com",
            "Anna Kowalska",
            "Kurier InPost",
            "Przelew",
            1 + i % 3,
            Decimal(50 + i % 400),
            Decimal(0),
            Decimal("14.99"),
            Decimal("64.99") + i % 400,
            Decimal(0),
            Decimal("64.99") + i % 400,
        ]


def _floor_xlsx(fh, n: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Orders")
    ws.append([f"col{i}" for i in range(16)])
    for row in _floor_rows(n):
        ws.append(row)
    wb.save(fh)


def _floor_pdf(fh, n: int) -> None:
    import weasyprint

    rows = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row[:11]) + "</tr>" for row in _floor_rows(n))
    html = f"<html><body><table><thead><tr>{'<th>h</th>' * 11}</tr></thead><tbody>{rows}</tbody></table></body></html>"
    weasyprint.HTML(string=html).write_pdf(fh)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument(
        "--out", default=str(ROOT / "bench" / "results" / f"reports-{date.today():%Y-%m-%d}.md")
    )
    parser.add_argument("--pdf-max", type=int, default=PDF_PRACTICAL, help="largest PDF to time")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "FORMAT", "N", "STORE"))
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 200 rows, XLSX and PDF")
    parser.add_argument("--json", type=Path, help="also write the figures there (the suite's convention)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.pdf_max = [200], 200
        # A smoke run's tiny figures must not replace the real result file.
        args.out = str(common.WORK_DIR / f"reports-smoke-{date.today():%Y-%m-%d}.md")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    if args.child:
        mode, fmt, n, store_id = args.child
        print(json.dumps(measure(mode, fmt, int(n), int(store_id))))
        return
    store_id = ensure_database(max(args.sizes))
    results = []
    for n in args.sizes:
        for fmt in ("xlsx", "pdf"):
            if fmt == "pdf" and n > args.pdf_max:
                results.append(
                    {"mode": "koszyk", "format": "pdf", "rows": n, "skipped": "over REPORTS_PDF_MAX_ROWS"}
                )
                continue
            for mode in ("koszyk", "floor"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", mode, fmt, str(n), str(store_id)],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "LOG_LEVEL": "WARNING"},
                )
                if out.returncode:
                    print(out.stderr[-2000:], file=sys.stderr)
                    raise SystemExit(out.returncode)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(result, file=sys.stderr)
                results.append(result)
    write_results(Path(args.out), results)
    figures = []
    by_size: dict = {}
    for r in results:
        by_size.setdefault((r["format"], r["rows"]), {})[r["mode"]] = r
    for (fmt, n), modes in sorted(by_size.items()):
        ours, floor = modes.get("koszyk", {}), modes.get("floor", {})
        if "skipped" in ours:
            continue
        figures.append(
            {
                "name": f"order report {fmt.upper()}, {n:,} rows (s)",
                "value": ours.get("seconds"),
                "unit": "s",
                "floor": floor.get("seconds"),
                "floor_is": "the bare library writing the same rows from memory",
                "ratio": common.ratio(ours.get("seconds"), floor.get("seconds")),
                "peak_rss_mb": ours.get("peak_rss_mb"),
            }
        )
    common.write_area_json(args.json, "reports", figures, sizes={"rows": args.sizes, "smoke": args.smoke})


def write_results(path: Path, results: list[dict]) -> None:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        lines_ = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines_ if ln.startswith("model name")), "")
    mem = ""
    if Path("/proc/meminfo").exists():
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    lines = [
        f"# Reports bench ({date.today():%Y-%m-%d})",
        "",
        f"Machine: {cpu or platform.processor()}, {os.cpu_count()} CPUs, {mem} RAM; "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; PostgreSQL (local).",
        "",
        "Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_reports "
        ".venv/bin/python bench/reports_bench.py`",
        "",
        "koszyk = `reports.services.build_report` + `write_report` (order report, 16 columns, totals, "
        "typed cells; PDF: 11 columns, A4 landscape, page counters); floor = the bare library writing "
        "the same number of rows from memory. Peak RSS is the child process' maximum; baseline is after "
        "Django started.",
        "",
        "| format | rows | koszyk s | koszyk peak MB | floor s | floor peak MB | file KB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    table: dict = {}
    for r in results:
        table.setdefault((r["format"], r["rows"]), {})[r["mode"]] = r
    for (fmt, n), modes in sorted(table.items(), key=lambda kv: (kv[0][0] != "xlsx", kv[0][1])):
        k, f = modes.get("koszyk", {}), modes.get("floor", {})
        if "skipped" in k:
            lines.append(f"| {fmt} | {n:,} | refused ({k['skipped']}) | – | – | – | – |")
            continue
        lines.append(
            f"| {fmt} | {n:,} | {k.get('seconds')} | {k.get('peak_rss_mb')} | {f.get('seconds')} | "
            f"{f.get('peak_rss_mb')} | {k.get('file_kb')} |"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(path)


if __name__ == "__main__":
    main()
