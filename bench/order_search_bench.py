"""Admin order search on a large PostgreSQL database: generate orders, then time typical searches
and record their EXPLAIN ANALYZE plans.

    createdb -h 127.0.0.1 -U postgres koszyk_bench_search
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_search
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/order_search_bench.py generate --orders 1000000
    .venv/bin/python bench/order_search_bench.py run --out bench/results/order-search-$(date +%F).md

``generate`` writes rows with ``INSERT ... SELECT generate_series`` (about a minute per million
orders): one address copy per order (names from pools of Polish first and last names, one in ten
with a company), 1-4 lines per order from a pool of 5,000 products, emails of 300,000 returning
customers, phones, statuses and payment states in realistic proportions, two years of dates and
totals from 10 to 3,000 zł. ``run`` times each search (median of several runs, warm cache) through
the same ``orders.selectors.search.search_orders`` the admin uses, on the changelist's page query
(``ORDER BY created_at DESC LIMIT 100``), and writes a Markdown report with the plans.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

import common  # noqa: E402

if __name__ == "__main__":
    common.area_database("search")  # run by the suite: a copy of its database, dropped at exit

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from orders.models import Order  # noqa: E402
from orders.selectors.search import search_orders  # noqa: E402
from shop.models import Store  # noqa: E402

FIRST_NAMES = [
    "Anna",
    "Maria",
    "Katarzyna",
    "Małgorzata",
    "Agnieszka",
    "Barbara",
    "Ewa",
    "Krystyna",
    "Elżbieta",
    "Zofia",
    "Joanna",
    "Magdalena",
    "Monika",
    "Aleksandra",
    "Natalia",
    "Piotr",
    "Krzysztof",
    "Andrzej",
    "Tomasz",
    "Paweł",
    "Jan",
    "Michał",
    "Marcin",
    "Stanisław",
    "Jakub",
    "Adam",
    "Marek",
    "Łukasz",
    "Grzegorz",
    "Mateusz",
    "Wojciech",
    "Mariusz",
    "Dariusz",
    "Zbigniew",
    "Jerzy",
    "Kamil",
]
LAST_NAMES = [
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Jankowski",
    "Mazur",
    "Kwiatkowski",
    "Krawczyk",
    "Piotrowski",
    "Grabowski",
    "Nowakowski",
    "Pawłowski",
    "Michalski",
    "Nowicki",
    "Adamczyk",
    "Dudek",
    "Zając",
    "Wieczorek",
    "Jabłoński",
    "Król",
    "Majewski",
    "Olszewski",
    "Jaworski",
    "Wróbel",
    "Malinowski",
    "Pawlak",
    "Witkowski",
    "Walczak",
    "Stępień",
    "Górski",
    "Rutkowski",
    "Michalak",
    "Sikora",
    "Ostrowski",
    "Baran",
    "Duda",
    "Szewczyk",
    "Tomaszewski",
    "Pietrzak",
    "Marciniak",
    "Wróblewski",
    "Zalewski",
    "Jakubowski",
    "Jasiński",
    "Zawadzki",
    "Sadowski",
    "Bąk",
    "Chmielewski",
    "Włodarczyk",
    "Borkowski",
    "Czarnecki",
    "Sawicki",
    "Sokołowski",
    "Urbański",
    "Kubiak",
    "Maciejewski",
    "Szczepański",
    "Kucharski",
    "Wilk",
    "Kalinowski",
    "Lis",
    "Mazurek",
    "Wysocki",
    "Adamski",
    "Kaźmierczak",
    "Wasilewski",
    "Sobczak",
    "Czerwiński",
    "Andrzejewski",
    "Cieślak",
    "Głowacki",
    "Zakrzewski",
    "Kołodziej",
    "Sikorski",
    "Krajewski",
    "Gajewski",
    "Szymczak",
    "Szulc",
    "Baranowski",
    "Laskowski",
    "Brzeziński",
    "Makowski",
    "Ziółkowski",
    "Przybylski",
    "Domański",
    "Nowaczyk",
    "Borowski",
    "Błaszczyk",
    "Chojnacki",
    "Ciesielski",
    "Mróz",
    "Szczepaniak",
    "Wesołowski",
]
ADJECTIVES = [
    "Lniana",
    "Bawełniana",
    "Wełniana",
    "Skórzana",
    "Ceramiczna",
    "Drewniana",
    "Stalowa",
    "Szklana",
    "Jedwabna",
    "Bambusowa",
]
NOUNS = [
    "Koszula",
    "Sukienka",
    "Torba",
    "Poduszka",
    "Lampa",
    "Filiżanka",
    "Deska",
    "Miska",
    "Czapka",
    "Rękawiczki",
    "Kurtka",
    "Spódnica",
    "Bluza",
    "Skarpety",
    "Apaszka",
    "Zasłona",
    "Narzuta",
    "Świeca",
    "Taca",
    "Wazon",
    "Ramka",
    "Kołdra",
    "Piżama",
    "Fartuch",
    "Ręcznik",
]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def generate(orders: int, batch: int) -> None:
    store, _ = Store.objects.get_or_create(
        domain="bench.example.pl", defaults={"name": "Sklep Bench", "is_default": not Store.objects.exists()}
    )
    first, last = _sql_array(FIRST_NAMES), _sql_array(LAST_NAMES)
    products = _sql_array([f"{a} {n}" for a in ADJECTIVES for n in NOUNS])
    with connection.cursor() as cur:
        # Bulk loads are far faster without the search indexes: drop them, load, build them again
        # (as CREATE INDEX does on a live shop's existing rows in migration 0002).
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('orders_order', 'orders_address', 'orders_orderline') AND indexname LIKE ANY(%s)",
            [["%%_trgm", "order_store_%%", "order_email_idx", "order_line_sku_idx"]],
        )
        rebuild = cur.fetchall()
        for name, _definition in rebuild:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM orders_order")
        start = cur.fetchone()[0] + 1
        done = 0
        t0 = time.perf_counter()
        while done < orders:
            n = min(batch, orders - done)
            lo, hi = start + done, start + done + n - 1
            # One address copy per order, ids aligned with the orders' ids.
            cur.execute(
                f"""
                INSERT INTO orders_address (id, first_name, last_name, company_name, tax_id, street,
                    postal_code, city, country, phone, is_default_shipping, is_default_billing, created_at)
                SELECT i, ({first})[1 + (i * 7) %% {len(FIRST_NAMES)}],
                       ({last})[1 + (i * 13 + i / 97) %% {len(LAST_NAMES)}],
                       CASE WHEN i %% 10 = 0 THEN 'Firma ' || ({last})[1 + (i / 10) %% {len(LAST_NAMES)}] || ' Sp. z o.o.'
                            ELSE '' END,
                       CASE WHEN i %% 10 = 0 THEN lpad(((i * 7919) %% 9999999999)::text, 10, '0') ELSE '' END,
                       'ul. Długa ' || (i %% 200 + 1), lpad((i %% 99)::text, 2, '0') || '-' || lpad((i %% 999)::text, 3, '0'),
                       'Warszawa', 'PL', '', false, false, now()
                FROM generate_series(%s::bigint, %s::bigint) AS i
                ON CONFLICT (id) DO NOTHING
                """,  # noqa: S608 -- constants from this module, no input
                [lo, hi],
            )
            cur.execute(
                """
                INSERT INTO orders_order (id, number, token, idempotency_key, channel, external_reference, email,
                    phone, language, currency, status, payment_status, wants_invoice, shipping_method_name,
                    pickup_point, payment_method_name, payment_provider, voucher_code, subtotal, discount_total,
                    shipping_total, shipping_vat_rate, payment_fee, total, total_net, gift_card_total,
                    customer_note, tracking_number, stock_committed, created_at, updated_at, paid_at,
                    billing_address_id, shipping_address_id, store_id)
                SELECT i,
                       'KS-' || to_char(created, 'YYMM') || '-' || lpad(i::text, 7, '0'),
                       md5(i::text || 'tok') || md5(i::text), '', 'storefront', '',
                       'klient' || ((i * 31) %% 300000) || '@' ||
                           (ARRAY['gmail.com','wp.pl','onet.pl','o2.pl','interia.pl','firma.pl'])[1 + i %% 6],
                       '+48 ' || (500000000 + (i * 7919) %% 400000000)::text,
                       'pl', 'PLN',
                       status,
                       CASE WHEN status IN ('new', 'awaiting_payment') THEN 'unpaid'
                            WHEN status = 'returned' THEN 'refunded' ELSE 'paid' END,
                       i %% 10 = 0, 'Kurier', '', 'Przelew', 'bank_transfer', '',
                       amount, 0, 15, '23', 0, amount + 15, round((amount + 15) / 1.23, 2), 0,
                       '', '', true, created, created,
                       CASE WHEN status IN ('new', 'awaiting_payment') THEN NULL ELSE created END,
                       i, i, %s
                FROM (
                    SELECT i,
                           now() - ((i * 104729) %% (730 * 86400)) * interval '1 second' AS created,
                           round((10 + ((i * 7727) %% 299000) / 100.0)::numeric, 2) AS amount,
                           (ARRAY['delivered','delivered','delivered','delivered','shipped','paid','packed',
                                  'awaiting_payment','cancelled','returned','new'])[1 + (i * 17) %% 11] AS status
                    FROM generate_series(%s::bigint, %s::bigint) AS i
                ) AS g
                """,
                [store.pk, lo, hi],
            )
            cur.execute(
                f"""
                INSERT INTO orders_orderline (order_id, product_kind, product_name, variant_name, sku, quantity,
                    unit_price, vat_rate, total, discount, total_net, total_vat, weight_grams, is_preorder,
                    components, position)
                SELECT i, 'standard', ({products})[1 + p %% {len(ADJECTIVES) * len(NOUNS)}] || ' ' || (p %% 20 + 1),
                       '', 'SKU-' || lpad(p::text, 5, '0'), 1, 49.99, '23', 49.99, 0, 40.64, 9.35, 500, false,
                       '[]'::jsonb, k
                FROM generate_series(%s::bigint, %s::bigint) AS i,
                     LATERAL generate_series(0, i %% 4) AS k,
                     LATERAL (SELECT ((i * 31 + k * 977) %% 5000) AS p) AS pp
                """,  # noqa: S608 -- constants from this module, no input
                [lo, hi],
            )
            done += n
            rate = done / (time.perf_counter() - t0)
            print(f"{done:>9,} orders ({rate:,.0f}/s)", flush=True)
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('orders_order', 'id'), (SELECT MAX(id) FROM orders_order))"
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('orders_address', 'id'), (SELECT MAX(id) FROM orders_address))"
        )
        cur.execute("SET maintenance_work_mem = '256MB'")
        for name, definition in rebuild:
            t1 = time.perf_counter()
            cur.execute(definition)
            print(f"built {name} in {time.perf_counter() - t1:.1f} s", flush=True)
    with connection.cursor() as cur:
        for table in ("orders_order", "orders_address", "orders_orderline"):
            cur.execute(f"VACUUM ANALYZE {table}")


def searches(store) -> list[tuple[str, dict]]:
    """Typical searches, with values taken from the data (an order from the middle of the table)."""
    from orders.models import Address, OrderLine

    count = Order.objects.filter(store=store).count()
    sample = Order.objects.filter(store=store).order_by("pk").select_related("shipping_address")[count // 2]
    line = OrderLine.objects.filter(order=sample).order_by("pk").first()
    companies = Address.objects.exclude(company_name="")
    company = companies.order_by("pk").values_list("company_name", flat=True)[companies.count() // 3]
    digits = "".join(ch for ch in sample.phone if ch.isdigit())
    local = sample.email.split("@")[0]
    return [
        ("number (exact, full)", {"number": sample.number}),
        ("number (fragment)", {"number": sample.number[-6:]}),
        ("email (exact)", {"email": sample.email}),
        ("email (fragment)", {"email": local[:-1]}),
        (
            "name (first + last)",
            {"name": f"{sample.shipping_address.first_name} {sample.shipping_address.last_name}"},
        ),
        ("name (company)", {"name": company}),
        ("phone (digits, any format)", {"phone": f"{digits[-9:-6]} {digits[-6:-3]} {digits[-3:]}"}),
        ("product name", {"product": line.product_name}),
        ("SKU", {"product": line.sku}),
        ("status + payment + last 30 days", {"status": ["paid"], "payment": ["paid"], "days": 30}),
        ("amount range", {"total_min": Decimal("2500"), "total_max": Decimal("2510")}),
        ("email + date range + amount", {"email": local[:-2], "days": 365, "total_min": Decimal("100")}),
        ("name + status + date range", {"name": "Kowalski", "status": ["delivered"], "days": 90}),
        ("free text: email", {"q": sample.email}),
        ("free text: number", {"q": sample.number}),
        ("free text: surname", {"q": sample.shipping_address.last_name}),
        ("free text: product", {"q": line.product_name}),
        ("no filter (first page)", {}),
    ]


def _criteria(spec: dict) -> dict:
    c = dict(spec)
    if days := c.pop("days", None):
        c["date_from"] = date.today() - timedelta(days=days)
    return c


def run(out: Path, repeat: int) -> list[dict]:
    store = Store.objects.get(domain="bench.example.pl")
    count = Order.objects.filter(store=store).count()
    lines = [
        f"# Admin order search on {count:,} orders ({date.today().isoformat()})",
        "",
        f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 100}; id look-ups of rare "
        "matches (names, products, phone digits) run as separate indexed queries before the page query: "
        "they are in the wall time, not in the plan's execution time.",
        "",
        "Each search is the admin changelist's page query: `search_orders(...)`, "
        "`ORDER BY created_at DESC, id DESC LIMIT 100`, warm cache, median of "
        f"{repeat} runs. Reproduce: `bench/order_search_bench.py run` (see the module docstring). "
        f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start "
        "(wall times include Python and any other load; the server execution time is the plan's own).",
        "",
        "| search | median ms (wall, incl. id look-ups) | server execution ms (EXPLAIN ANALYZE) | rows on page |",
        "| --- | ---: | ---: | ---: |",
    ]
    plans = []
    figures = []
    for label, spec in searches(store):
        timings = []
        rows = 0
        for _ in range(repeat):
            # Timed as the admin runs it: building the query (id look-ups included) and the page.
            t0 = time.perf_counter()
            qs = search_orders(Order.objects.filter(store=store), _criteria(spec))
            qs = qs.order_by("-created_at", "-pk")[:100]
            rows = len(list(qs.values_list("pk", "number", "email", "total", "status")))
            timings.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(timings)
        plan = qs.explain(analyze=True, buffers=True)
        executed = re.search(r"Execution Time: ([\d.]+) ms", plan)
        server = float(executed.group(1)) if executed else float("nan")
        lines.append(f"| {label} `{spec}` | {median:.1f} | {server:.1f} | {rows} |")
        figures.append(
            {
                "name": f"{label} (ms, median wall)",
                "value": round(median, 2),
                "unit": "ms",
                "floor": round(server, 2),
                "floor_is": "PostgreSQL's own execution time of the page query (EXPLAIN ANALYZE)",
                "ratio": common.ratio(median, server),
                "rows": rows,
            }
        )
        plans.append(f"### {label}\n\n```\n{plan}\n```\n")
        print(f"{label:<40} {median:8.1f} ms  (server {server:7.1f} ms)  {rows:>4} rows", flush=True)
    # The count the changelist shows (no full count: show_full_result_count = False).
    t0 = time.perf_counter()
    total = search_orders(Order.objects.filter(store=store), {"status": ["delivered"]}).count()
    lines += [
        "",
        f"Counting one status ({total:,} rows) for the paginator: {(time.perf_counter() - t0) * 1000:.0f} ms.",
        "",
        "## Plans",
        "",
        *plans,
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return figures


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the module docstring).")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders to generate (no subcommand)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 2,000 orders, one run per search")
    parser.add_argument("--json", type=Path, help="also write the figures there (the suite's convention)")
    sub = parser.add_subparsers(dest="command")
    g = sub.add_parser("generate")
    g.add_argument("--orders", type=int, default=1_000_000)
    g.add_argument("--batch", type=int, default=100_000)
    r = sub.add_parser("run")
    r.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / f"order-search-{date.today()}.md")
    r.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.smoke:
        args.orders, args.repeat = 2_000, 1
    if args.command == "generate":
        generate(args.orders, args.batch)
        return
    if args.command is None:  # the suite's call: generate, then measure
        generate(args.orders, 100_000)
        # A smoke run's tiny figures must not replace the real result file.
        out = (
            common.WORK_DIR / f"order-search-smoke-{date.today()}.md"
            if args.smoke
            else ROOT / "bench" / "results" / f"order-search-{date.today()}.md"
        )
    else:
        out = args.out
    figures = run(out, args.repeat)
    common.write_area_json(
        args.json,
        "order-search",
        figures,
        sizes={"orders": Order.objects.count(), "smoke": args.smoke},
        report=str(out),
    )


if __name__ == "__main__":
    main()
