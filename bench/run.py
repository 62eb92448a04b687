"""Koszyk's benchmark suite: ``make bench`` (full) and ``make bench-smoke`` (CI-sized).

One command that measures the shop against its peers and its floors, every figure beside
something run in the same run on the same machine:

1. Storefront under load. Three gunicorns with the same settings (``--workers`` sync workers,
   default 2), all up at once: Koszyk on a generated catalog in PostgreSQL, django-oscar on the
   same catalog in its own PostgreSQL database and virtual environment, and a trivial Django view
   returning "ok" (the framework's ceiling). For each page (home, category page 1 and a deep
   page, search, product, cart) wrk (``--latency``) drives the three back to back, for
   ``--rounds`` rounds; the median of the rounds is reported with ours/oscar and ours/ceiling.
2. SQL queries per page (and per API list endpoint, and cart/add-to-cart at 1 and 20 lines),
   ours beside Oscar's, counted in-process with ``CaptureQueriesContext``.
3. The other areas' bench scripts (``bench/<area>_*.py``), each run as a subprocess; see
   ``bench/README.md`` for the ``--smoke`` / ``--json PATH`` convention.

Results: a table on stdout and ``bench/results/bench-<date>.json`` + ``.md`` (``-smoke`` in the
name for smoke runs). Bench databases ``koszyk_bench_suite`` and ``oscar_bench`` are created and
dropped by the run (``--keep-dbs`` keeps them). Every server is stopped in a ``finally``.

Internal use: ``run.py _koszyk setup|queries`` runs a step inside Koszyk's Django (a child
process with the bench database's environment).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import BENCH_DIR, ROOT, WORK_DIR, log

# Overridable so a second run (e.g. --profile) can work beside a running suite.
KOSZYK_DB = os.environ.get("BENCH_KOSZYK_DB", "koszyk_bench_suite")
OSCAR_DB = os.environ.get("BENCH_OSCAR_DB", "oscar_bench")
STORE_HOST = "localhost"
PAGES = ["home", "category", "category_deep", "search", "product", "cart"]
PAGE_LABELS = {
    "home": "home",
    "category": "category p.1",
    "category_deep": "category deep page",
    "search": "search",
    "product": "product",
    "cart": "cart (empty)",
}
# Files in bench/ that are not area benchmark scripts.
NOT_AREA_SCRIPTS = {"run.py", "common.py", "koszyk_catalog.py", "catalog_generate.py", "__init__.py"}
# Scripts with these words in their names make data or pictures; they are not benchmarks.
NOT_BENCHMARK_WORDS = ("generate", "docs_images")
CATALOG_JSON = WORK_DIR / "catalog.json"


# =================================================================================================
# Inside Koszyk's Django (child process)
# =================================================================================================


def _django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()


def _generate_koszyk_catalog(store, *, products: int, variants: int, seed: int | None) -> dict:
    """The catalog area's generator (bench/catalog_generate.py) when it exists, else ours."""
    if (BENCH_DIR / "catalog_generate.py").exists():
        import catalog_generate

        fn = getattr(catalog_generate, "generate", None) or getattr(
            catalog_generate, "generate_catalog", None
        )
        if fn is not None:
            import inspect

            params = inspect.signature(fn).parameters
            kwargs = {"store": store, "products": products, "variants": variants, "seed": seed}
            kwargs = {k: v for k, v in kwargs.items() if k in params and v is not None}
            if "variants_per_product" in params:
                kwargs["variants_per_product"] = variants
            result = fn(**kwargs)
            return {
                "generator": "bench/catalog_generate.py",
                "seed": seed if seed is not None else getattr(catalog_generate, "SEED", None),
                "result": result,
            }
    import koszyk_catalog

    seed = seed if seed is not None else koszyk_catalog.SEED
    return {
        "generator": "bench/koszyk_catalog.py",
        "seed": seed,
        "result": koszyk_catalog.generate(store=store, products=products, variants=variants, seed=seed),
    }


