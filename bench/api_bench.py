"""The REST API under load: product list (48 per page) and product detail, and a bulk stock
update of 1,000 rows with a merchant API key.

Generates (once) a catalog of ``--products`` x ``--variants`` with ``bench/catalog_generate.py``
in a PostgreSQL bench database, creates a ``stock:write`` API key through
``shop.api.keys.create_api_key``, counts each request's SQL queries in-process, then starts
gunicorn (``--workers`` sync workers, DEBUG off, bound to 127.0.0.1 on a free port, always
stopped) and drives ``/api/v1/products/?page_size=48`` and ``/api/v1/products/<id>/`` with wrk
(``--latency``; a Python httpx loop when wrk is missing). The bulk update is timed over HTTP
against the same gunicorn (median of ``--bulk-repeats`` calls, each setting new quantities),
beside its floor: one plain SQL ``UPDATE`` of the same stock rows (rolled back).

    createdb -h 127.0.0.1 -U postgres koszyk_bench_api
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_api .venv/bin/python bench/api_bench.py

Without DATABASE_URL a bench database ``koszyk_bench_api`` is (re)created and dropped at the
end. ``--smoke``: 300 products, 3 s per endpoint, 100 bulk rows, no results file. ``--json
PATH`` also writes the figures there (bench/README.md's convention). Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

ROOT = common.ROOT
HOST = "localhost"
PY = str(ROOT / ".venv" / "bin" / "python")
OWN_DB = "koszyk_bench_api"


def _env(database_url: str) -> dict:
    work = common.WORK_DIR / "api-bench"
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DEBUG": "0",
        "SECURE_HTTPS": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "STORE_HOST_FALLBACK": "0",
        "VAR_DIR": str(work / "var"),
        "STATIC_ROOT": str(work / "static"),
        "SITE_URL": "http://localhost",
        "LOG_LEVEL": "WARNING",
        # The load comes from one address and one key: lift the rate limits, measure the API.
        "API_THROTTLE_IP": "100000000/min",
        "API_THROTTLE_KEY": "100000000/min",
    }


SETUP = r"""
import json, sys, time
sys.path.insert(0, "bench")
import django
django.setup()
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from catalog.models import Product, StockItem, Variant
from shop.api import keys
from shop.api.models import Scope
from shop.models import Store
import catalog_generate

products, variants, bulk_rows = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
t = time.monotonic()
call_command("migrate", interactive=False, verbosity=0)
store, _ = Store.objects.get_or_create(domain="localhost", defaults={"name": "Bench", "is_default": True})
generated = None
if not Product.objects.filter(store=store).exists():
    generated = catalog_generate.generate(store=store, products=products, variants=variants)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
