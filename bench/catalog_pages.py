"""Storefront catalog pages under load: category page, search and product page.

Generates (once) a catalog of ``--products`` x ``--variants`` with ``bench/catalog_generate.py``
in a PostgreSQL bench database, starts gunicorn (``--workers`` sync workers, production settings:
DEBUG off, compressed manifest static files) and drives each page with wrk (``--latency``;
falls back to a Python httpx loop when wrk is missing), printing requests/second and p50/p99.
It also counts the SQL queries of each page in-process. Results go to
``bench/results/catalog-<date>.md`` (+ ``.json``) with the machine's description.

    createdb -h 127.0.0.1 -U postgres koszyk_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench .venv/bin/python bench/catalog_pages.py

Without DATABASE_URL a bench database ``koszyk_bench_catalog`` is (re)created and dropped at the
end. ``--smoke`` is CI-sized (300 products, 3 s per page); ``--json PATH`` also writes the
figures there (the suite's convention). Never part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

ROOT = common.ROOT
HOST = "localhost"
PY = str(ROOT / ".venv" / "bin" / "python")


def _env(database_url: str) -> dict:
    work = common.WORK_DIR / "catalog-pages"
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
    }


SETUP = r"""
import json, sys, time
sys.path.insert(0, "bench")
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from catalog.models import Product, Category
from shop.models import Store
import catalog_generate

products, variants = int(sys.argv[1]), int(sys.argv[2])
t = time.monotonic()
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
store, _ = Store.objects.get_or_create(domain="localhost", defaults={"name": "Bench", "is_default": True})
generated = None
if not Product.objects.filter(store=store).exists():
    generated = catalog_generate.generate(store=store, products=products, variants=variants)
top = Category.objects.filter(store=store, parent__isnull=True).order_by("position", "pk").first()
product = Product.objects.filter(store=store, is_published=True).order_by("pk")[7]
pages = {
    "category": f"/k/{top.slug}/",
    "category_filtered": f"/k/{top.slug}/?sort=price&price_min=50&available=1&page=3",
    "search": "/szukaj/?q=lniana+sukienka",
    "product": f"/p/{product.slug}/",
    "home": "/",
}
client = Client(HTTP_HOST="localhost")
queries = {}
for name, path in pages.items():
    client.get(path)  # warm the category-tree cache like a running shop
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(path).status_code
    queries[name] = {"status": status, "queries": len(ctx.captured_queries)}
with connection.cursor() as cursor:
    cursor.execute("show server_version")
    postgres = cursor.fetchone()[0]
print(json.dumps({"postgres": postgres, "pages": pages, "queries": queries, "generated": generated,
                  "products": Product.objects.filter(store=store).count(), "setup_s": round(time.monotonic() - t, 1)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per page")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 300 products, 3 s per page")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/results/")
    args = parser.parse_args()
    if args.smoke:
        args.products, args.duration, args.warmup = 300, 3.0, 1.0

    own_db = "DATABASE_URL" not in os.environ
    database_url = common.create_database("koszyk_bench_catalog") if own_db else os.environ["DATABASE_URL"]
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("catalog_pages measures PostgreSQL: set DATABASE_URL to a postgres:// bench database")
        return 2
    env = {**os.environ, **_env(database_url)}
    try:
        common.log(f"setup: migrate + catalog of {args.products} x {args.variants}")
        try:
            setup = common.run_setup(PY, SETUP, [args.products, args.variants], env)
        except RuntimeError as error:
            print(error)
            return 1
        common.log(f"setup done: {setup}")
        wrk = common.ensure_wrk(allow_install=False)
        with common.Gunicorn(
            name="catalog-pages",
            python=PY,
            app="shop.wsgi:application",
            cwd=ROOT,
            env=_env(database_url),
            workers=args.workers,
            ready_path="/",
            ready_host=HOST,
        ) as server:
            results = common.measure_paths(
                server,
                setup["pages"],
                host=HOST,
                duration=args.duration,
                connections=args.connections,
                warmup=args.warmup,
                use_wrk=bool(wrk),
            )
            for name in results:
                results[name].update(setup["queries"][name])
            peak = server.worker_peak_kib
    finally:
        if own_db:
            common.drop_database("koszyk_bench_catalog")

    machine = common.machine_info()
    data = {
        "machine": machine,
        "products": setup["products"],
        "variants_per_product": args.variants,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "tool": "wrk" if wrk else "python-httpx",
        "wrk": common.wrk_version() if wrk else None,
        "generated": setup["generated"],
        "worker_peak_kib": peak,
        "pages": results,
    }
    lines = [
        f"# Catalog pages under load ({machine['date']})",
        "",
        f"- Machine: {machine.get('cpu_model')} · {machine.get('cores')} cores · {machine.get('memory_gib')} GiB RAM · "
        f"{machine.get('os', '')} · load average at start {machine.get('load_average_at_start')}",
        f"- Python {machine.get('python', sys.version.split()[0])}, PostgreSQL {setup.get('postgres', '?')}, "
        f"gunicorn {args.workers} sync workers, DEBUG off, cache: "
        f"{'Redis' if os.environ.get('REDIS_URL') else 'file'}; the server, PostgreSQL and the load "
        "tool share the machine",
        f"- Catalog: {setup['products']} products × {args.variants} variants "
        f"(bench/catalog_generate.py{'; generated in ' + str(setup['generated']['seconds']) + ' s' if setup['generated'] else ''})",
        f"- Load: {data['tool']} {data['wrk'] or ''}, {args.connections} connections, {args.duration:.0f} s per page",
        "",
        "| page | path | req/s | p50 ms | p99 ms | non-2xx | server CPU ms/req | SQL queries |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | `{r['path']}` | {r['rps']:.1f} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']} | "
            f"{r['server_cpu_ms_per_request']} | {r['queries']} |"
        )
    lines += [
        "",
        "Reproduce: `createdb -h 127.0.0.1 -U postgres koszyk_bench && "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench .venv/bin/python bench/catalog_pages.py`",
    ]
    data["figures"] = [
        {"name": f"{name} req/s", "value": r["rps"], "server_cpu_ms": r["server_cpu_ms_per_request"]}
        for name, r in results.items()
    ]
    common.finish(
        data,
        "\n".join(lines),
        json_path=args.json,
        prefix="catalog",
        write_results_files=not (args.no_results or args.smoke),
    )
    return 1 if any(r["non_2xx"] for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