def koszyk_setup(args) -> dict:
    """Migrate, create the store, generate + export the catalog, pick
    the pages to request. Prints JSON."""
    _django_setup()
    from django.conf import settings
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.monotonic() - started

    from catalog.models import Category, Product, Variant
    from shop.models import Store

    store = Store.objects.filter(domain=STORE_HOST).first()
    if store is None:
        store = Store.objects.create(
            name="Bench", domain=STORE_HOST, is_default=not Store.objects.filter(is_default=True).exists()
        )
    started = time.monotonic()
    generated = _generate_koszyk_catalog(
        store, products=args.products, variants=args.variants, seed=args.seed
    )
    generated["seconds"] = round(time.monotonic() - started, 1)
    # Fresh bulk-loaded tables have no planner statistics; production ones do (autovacuum).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    import koszyk_catalog

    exported = koszyk_catalog.export_catalog(store=store, path=CATALOG_JSON)

    # Pages: the top-level category with the most products in its subtree, page 1 and a page
    # 90% of the way down; the middle product; a search for the first two words of its name.
    published = Product.objects.filter(store=store, is_published=True)
    roots = Category.objects.filter(store=store, parent__isnull=True, is_published=True)
    best = max(
        ((published.filter(category__path__startswith=c.path).count(), c) for c in roots),
        key=lambda pair: (pair[0], -pair[1].pk),
    )
    in_category, category = best
    pages = max(1, math.ceil(in_category / settings.CATALOG_PAGE_SIZE))
    deep = max(1, (pages * 9) // 10)
    ordered = published.order_by("pk")
    product = ordered[ordered.count() // 2]
    words = re.findall(r"\w+", product.name.lower())
    query = " ".join(words[:2])
    cart_variants = list(
        Variant.objects.filter(
            store=store, is_active=True, product__is_published=True, stock_items__quantity__gte=5
        )
        .order_by("pk")
        .values_list("pk", "sku")[:20]
    )
    from urllib.parse import urlencode

    targets = {
        "home": "/",
        "category": category.get_absolute_url(),
        "category_deep": f"{category.get_absolute_url()}?page={deep}",
        "search": "/szukaj/?" + urlencode({"q": query}),
        "product": product.get_absolute_url(),
        "cart": "/koszyk/",
    }
    return {
        "migrate_seconds": round(migrated, 1),
        "catalog": {"generated": generated, "exported": exported},
        "targets": targets,
        "category": {"slug": category.slug, "products": in_category, "pages": pages, "deep_page": deep},
        "product_slug": product.slug,
        "search_query": query,
        "page_size": settings.CATALOG_PAGE_SIZE,
        "cart_variants": [{"id": pk, "sku": sku} for pk, sku in cart_variants],
    }


def _api_list_urls() -> list[tuple[str, str]]:
    """(name, path) of every argument-free API URL named ``*-list`` (DRF routers' list views)."""
    from django.urls import URLPattern, URLResolver, get_resolver, reverse

    found: list[tuple[str, str]] = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, ns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and p.name and p.name.endswith("-list"):
                if "<" in prefix + str(p.pattern) or "(?P" in prefix + str(p.pattern):
                    continue
                try:
                    found.append((p.name, reverse(f"{namespace}{p.name}")))
                except Exception:  # noqa: S112 - a pattern we cannot reverse is not a list view
                    continue

    walk(get_resolver().url_patterns, "", "")
    return sorted(
        {path: name for name, path in found if path.startswith("/api/")}.items(), key=lambda x: x[0]
    )


def _api_client_headers() -> tuple[dict, str]:
    """Headers for an authenticated API client, when the API app offers a way to mint a key."""
    try:
        from shop.api import keys
    except Exception:
        return {}, "no shop.api.keys module"
    for name in ("create_api_key", "issue_key", "create_key", "new_key"):
        fn = getattr(keys, name, None)
        if fn is None:
            continue
        try:
            import inspect

            from shop.models import Store

            store = Store.objects.get(domain=STORE_HOST)
            params = inspect.signature(fn).parameters
            kwargs = {k: v for k, v in {"store": store, "name": "bench"}.items() if k in params}
            if "scopes" in params:
                # Every scope: the benchmark reads every list endpoint.
                scope = getattr(keys, "Scope", None)
                kwargs["scopes"] = list(scope.values) if scope is not None else []
            result = fn(**kwargs)
            secret = result[1] if isinstance(result, tuple) else getattr(result, "secret", result)
            return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}, f"shop.api.keys.{name}"
        except Exception as error:
            return {}, f"shop.api.keys.{name} failed: {error}"
    return {}, "no key-minting function found in shop.api.keys"


def koszyk_queries(spec: dict) -> dict:
    """SQL queries per storefront page (warm: second request), per API list endpoint, and for the
    cart with 1 and 20 lines. Prints JSON."""
    _django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def count(client, method, url, **kwargs):
        with CaptureQueriesContext(connection) as ctx:
            response = getattr(client, method)(url, **kwargs)
        return response.status_code, len(ctx.captured_queries)

    out: dict = {"pages": {}, "api": {}, "cart": {}}
    for name, url in spec["targets"].items():
        _cold_status, cold = count(Client(HTTP_HOST=STORE_HOST), "get", url)
        status, warm = count(Client(HTTP_HOST=STORE_HOST), "get", url)
        out["pages"][name] = {"url": url, "status": status, "queries": warm, "queries_cold": cold}
    headers, how = _api_client_headers()
    out["api_auth"] = how
    for url, name in _api_list_urls():
        client = Client(HTTP_HOST=STORE_HOST, **headers)
        count(client, "get", url)
        status, queries = count(client, "get", url)
        out["api"][name] = {"url": url, "status": status, "queries": queries}
    variants = [v["id"] for v in spec.get("cart_variants", [])]
    for lines in (1, 20):
        if len(variants) < lines:
            continue
        client = Client(HTTP_HOST=STORE_HOST)
        add_status = add_queries = None
        for pk in variants[:lines]:
            add_status, add_queries = count(
                client, "post", "/koszyk/dodaj/", data={"variant": pk, "quantity": 1}
            )
        status, queries = count(client, "get", "/koszyk/")
        out["cart"][str(lines)] = {
            "add_status": add_status,
            "add_queries": add_queries,
            "page_status": status,
            "page_queries": queries,
        }
    return out


def internal_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="run.py _koszyk")
    parser.add_argument("action", choices=["setup", "queries"])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    result = koszyk_setup(args) if args.action == "setup" else koszyk_queries(json.load(sys.stdin))
    print("@@RESULT@@" + json.dumps(result, default=str))
    return 0


# =================================================================================================
# The orchestrator (Koszyk's .venv, no Django imported)
# =================================================================================================