published = Product.objects.filter(store=store, is_published=True).order_by("pk")
product = published[published.count() // 2]
_key, raw_key = keys.create_api_key(store=store, name="api bench", scopes=[Scope.STOCK_WRITE])
skus = list(Variant.objects.filter(store=store, track_stock=True).order_by("pk").values_list("sku", flat=True)[:bulk_rows])
endpoints = {
    "product_list": "/api/v1/products/?page_size=48",
    "product_list_filtered": "/api/v1/products/?page_size=48&in_stock=true&ordering=price&page=3",
    "product_detail": f"/api/v1/products/{product.pk}/",
}
client = APIClient(HTTP_HOST="localhost")
queries = {}
for name, path in endpoints.items():
    client.get(path)  # warm the store and category caches like a running shop
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    queries[name] = {"status": response.status_code, "queries": len(ctx.captured_queries),
                     "bytes": len(response.content)}
# The bulk update's queries, in-process and rolled back (the timed calls go through gunicorn).
merchant = APIClient(HTTP_HOST="localhost")
merchant.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
rows = [{"sku": sku, "quantity": 7} for sku in skus]
with transaction.atomic():
    with CaptureQueriesContext(connection) as ctx:
        response = merchant.post("/api/v1/stock/bulk/", {"rows": rows}, format="json")
    bulk = {"status": response.status_code, "queries": len(ctx.captured_queries), "rows": len(rows)}
    transaction.set_rollback(True)
# Floor: one plain SQL UPDATE of the same stock rows (rolled back).
ids = list(StockItem.objects.filter(variant__store=store, variant__sku__in=skus).values_list("pk", flat=True))
with transaction.atomic():
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("UPDATE %s SET quantity = 9 WHERE id = ANY(%%s)" % StockItem._meta.db_table, [ids])
        bulk["floor_sql_update_s"] = round(time.perf_counter() - started, 4)
    transaction.set_rollback(True)
with connection.cursor() as cursor:
    cursor.execute("show server_version")
    postgres = cursor.fetchone()[0]
print(json.dumps({"postgres": postgres, "endpoints": endpoints, "queries": queries, "bulk": bulk,
                  "generated": generated, "key": raw_key, "skus": skus,
                  "products": Product.objects.filter(store=store).count(),
                  "variants": Variant.objects.filter(store=store).count(),
                  "setup_s": round(time.monotonic() - t, 1)}))
"""


def _post_json(url: str, body: dict, headers: dict) -> tuple[int, dict, float]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "Host": HOST, **headers}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    elapsed = time.perf_counter() - started
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = {"raw": payload[:500].decode(errors="replace")}
    return status, parsed, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bulk-rows", type=int, default=1000)
    parser.add_argument("--bulk-repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 300 products, 3 s, 100 bulk rows")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/results/")
    args = parser.parse_args()
    if args.smoke:
        args.products, args.duration, args.warmup, args.bulk_rows, args.bulk_repeats = 300, 3.0, 1.0, 100, 1

    own_db = "DATABASE_URL" not in os.environ
    database_url = common.create_database(OWN_DB) if own_db else os.environ["DATABASE_URL"]
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("api_bench measures PostgreSQL: set DATABASE_URL to a postgres:// bench database")
        return 2
    env = {**os.environ, **_env(database_url)}
    machine = common.machine_info()
    load_before = os.getloadavg()
    try:
        common.log(f"setup: migrate + catalog of {args.products} x {args.variants}")
        try:
            setup = common.run_setup(PY, SETUP, [args.products, args.variants, args.bulk_rows], env)
        except RuntimeError as error:
            print(error)
            return 1
        common.log(
            f"setup done in {setup['setup_s']} s: {setup['products']} products, queries {setup['queries']}"
        )
        wrk = common.ensure_wrk(allow_install=False)
        results: dict = {}
        bulk_times: list[float] = []
        bulk_status: list[int] = []
        with common.Gunicorn(
            name="api-bench",
            python=PY,
            app="shop.wsgi:application",
            cwd=ROOT,
            env=_env(database_url),
            workers=args.workers,
            ready_path="/api/v1/",
            ready_host=HOST,
        ) as server:
            results = common.measure_paths(
                server,
                setup["endpoints"],
                host=HOST,
                duration=args.duration,
                connections=args.connections,
                warmup=args.warmup,
                use_wrk=bool(wrk),
            )
            for name in results:
                results[name].update(setup["queries"][name])
            auth = {"Authorization": f"Bearer {setup['key']}"}
            for i in range(args.bulk_repeats):
                rows = [{"sku": sku, "quantity": 10 + i} for sku in setup["skus"]]
                status, body, elapsed = _post_json(
                    server.base_url + "/api/v1/stock/bulk/",
                    {"rows": rows},
                    {**auth, "Idempotency-Key": f"bench-{time.time_ns()}-{i}"},
                )
                bulk_status.append(status)
                if status != 200 or body.get("updated") != len(rows):
                    raise RuntimeError(f"bulk update answered {status}: {str(body)[:500]}")
                bulk_times.append(round(elapsed, 3))
                common.log(f"stock/bulk {len(rows)} rows: {elapsed:.2f} s")
            peak = server.worker_peak_kib
    finally:
        if own_db:
            common.drop_database(OWN_DB)

    bulk = {
        **setup["bulk"],
        "seconds": bulk_times,
        "median_s": round(statistics.median(bulk_times), 3),
        "rows_per_s": round(setup["bulk"]["rows"] / statistics.median(bulk_times), 1),
        "queries_per_row": round(setup["bulk"]["queries"] / max(1, setup["bulk"]["rows"]), 2),
    }
    bulk["ratio_to_floor"] = common.ratio(bulk["median_s"], bulk["floor_sql_update_s"], 0)
    figures = [
        {"name": f"{name} req/s", "value": r["rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"]}
        for name, r in results.items()
    ] + [
        {
            "name": f"stock/bulk {bulk['rows']} rows s",
            "value": bulk["median_s"],
            "floor": bulk["floor_sql_update_s"],
            "ratio": bulk["ratio_to_floor"],
        }
    ]
    data = {
        "area": "api",
        "machine": machine,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "sizes": {
            "products": setup["products"],
            "variants": setup["variants"],
            "bulk_rows": bulk["rows"],
            "smoke": args.smoke,
        },
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "tool": "wrk" if wrk else "python-httpx",
        "wrk": common.wrk_version() if wrk else None,
        "postgres": setup["postgres"],
        "generated": setup["generated"],
        "worker_peak_kib": peak,
        "endpoints": results,
        "bulk": bulk,
        "figures": figures,
    }
    lines = [
        f"# REST API under load ({machine['date']})",
        "",
        f"- Machine: {machine.get('cpu_model')} · {machine.get('cores')} cores · {machine.get('memory_gib')} GiB RAM · "
        f"{machine.get('os', '')}",
        f"- **Shared machine**: other work (test suites, other benchmarks) ran meanwhile; load average "
        f"{data['load_average_before']} before, {data['load_average_after']} after (1/5/15 min). "
        "Absolute figures are low and noisy; compare runs only at similar load.",
        f"- Python {machine.get('python', sys.version.split()[0])}, PostgreSQL {setup['postgres']}, "
        f"gunicorn {args.workers} sync workers, DEBUG off, cache: "
        f"{'Redis' if os.environ.get('REDIS_URL') else 'file'}; server, PostgreSQL and load tool share the machine",
        f"- Catalog: {setup['products']} products, {setup['variants']} variants (bench/catalog_generate.py"
        f"{', generated in ' + str(setup['generated'].get('seconds')) + ' s' if setup['generated'] else ''})",
        f"- Load: {data['tool']} {data['wrk'] or ''}, {args.connections} connections, {args.warmup:.0f} s warm-up "
        f"then {args.duration:.0f} s per endpoint",
        "",
        "| endpoint | path | req/s | p50 ms | p99 ms | non-2xx | server CPU ms/req | SQL queries | bytes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | `{r['path']}` | {r['rps']:.1f} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']} | "
            f"{r['server_cpu_ms_per_request']} | {r['queries']} | {r['bytes']:,} |"
        )
    lines += [
        "",
        f"Bulk stock update (`POST /api/v1/stock/bulk/`, {bulk['rows']} rows setting `quantity`, API key with "
        f"`stock:write`, one `Idempotency-Key` per call), over HTTP:",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| seconds per call (median of {len(bulk_times)}: {bulk_times}) | {bulk['median_s']} |",
        f"| rows/s | {bulk['rows_per_s']} |",
        f"| SQL queries per call (in-process) | {bulk['queries']} ({bulk['queries_per_row']} per row) |",
        f"| floor: one plain SQL UPDATE of the same rows, s | {bulk['floor_sql_update_s']} |",
        f"| ratio to the floor | {bulk['ratio_to_floor']} |",
        "",
        "Reproduce: `createdb -h 127.0.0.1 -U postgres koszyk_bench_api && "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_api .venv/bin/python bench/api_bench.py` "
        "(`--smoke` for a CI-sized run, `--json PATH` for the figures).",
    ]
    common.finish(
        data,
        "\n".join(lines),
        json_path=args.json,
        prefix="api",
        write_results_files=not (args.no_results or args.smoke),
    )
    return 1 if any(r["non_2xx"] for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