def _result_line(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith("@@RESULT@@"):
            return json.loads(line[len("@@RESULT@@") :])
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise RuntimeError("no JSON result in output:\n" + stdout[-2000:])


def _redis_available(url: str) -> bool:
    match = re.match(r"redis://([^:/]+):(\d+)", url)
    if not match:
        return False
    try:
        with socket.create_connection((match.group(1), int(match.group(2))), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def koszyk_env(run_id: str, redis_url: str | None) -> dict:
    env = {
        "DATABASE_URL": common.database_url(KOSZYK_DB),
        "DEBUG": "False",
        "SECURE_HTTPS": "False",
        "SECURE_SSL_REDIRECT": "False",
        "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
        "VAR_DIR": str(WORK_DIR / "koszyk-var"),
        "STATIC_ROOT": str(WORK_DIR / "koszyk-static"),
        # Plain static storage (as in the Oscar project): collectstatic with the manifest and
        # compression costs ~40 s of CPU, and the benchmark requests no static file.
        "STATIC_MANIFEST": "False",
        "CACHE_KEY_PREFIX": f"bench-suite-{run_id}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BENCH_DIR),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env["REDIS_URL"] = ""
    return env


def oscar_env() -> dict:
    from urllib.parse import urlparse

    url = urlparse(common.database_url(OSCAR_DB))
    return {
        "OSCAR_DB_NAME": OSCAR_DB,
        "OSCAR_DB_HOST": url.hostname or "127.0.0.1",
        "OSCAR_DB_PORT": str(url.port or 5432),
        "OSCAR_DB_USER": url.username or "postgres",
        "OSCAR_DB_PASSWORD": url.password or "",
        "OSCAR_BENCH_WORK": str(WORK_DIR / "oscar"),
        "PYTHONWARNINGS": "ignore",
    }


def _run_checked(cmd, *, env=None, cwd=None, timeout=1800, stdin: str | None = None, what: str) -> str:
    result = subprocess.run(
        cmd,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def setup_koszyk(args, env) -> dict:
    log(f"Koszyk: database {KOSZYK_DB}, migrate, {args.products:,} products x {args.variants} variants")
    common.create_database(KOSZYK_DB)
    out = _run_checked(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "_koszyk",
            "setup",
            f"--products={args.products}",
            f"--variants={args.variants}",
            *([f"--seed={args.seed}"] if args.seed is not None else []),
        ],
        env=env,
        what="Koszyk setup",
    )
    info = _result_line(out)
    log(
        f"Koszyk: catalog by {info['catalog']['generated']['generator']} in {info['catalog']['generated']['seconds']}s"
    )
    return info


def setup_oscar(args, koszyk: dict) -> dict | None:
    from oscar import venv as oscar_venv

    if args.skip_oscar:
        return {"skipped": "--skip-oscar"}
    if not oscar_venv.is_ready():
        if args.smoke:
            return {"skipped": "smoke run and bench/.oscar-venv is not installed (run `make bench` once)"}
        oscar_venv.ensure(log=log)
    python = str(oscar_venv.python_path())
    env = oscar_env()
    log(f"Oscar: database {OSCAR_DB}, migrate, same catalog through Oscar's models, Whoosh index")
    common.create_database(OSCAR_DB)
    args.oscar_db_created = True  # dropped in main's finally, even if a later step fails
    frobshop = BENCH_DIR / "oscar" / "frobshop"
    started = time.monotonic()
    _run_checked(
        [python, "manage.py", "migrate", "--noinput", "-v0"], env=env, cwd=frobshop, what="Oscar migrate"
    )
    migrated = round(time.monotonic() - started, 1)
    import shutil

    shutil.rmtree(WORK_DIR / "oscar" / "whoosh_index", ignore_errors=True)
    out = _run_checked(
        [
            python,
            str(BENCH_DIR / "oscar" / "generate.py"),
            str(CATALOG_JSON),
            "--category-slug",
            koszyk["category"]["slug"],
            "--product-slug",
            koszyk["product_slug"],
        ],
        env=env,
        cwd=frobshop,
        what="Oscar catalog",
        timeout=3600,
    )
    info = _result_line(out)
    info["migrate_seconds"] = migrated
    from urllib.parse import urlencode

    category = info["urls"]["category"]
    info["targets"] = {
        # Oscar's "/" is a redirect to OSCAR_HOMEPAGE (the catalogue); request its target.
        "home": "/catalogue/",
        "category": category,
        "category_deep": f"{category}?page={koszyk['category']['deep_page']}",
        "search": "/search/?" + urlencode({"q": koszyk["search_query"]}),
        "product": info["urls"]["product"],
        "cart": "/basket/",
    }
    info["python"] = python
    log(f"Oscar: built in {info['build_seconds']}s, indexed in {info['index_seconds']}s")
    return info


def count_queries(koszyk: dict, oscar: dict | None, env: dict) -> dict:
    log("SQL queries per page (in-process, CaptureQueriesContext)")
    out = _run_checked(
        [sys.executable, str(Path(__file__).resolve()), "_koszyk", "queries"],
        env=env,
        stdin=json.dumps(koszyk),
        what="Koszyk query count",
    )
    result = {"koszyk": _result_line(out)}
    if oscar and "targets" in oscar:
        spec = {
            "pages": oscar["targets"],
            "cart_lines": [1, 20],
            "child_skus": [v["sku"] for v in koszyk["cart_variants"]],
        }
        out = _run_checked(
            [oscar["python"], str(BENCH_DIR / "oscar" / "queries.py")],
            env=oscar_env(),
            cwd=BENCH_DIR / "oscar" / "frobshop",
            stdin=json.dumps(spec),
            what="Oscar query count",
        )
        result["oscar"] = _result_line(out)
    return result


def _probe(server: common.Gunicorn, path: str, host: str | None) -> dict:
    status, body = common.http_get(server.base_url + path, host=host)
    return {"status": status, "bytes": len(body)}


def load_test(args, koszyk: dict, oscar: dict | None, env: dict, use_wrk: bool) -> dict:
    """All three servers up; for each round and page: ceiling, ours, Oscar, back to back."""
    load = {"duration": args.duration, "connections": args.connections, "threads": 1, "timeout": 10}
    warmup = {**load, "duration": args.warmup}
    servers = {
        "ceiling": common.Gunicorn(
            name="trivial",
            python=sys.executable,
            app="trivial.wsgi:application",
            cwd=BENCH_DIR,
            env={"DJANGO_SETTINGS_MODULE": "trivial.settings"},
            workers=args.workers,
        ),
        "koszyk": common.Gunicorn(
            name="koszyk",
            python=sys.executable,
            app="shop.wsgi:application",
            cwd=ROOT,
            env=env,
            workers=args.workers,
            ready_host=STORE_HOST,
        ),
    }
    if oscar and "targets" in oscar:
        servers["oscar"] = common.Gunicorn(
            name="oscar",
            python=oscar["python"],
            app="frobshop.wsgi:application",
            cwd=BENCH_DIR / "oscar" / "frobshop",
            env=oscar_env(),
            workers=args.workers,
            ready_path="/catalogue/",
        )
    targets = {"koszyk": koszyk["targets"], "oscar": (oscar or {}).get("targets", {})}
    hosts = {"koszyk": STORE_HOST, "oscar": STORE_HOST, "ceiling": None}
    runs: dict = {name: {page: [] for page in PAGES} for name in servers}
    probes: dict = {name: {} for name in servers}
    started = []
    try:
        for name, server in servers.items():
            log(f"starting gunicorn for {name} ({args.workers} workers)")
            server.__enter__()
            started.append(server)
        for name, server in servers.items():
            for page in PAGES:
                path = "/" if name == "ceiling" else targets[name][page]
                probes[name][page] = _probe(server, path, hosts[name])
                if name != "ceiling" and probes[name][page]["status"] != 200:
                    log(f"  {name} {page} {path}: HTTP {probes[name][page]['status']} (not measured)")
        for round_no in range(1, args.rounds + 1):
            for page in PAGES:
                for name, server in servers.items():
                    path = "/" if name == "ceiling" else targets[name][page]
                    if probes[name][page]["status"] != 200:
                        continue
                    url = server.base_url + path
                    if args.warmup > 0:
                        common.run_load(url, use_wrk=use_wrk, host=hosts[name], **warmup)
                    server.wait_idle()
                    cpu_before = server.cpu_seconds()
                    result = common.run_load(url, use_wrk=use_wrk, host=hosts[name], **load)
                    # Requests wrk gave up on are still served: count their CPU, then drain.
                    server.wait_idle()
                    cpu = server.cpu_seconds() - cpu_before
                    if result.requests:
                        result.server_cpu_ms_per_request = round(cpu * 1000 / result.requests, 3)
                    runs[name][page].append(result.to_dict())
                    log(
                        f"  round {round_no} {page:13} {name:8} {result.rps:9.1f} req/s  "
                        f"p50 {common.fmt(result.p50_ms, 2)} ms  p99 {common.fmt(result.p99_ms, 2)} ms  "
                        f"CPU {common.fmt(result.server_cpu_ms_per_request, 2)} ms/req"
                        + (f"  non-2xx {result.non_2xx}" if result.non_2xx else "")
                    )
    finally:
        for server in reversed(started):
            server.__exit__(None, None, None)
    memory = {name: server.worker_peak_kib for name, server in servers.items()}
    return {
        "settings": {**load, "warmup": args.warmup, "rounds": args.rounds},
        "runs": runs,
        "probes": probes,
        "worker_peak_kib": memory,
    }


def summarise_load(load: dict) -> dict:
    """Median of the rounds per page and contender, and the ratios."""
    summary: dict = {}
    for page in PAGES:
        row: dict = {}
        for name, per_page in load["runs"].items():
            rounds = per_page.get(page, [])
            if not rounds:
                row[name] = None
                continue
            row[name] = {
                "rps": round(common.median([r["rps"] for r in rounds]), 1),
                "p50_ms": common.median([r["p50_ms"] for r in rounds]),
                "p99_ms": common.median([r["p99_ms"] for r in rounds]),
                "cpu_ms": common.median([r.get("server_cpu_ms_per_request") for r in rounds]),
                "non_2xx": sum(r["non_2xx"] for r in rounds),
                "rounds": [r["rps"] for r in rounds],
            }
        ours = (row.get("koszyk") or {}).get("rps")
        row["ours_over_oscar"] = common.ratio(ours, (row.get("oscar") or {}).get("rps"))
        row["ours_over_ceiling"] = common.ratio(ours, (row.get("ceiling") or {}).get("rps"), 3)
        # The same shares measured in server CPU per request (robust to a busy machine: CPU a
        # worker did not get does not count): ceiling CPU / our CPU.
        ours_cpu = (row.get("koszyk") or {}).get("cpu_ms")
        row["ours_over_oscar_cpu"] = common.ratio((row.get("oscar") or {}).get("cpu_ms"), ours_cpu)
        row["ours_over_ceiling_cpu"] = common.ratio((row.get("ceiling") or {}).get("cpu_ms"), ours_cpu, 3)
        summary[page] = row
    return summary


# --- Profiling (--profile): where a page's time goes --------------------------------------------

PROFILE_BUCKETS = [
    ("waiting for PostgreSQL (psycopg)", ("psycopg",)),
    ("Redis cache", ("redis/",)),
    ("template rendering", ("django/template/", "django/templatetags/")),
    ("ORM: building/compiling queries, rows to objects", ("django/db/",)),
    ("views, selectors, middleware, gunicorn", ("",)),
]


def bucket_profile(raw: str) -> dict[str, int]:
    """py-spy ``--format raw`` (collapsed stacks) -> samples per bucket, idle waits dropped."""
    counts: dict[str, int] = {name: 0 for name, _ in PROFILE_BUCKETS}
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        if "handle_request" not in stack:
            continue  # the worker waiting for the next connection, or start-up
        for name, markers in PROFILE_BUCKETS:
            if any(m in stack for m in markers):
                counts[name] += int(n)
                break
    return counts


def draw_profile_png(title: str, counts: dict[str, int], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    total = sum(counts.values()) or 1
    width, bar_left, row = 1100, 470, 34
    image = Image.new("RGB", (width, 70 + row * len(counts)), "white")
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
        bold = ImageFont.truetype("DejaVuSans-Bold.ttf", 17)
    except OSError:
        font = bold = ImageFont.load_default()
    draw.text((12, 12), title, fill="black", font=bold)
    colours = ["#c0392b", "#8e44ad", "#2980b9", "#e67e22", "#7f8c8d"]
    for i, (name, n) in enumerate(counts.items()):
        y = 50 + i * row
        share = n / total
        draw.text((12, y + 5), name, fill="black", font=font)
        draw.rectangle(
            [bar_left, y + 4, bar_left + int(share * (width - bar_left - 90)), y + row - 6],
            fill=colours[i % len(colours)],
        )
        draw.text(
            (bar_left + int(share * (width - bar_left - 90)) + 8, y + 5),
            f"{share:.0%}",
            fill="black",
            font=font,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def profile_pages(args, koszyk: dict, env: dict, use_wrk: bool) -> dict:
    """py-spy (wall clock, ``--idle``) on one Koszyk worker while wrk loads a page: a flame graph
    (docs/img/perf-<page>.svg) and a bar chart of where the time goes (docs/img/perf-<page>.png)."""
    import shutil

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        return {"skipped": "py-spy is not installed (.venv/bin/pip install py-spy)"}
    out: dict = {}
    img = ROOT / "docs" / "img"
    seconds = max(5, int(args.duration))
    with common.Gunicorn(
        name="koszyk-profile",
        python=sys.executable,
        app="shop.wsgi:application",
        cwd=ROOT,
        env=env,
        workers=1,
        ready_host=STORE_HOST,
    ) as server:
        worker = server.worker_pids()[0]
        for page in ("category", "product", "search"):
            url = server.base_url + koszyk["targets"][page]
            common.run_load(url, use_wrk=use_wrk, host=STORE_HOST, duration=2, connections=2)
            raw_path = WORK_DIR / f"profile-{page}.txt"
            record = [
                py_spy,
                "record",
                "--pid",
                str(worker),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--idle",
                "--nonblocking",
            ]
            spy = subprocess.Popen(
                [*record, "--format", "raw", "-o", str(raw_path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                result = common.run_load(
                    url, use_wrk=use_wrk, host=STORE_HOST, duration=seconds + 2, connections=2
                )
            finally:
                spy.wait(timeout=seconds + 60)
            counts = bucket_profile(raw_path.read_text()) if raw_path.exists() else {}
            draw_profile_png(
                f"Koszyk {PAGE_LABELS[page]} ({koszyk['targets'][page]}): where one worker's wall time goes "
                f"({result.rps:.1f} req/s, 1 worker, {args.products:,} products)",
                counts,
                img / f"perf-{page}.png",
            )
            # A second recording under the same load for the flame graph (py-spy writes one format).
            spy = subprocess.Popen(
                [*record, "--format", "flamegraph", "-o", str(img / f"perf-{page}.svg")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                common.run_load(url, use_wrk=use_wrk, host=STORE_HOST, duration=seconds + 2, connections=2)
            finally:
                svg_rc = spy.wait(timeout=seconds + 60)
            out[page] = {"samples": counts, "rps_one_worker": result.rps, "flamegraph": svg_rc == 0}
            log(f"profile {page}: " + ", ".join(f"{k.split(' (')[0]} {v}" for k, v in counts.items()))
    return out


# --- Other areas' scripts -------------------------------------------------------------------------


def discover_area_scripts() -> list[Path]:
    """``bench/*.py`` minus the suite's own files, generators and docs helpers (not benchmarks)."""
    return sorted(
        p
        for p in BENCH_DIR.glob("*.py")
        if p.name not in NOT_AREA_SCRIPTS
        and not p.name.startswith("_")
        and not any(word in p.stem for word in NOT_BENCHMARK_WORDS)
    )


def script_convention(script: Path) -> dict:
    """Does the script accept ``--smoke`` and ``--json``? Read from its source (running ``--help``
    could have side effects: some scripts set Django up at import)."""
    text = script.read_text(errors="replace")
    return {"smoke": '"--smoke"' in text, "json": '"--json"' in text}


def _newest_results(area_prefix: str, since: float) -> list[Path]:
    return sorted(
        (p for p in (BENCH_DIR / "results").glob(f"{area_prefix}*.md") if p.stat().st_mtime >= since),
        key=lambda p: p.stat().st_mtime,
    )


def run_area_scripts(args, env: dict) -> list[dict]:
    out = []
    scripts = discover_area_scripts()
    if args.areas:
        wanted = set(args.areas.split(","))
        scripts = [s for s in scripts if s.stem in wanted or s.stem.split("_")[0] in wanted]
    for script in scripts:
        convention = script_convention(script)
        entry = {
            "script": f"bench/{script.name}",
            "follows_convention": convention["smoke"] and convention["json"],
            "convention": convention,
        }
        if args.smoke and not convention["smoke"]:
            entry["status"] = "skipped (no --smoke: cannot run CI-sized)"
            out.append(entry)
            log(f"area {script.name}: skipped in smoke mode (no --smoke)")
            continue
        json_path = WORK_DIR / "areas" / f"{script.stem}.json"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.unlink(missing_ok=True)
        cmd = [sys.executable, str(script)]
        if args.smoke:
            cmd.append("--smoke")
        if convention["json"]:
            cmd += ["--json", str(json_path)]
        log(f"area {script.name}: {' '.join(cmd[1:])}")
        since = time.time() - 1
        measured = common.run_measured(
            cmd, env={**env, "BENCH_SMOKE": "1" if args.smoke else "0"}, timeout=args.area_timeout
        )
        entry.update(
            {
                "command": " ".join(["python", *cmd[1:]]).replace(str(ROOT) + "/", ""),
                "returncode": measured.returncode,
                "timed_out": measured.timed_out,
                "wall_s": measured.wall_s,
                "peak_rss_mib": measured.peak_rss_mib,
                "status": "ok"
                if measured.returncode == 0
                else ("timeout" if measured.timed_out else "failed"),
                "stdout_tail": measured.stdout[-1500:],
                "stderr_tail": measured.stderr[-1500:] if measured.returncode else "",
            }
        )
        if json_path.exists():
            try:
                entry["result"] = json.loads(json_path.read_text())
            except ValueError as error:
                entry["result_error"] = str(error)
        area = script.stem.split("_")[0]
        written = _newest_results(area, since)
        if written:
            entry["results_file"] = f"bench/results/{written[-1].name}"
        log(f"area {script.name}: {entry['status']} in {measured.wall_s:.0f}s")
        out.append(entry)
    return out


# --- Report ------------------------------------------------------------------------------------


def _pct(share: float | None) -> str:
    return common.fmt(None if share is None else share * 100, 1, "%")


def render_markdown(data: dict) -> str:
    m, v = data["machine"], data["versions"]
    lines = [
        f"# Koszyk benchmark suite — {m['date']}{' (smoke)' if data['smoke'] else ''}",
        "",
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu_model']}; {m['os']}; "
        f"load average at start {m['load_average_at_start']}.",
        f"Database: PostgreSQL {v.get('postgresql')}; cache: {data['cache']}; "
        f"server: gunicorn {v['koszyk'].get('gunicorn')}, {data['workers']} sync workers for every contender; "
        f"load: {data['load_tool']} ({data['load']['settings']['connections'] if data.get('load') else '-'} "
        f"connections, {data['load']['settings']['duration'] if data.get('load') else '-'} s per page after "
        f"{data['load']['settings']['warmup'] if data.get('load') else '-'} s warm-up, median of "
        f"{data['load']['settings']['rounds'] if data.get('load') else '-'} rounds).",
        f"Koszyk {data['git_revision']}: Python {v['koszyk'].get('python')}, Django {v['koszyk'].get('Django')}. "
        + (
            f"django-oscar {v['oscar'].get('django-oscar')} (Django {v['oscar'].get('Django')}, "
            f"django-haystack {v['oscar'].get('django-haystack')}, Whoosh {v['oscar'].get('Whoosh')} index)."
            if v.get("oscar")
            else f"django-oscar: {data['oscar'].get('skipped', 'not run')}."
        ),
        f"Catalog: {data['catalog']['products']:,} products x {data['catalog']['variants']} variants "
        f"({data['catalog']['generator']}, seed {data['catalog']['seed']}); category "
        f"`{data['koszyk']['category']['slug']}` holds {data['koszyk']['category']['products']:,} products "
        f"({data['koszyk']['category']['pages']} pages of {data['koszyk']['page_size']}; deep page = "
        f"{data['koszyk']['category']['deep_page']}); search `{data['koszyk']['search_query']}`.",
        "",
    ]
    if data.get("load"):
        summary = data["load_summary"]
        rows = []
        for page in PAGES:
            row = summary[page]
            k, o, c = row.get("koszyk"), row.get("oscar"), row.get("ceiling")

            def cell(x, key, digits=1):
                return common.fmt(x.get(key), digits) if x else "n/a"

            qk = data["queries"]["koszyk"]["pages"].get(page, {})
            qo = (data["queries"].get("oscar") or {}).get("pages", {}).get(page, {})
            rows.append(
                [
                    PAGE_LABELS[page],
                    cell(k, "rps"),
                    f"{cell(k, 'p50_ms')} / {cell(k, 'p99_ms')}",
                    cell(o, "rps"),
                    f"{cell(o, 'p50_ms')} / {cell(o, 'p99_ms')}",
                    cell(c, "rps"),
                    common.fmt(row["ours_over_oscar"], 2, "×"),
                    _pct(row["ours_over_ceiling"]),
                    f"{cell(k, 'cpu_ms', 2)} / {cell(o, 'cpu_ms', 2)} / {cell(c, 'cpu_ms', 2)}",
                    f"{common.fmt(row.get('ours_over_oscar_cpu'), 2, '×')} / {_pct(row.get('ours_over_ceiling_cpu'))}",
                    f"{qk.get('queries', 'n/a')} / {qo.get('queries', 'n/a')}",
                ]
            )
        lines += [
            "## Storefront under load",
            "",
            common.markdown_table(
                [
                    "page",
                    "Koszyk req/s",
                    "Koszyk p50 / p99 ms",
                    "Oscar req/s",
                    "Oscar p50 / p99 ms",
                    "ceiling req/s",
                    "ours / Oscar",
                    "ours / ceiling",
                    "server CPU ms/req ours / Oscar / ceiling",
                    "by CPU: ours / Oscar, ours / ceiling",
                    "SQL queries ours / Oscar",
                ],
                rows,
            ),
            "",
            "Targets (issue 10): category and product pages >= 15% of the ceiling and far ahead of Oscar.",
            "",
        ]
        for page in ("category", "product"):
            share, share_cpu = summary[page]["ours_over_ceiling"], summary[page].get("ours_over_ceiling_cpu")
            vs_oscar = summary[page]["ours_over_oscar"]
            if share is not None:
                verdict = "met" if share >= 0.15 else "NOT met"
                lines.append(
                    f"- {PAGE_LABELS[page]}: {share * 100:.1f}% of the ceiling's req/s ({_pct(share_cpu)} by "
                    f"server CPU) — 15% target {verdict}; {common.fmt(vs_oscar, 2, '×')} Oscar's req/s."
                )
        lines += [
            "",
            "How to read: req/s and latency are what a client saw; *server CPU ms/req* is the CPU the "
            "gunicorn workers burned per request (from /proc, so CPU another process took does not count) — "
            "the steadier figure on a busy machine. 'ours / ceiling' = our req/s over the trivial view's.",
        ]
        lines.append("")
        mem = data["load"]["worker_peak_kib"]
        lines.append(
            "Peak RSS per gunicorn worker (MiB): "
            + ", ".join(f"{n} {'/'.join(str(round(k / 1024)) for k in ks) or 'n/a'}" for n, ks in mem.items())
            + "."
        )
        lines.append("")
    q = data["queries"]
    lines += ["## SQL queries", ""]
    rows = []
    for page in PAGES:
        qk = q["koszyk"]["pages"].get(page, {})
        qo = (q.get("oscar") or {}).get("pages", {}).get(page, {})
        rows.append(
            [
                PAGE_LABELS[page],
                f"{qk.get('queries', 'n/a')} (cold {qk.get('queries_cold', 'n/a')}, HTTP {qk.get('status', '-')})",
                f"{qo.get('queries', 'n/a')} (cold {qo.get('queries_cold', 'n/a')}, HTTP {qo.get('status', '-')})",
            ]
        )
    for lines_n in ("1", "20"):
        ck = q["koszyk"]["cart"].get(lines_n, {})
        co = (q.get("oscar") or {}).get("cart", {}).get(lines_n, {})
        rows.append(
            [
                f"cart page, {lines_n} line(s)",
                f"{ck.get('page_queries', 'n/a')} (HTTP {ck.get('page_status', '-')})",
                f"{co.get('page_queries', 'n/a')} (HTTP {co.get('page_status', '-')})",
            ]
        )
        rows.append(
            [
                f"add to cart ({lines_n}{'st' if lines_n == '1' else 'th'} line)",
                f"{ck.get('add_queries', 'n/a')} (HTTP {ck.get('add_status', '-')})",
                f"{co.get('add_queries', 'n/a')} (HTTP {co.get('add_status', '-')})",
            ]
        )
    for _name, api in sorted(q["koszyk"].get("api", {}).items()):
        rows.append(
            [f"API {api['url']}", f"{api['queries']} (HTTP {api['status']})", "n/a (no API in Oscar core)"]
        )
    lines += [
        common.markdown_table(["page", "Koszyk", "Oscar"], rows),
        "",
        "Warm figures (second request of a fresh visitor); cold = first request after start. "
        f"API client: {q['koszyk'].get('api_auth')}.",
        "",
    ]
    if data.get("areas") is not None:
        lines += ["## Other areas", ""]
        if not data["areas"]:
            lines += ["No area scripts found in bench/.", ""]
        rows = []
        for a in data["areas"]:
            rows.append(
                [
                    f"`{a['script']}`",
                    "yes" if a["follows_convention"] else "no",
                    a["status"],
                    common.fmt(a.get("wall_s"), 0, " s"),
                    common.fmt(a.get("peak_rss_mib"), 0, " MiB"),
                    a.get("results_file", "-"),
                ]
            )
        if rows:
            lines += [
                common.markdown_table(
                    ["script", "--smoke/--json", "status", "wall", "peak RSS", "its result file"], rows
                ),
                "",
            ]
        for a in data["areas"]:
            if a.get("result") is not None:
                lines += [
                    f"### {a['script']}",
                    "",
                    "```json",
                    json.dumps(a["result"], indent=2)[:4000],
                    "```",
                    "",
                ]
            elif a.get("stdout_tail"):
                lines += [
                    f"### {a['script']} (tail of stdout)",
                    "",
                    "```",
                    a["stdout_tail"].strip()[-1200:],
                    "```",
                    "",
                ]
    if data.get("profile"):
        lines += ["## Profiles (--profile)", ""]
        for page, prof in data["profile"].items():
            if isinstance(prof, dict) and "samples" in prof:
                total = sum(prof["samples"].values()) or 1
                shares = ", ".join(f"{name} {n / total:.0%}" for name, n in prof["samples"].items())
                lines.append(f"- {PAGE_LABELS[page]}: {shares} (docs/img/perf-{page}.png, .svg)")
            else:
                lines.append(f"- {page}: {prof}")
        lines.append("")
    lines += ["## Notes", ""] + [f"- {n}" for n in data["notes"]]
    return "\n".join(lines)


def print_table(data: dict) -> None:
    if not data.get("load"):
        return
    print()
    header = (
        f"{'page':20} {'ours req/s':>11} {'p50/p99 ms':>14} {'oscar req/s':>12} {'p50/p99 ms':>15} "
        f"{'ceiling':>9} {'ours/oscar':>10} {'ours/ceil':>9} {'cpu ms ours/osc/ceil':>22} {'queries':>9}"
    )
    print(header)
    print("-" * len(header))
    for page in PAGES:
        row = data["load_summary"][page]
        k, o, c = row.get("koszyk") or {}, row.get("oscar") or {}, row.get("ceiling") or {}
        qk = data["queries"]["koszyk"]["pages"].get(page, {}).get("queries", "-")
        qo = (data["queries"].get("oscar") or {}).get("pages", {}).get(page, {}).get("queries", "-")
        print(
            f"{PAGE_LABELS[page]:20} {common.fmt(k.get('rps')):>11} "
            f"{common.fmt(k.get('p50_ms')) + '/' + common.fmt(k.get('p99_ms')):>14} "
            f"{common.fmt(o.get('rps')):>12} {common.fmt(o.get('p50_ms')) + '/' + common.fmt(o.get('p99_ms')):>15} "
            f"{common.fmt(c.get('rps')):>9} {common.fmt(row['ours_over_oscar'], 2):>10} "
            f"{_pct(row['ours_over_ceiling']):>9} "
            f"{'/'.join(common.fmt(x.get('cpu_ms'), 1) for x in (k, o, c)):>22} "
            f"{f'{qk}/{qo}':>9}"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_koszyk":
        return internal_main(argv[1:])
    parser = argparse.ArgumentParser(description="Koszyk's benchmark suite (see bench/README.md).")
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 200 products, 2 s per page, 1 round")
    parser.add_argument("--products", type=int, help="catalog size (default 10,000; smoke 200)")
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--seed", type=int, help="catalog seed (default: the generator's own)")
    parser.add_argument("--duration", type=float, help="seconds of load per page (default 10; smoke 2)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per page (default 2; smoke 1)")
    parser.add_argument("--rounds", type=int, help="rounds over all pages (default 2; smoke 1)")
    parser.add_argument("--connections", type=int, default=4, help="open connections (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per contender (default 2)")
    parser.add_argument("--skip-oscar", action="store_true")
    parser.add_argument("--skip-load", action="store_true", help="queries only, no servers")
    parser.add_argument("--skip-areas", action="store_true", help="do not run other areas' scripts")
    parser.add_argument("--areas", help="comma-separated area scripts or prefixes to run (default: all)")
    parser.add_argument(
        "--area-timeout", type=float, help="seconds per area script (default 1800; smoke 180)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the category/product/search pages into docs/img/perf-*"
    )
    parser.add_argument("--keep-dbs", action="store_true", help="keep the bench databases afterwards")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-write", action="store_true", help="print only; write no result files")
    parser.add_argument(
        "--prefix",
        help="result file name prefix (default bench, bench-smoke); e.g. bench-storefront for a partial run",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    args.products = args.products or (200 if smoke else 10_000)
    args.duration = args.duration if args.duration is not None else (2 if smoke else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if smoke else 2)
    args.rounds = args.rounds or (1 if smoke else 2)
    # The recovery scan of 1,000,000 carts alone takes ~10 minutes on 2 cores.
    args.area_timeout = args.area_timeout or (180 if smoke else 1800)

    started = time.monotonic()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    machine = common.machine_info()
    wrk = common.ensure_wrk(allow_install=True)
    load_tool = f"wrk {common.wrk_version()}" if wrk else "python-httpx loop (wrk unavailable)"
    redis_url = args.redis_url if _redis_available(args.redis_url) else None
    env = koszyk_env(run_id, redis_url)
    notes = [
        "Every figure is a ratio to something measured in the same run: ceiling = a trivial Django view "
        "returning 'ok' (bench/trivial, startproject's middleware) served by the same gunicorn settings; "
        "each page is measured right after the ceiling, in the same round.",
        "Absolute req/s drift on a shared 2-core machine (other engineers' tests may run meanwhile, and wrk "
        "shares the cores with the servers); read the ratios, not the absolute numbers.",
        "Oscar is set up as its 'Building your own shop' page says, except: PostgreSQL instead of SQLite, a "
        "Whoosh index instead of the 'simple' Haystack backend (with which Oscar 4's listings are empty), "
        "48 products per page (Koszyk's page size; Oscar's default is 20), DEBUG off, PLN.",
        "Oscar's '/' redirects to /catalogue/ (all products, 48 per page): its 'home' row is that page. Koszyk's "
        "home shows two sections of 8 product cards.",
        "Same catalog in both shops: Koszyk's bench database is exported (bench/work/catalog.json) and rebuilt "
        "through Oscar's models (parent product + one child per variant with a StockRecord). Oscar has no "
        "compare-at price, so Koszyk's 10% discounted products are plain in Oscar.",
        "Cache: Koszyk uses Redis (as in production) when reachable; Oscar uses Django's default local-memory "
        "cache (its docs set none).",
        "Cart pages are an anonymous visitor's empty cart under load; the query table adds carts with 1 and 20 "
        "lines.",
    ]
    data: dict = {
        "suite": "koszyk-bench",
        "smoke": smoke,
        "machine": machine,
        "git_revision": common.git_revision(),
        "workers": args.workers,
        "load_tool": load_tool,
        "cache": f"Redis ({redis_url})" if redis_url else "file cache (Redis unreachable)",
        "notes": notes,
        "args": vars(args),
    }
    oscar = None
    dbs = [KOSZYK_DB]
    try:
        koszyk = setup_koszyk(args, env)
        data["koszyk"] = koszyk
        data["catalog"] = {
            "products": args.products,
            "variants": args.variants,
            "seed": koszyk["catalog"]["generated"]["seed"],
            "generator": koszyk["catalog"]["generated"]["generator"],
            "exported": koszyk["catalog"]["exported"],
        }
        oscar = setup_oscar(args, koszyk)
        data["oscar"] = oscar
        data["queries"] = count_queries(koszyk, oscar, env)
        if not args.skip_load:
            data["load"] = load_test(args, koszyk, oscar, env, use_wrk=bool(wrk))
            data["load_summary"] = summarise_load(data["load"])
        if args.profile:
            data["profile"] = profile_pages(args, koszyk, env, use_wrk=bool(wrk))
        if not args.skip_areas:
            # Area scripts get DATABASE_URL = the (migrated, catalogued) Koszyk bench database,
            # never the environment's own, which may be the test suite's.
            data["areas"] = run_area_scripts(args, {**env, "BENCH_PG_URL": common.admin_url()})
    finally:
        if getattr(args, "oscar_db_created", False):
            dbs.append(OSCAR_DB)  # only a database this run created is dropped
        if not args.keep_dbs:
            for name in dbs:
                try:
                    common.drop_database(name)
                except Exception as error:
                    log(f"could not drop {name}: {error}")
    data["versions"] = {
        "postgresql": common.postgres_version(common.admin_url()),
        "wrk": common.wrk_version(),
        "koszyk": common.package_versions(sys.executable, ["Django", "gunicorn", "psycopg", "redis"]),
    }
    if oscar and oscar.get("python"):
        data["versions"]["oscar"] = common.package_versions(
            oscar["python"],
            ["django-oscar", "Django", "django-haystack", "Whoosh", "gunicorn", "psycopg", "sorl-thumbnail"],
        )
    data["wall_seconds"] = round(time.monotonic() - started, 1)
    markdown = render_markdown(data)
    print_table(data)
    if not args.no_write:
        paths = common.write_results(
            data, markdown, prefix=args.prefix or ("bench-smoke" if smoke else "bench")
        )
        log(f"wrote {paths[0].relative_to(ROOT)} and {paths[1].relative_to(ROOT)}")
    log(f"done in {data['wall_seconds']:.0f}s")
    problems = broken(data)
    for problem in problems:
        log(f"BROKEN: {problem}")
    return 1 if problems else 0


def broken(data: dict) -> list[str]:
    """What makes a run a failure (CI runs the smoke suite so that no script can rot): a Koszyk
    page or API endpoint that did not answer 200, a load run with errors, an area script that
    failed or timed out. Slow figures are not failures: they are for people to read."""
    problems = []
    queries = data.get("queries") or {}
    for name, page in ((queries.get("koszyk") or {}).get("pages") or {}).items():
        if page.get("status") != 200:
            problems.append(f"Koszyk page {name} ({page.get('url')}) answered HTTP {page.get('status')}")
    for name, endpoint in ((queries.get("koszyk") or {}).get("api") or {}).items():
        if endpoint.get("status") != 200:
            problems.append(
                f"Koszyk API {name} ({endpoint.get('url')}) answered HTTP {endpoint.get('status')}"
            )
    for page, row in (data.get("load_summary") or {}).items():
        ours = row.get("koszyk") if isinstance(row, dict) else None
        if isinstance(ours, dict) and ours.get("non_2xx"):
            problems.append(f"Koszyk {page} under load: {ours['non_2xx']} non-2xx answers")
    for area in data.get("areas") or []:
        if area.get("status") in ("failed", "timeout"):
            problems.append(f"{area['script']} {area['status']} (exit {area.get('returncode')})")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())
