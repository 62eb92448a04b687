"""Benchmark: Google RSS and Ceneo feeds for 10,000 and 100,000 offers on PostgreSQL, each beside
its floor, with peak memory to show that generation does not grow with the catalog.

    .venv/bin/python bench/feeds_bench.py                 # 10k and 100k offers (a few minutes)
    .venv/bin/python bench/feeds_bench.py --smoke         # 400 and 2,000 offers (< 1 min)
    .venv/bin/python bench/feeds_bench.py --sizes 10000 100000 --json out.json --keep-db

The catalog comes from ``bench/catalog_generate.py`` (deterministic: offers/2 products x 2 sizes,
one store per size) plus one image row per product (the generator makes image-less cards; Google
needs an image). Every measurement runs in a fresh child process, so its peak RSS is its own:

- ``koszyk``: ``integrations.feeds.services.generate_feed`` (the real thing: chunked reads,
  availability, filters, warnings, lxml's incremental writer, gzip twin, SHA-256, atomic replace);
- ``floor (bare lxml)``: one SQL join over the same rows through a psycopg server-side cursor,
  written with the same ``etree.xmlfile`` loop, no Django, no availability rules, no checks;
- ``floor (COPY)``: PostgreSQL ``COPY (that join) TO STDOUT`` read and thrown away.

Uses its own database ``koszyk_feeds_bench_<pid>`` (created and dropped; ``--keep-db`` keeps it) and
writes ``bench/results/feeds-<date>.md`` (``--json PATH``: machine-readable figures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

# One database per run (pid): a suite smoke run and a full run may overlap on a shared machine.
DB_NAME = f"koszyk_feeds_bench_{os.getpid()}"
G_NS = "http://base.google.com/ns/1.0"

FLOOR_SQL = """
SELECT v.sku, p.name, p.description, p.slug, p.brand, v.ean, v.price, v.compare_at_price,
       COALESCE((SELECT SUM(si.quantity) FROM catalog_stockitem si WHERE si.variant_id = v.id), 0) AS stock,
       (SELECT i.image FROM catalog_productimage i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1)
FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id
WHERE v.store_id = %s AND v.is_active AND p.is_published
ORDER BY v.product_id, v.position, v.id
"""


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()


# --- child processes ---------------------------------------------------------------------------


def child_prepare(sizes: list[int]) -> dict:
    """Migrate, then per size a store with offers/2 products x 2 variants, images and two feeds."""
    _setup_django()
    from catalog_generate import generate
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import Product, ProductImage
    from integrations.feeds import services
    from integrations.feeds.models import Feed
    from shop.models import Store

    call_command("migrate", interactive=False, verbosity=0)
    out = {}
    for size in sizes:
        store = Store.objects.create(
            name=f"Bench {size}", domain=f"feeds{size}.bench.local", is_default=False
        )
        counts = generate(store=store, products=size // 2, variants=2)
        ids = Product.objects.filter(store=store).values_list("pk", flat=True).order_by("pk")
        batch = []
        for pk in ids.iterator(chunk_size=5000):
            batch.append(
                ProductImage(product_id=pk, image=f"products/{pk}/zdjecie.jpg", width=800, height=800)
            )
            if len(batch) == 5000:
                ProductImage.objects.bulk_create(batch)
                batch = []
        if batch:
            ProductImage.objects.bulk_create(batch)
        google = services.save_feed(
            feed=Feed(store=store, name="Google", kind=Feed.Kind.GOOGLE, format=Feed.Format.GOOGLE_RSS)
        )
        ceneo = services.save_feed(
            feed=Feed(store=store, name="Ceneo", kind=Feed.Kind.CENEO, format=Feed.Format.CENEO_XML)
        )
        out[str(size)] = {"store": store.pk, "google": google.pk, "ceneo": ceneo.pk, "catalog": counts}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return out


def child_generate(feed_id: int) -> dict:
    _setup_django()
    from django.db import connection

    from integrations.feeds import services

    baseline = _peak_mib()
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        run = services.generate_feed(feed_id=feed_id, trigger="command")
    seconds = time.perf_counter() - started
    if run.status != "succeeded":
        raise SystemExit(f"feed {feed_id} failed: {run.error}")
    return {
        "seconds": round(seconds, 2),
        "items": run.items,
        "skipped": run.skipped,
        "warnings": run.warning_count,
        "bytes": run.size,
        "gzip_bytes": run.gzip_size,
        "queries": queries,
        "baseline_mib": baseline,
        "peak_mib": _peak_mib(),
    }


def child_floor(store_id: int, kind: str) -> dict:
    """The same rows, one SQL join, the bare lxml loop: what writing the file costs at least."""
    import psycopg
    from lxml import etree

    baseline = _peak_mib()
    started = time.perf_counter()
    items = 0
    with (
        psycopg.connect(os.environ["DATABASE_URL"]) as conn,
        conn.cursor(name="floor") as cursor,
        tempfile.TemporaryFile() as out,
    ):
        cursor.itersize = 2000
        cursor.execute(FLOOR_SQL, [store_id])
        with etree.xmlfile(out, encoding="utf-8") as xf:
            if kind == "google":
                with xf.element("rss", {"version": "2.0"}, nsmap={"g": G_NS}), xf.element("channel"):
                    for sku, name, desc, slug, brand, ean, price, _compare, stock, image in cursor:
                        with xf.element("item"):
                            for tag, value in (
                                ("id", sku),
                                ("title", name),
                                ("description", desc),
                                ("link", f"https://bench.local/p/{slug}/"),
                                ("image_link", f"https://bench.local/media/{image}"),
                                ("availability", "in_stock" if stock > 0 else "out_of_stock"),
                                ("price", f"{price:.2f} PLN"),
                                ("brand", brand),
                                ("gtin", ean),
                                ("mpn", sku),
                                ("condition", "new"),
                            ):
                                if value:
                                    with xf.element(f"{{{G_NS}}}{tag}"):
                                        xf.write(value)
                        items += 1
            else:
                with xf.element("offers", {"version": "1"}), xf.element("group", {"name": "other"}):
                    for sku, name, desc, slug, brand, ean, price, _compare, stock, image in cursor:
                        o = etree.Element(
                            "o",
                            {
                                "id": sku,
                                "url": f"https://bench.local/p/{slug}/",
                                "price": f"{price:.2f}",
                                "avail": "1" if stock > 0 else "99",
                                "stock": str(stock),
                            },
                        )
                        etree.SubElement(o, "name").text = etree.CDATA(name)
                        etree.SubElement(
                            etree.SubElement(o, "imgs"), "main", {"url": f"https://bench.local/media/{image}"}
                        )
                        etree.SubElement(o, "desc").text = etree.CDATA(desc)
                        attrs = etree.SubElement(o, "attrs")
                        etree.SubElement(attrs, "a", {"name": "Producent"}).text = etree.CDATA(brand)
                        etree.SubElement(attrs, "a", {"name": "Kod_producenta"}).text = etree.CDATA(sku)
                        if ean:
                            etree.SubElement(attrs, "a", {"name": "EAN"}).text = etree.CDATA(ean)
                        xf.write(o)
                        items += 1
        size = out.tell()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "items": items,
        "bytes": size,
        "baseline_mib": baseline,
        "peak_mib": _peak_mib(),
    }


def child_copy(store_id: int) -> dict:
    import psycopg

    started = time.perf_counter()
    total = 0
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn, conn.cursor() as cursor:
        sql = FLOOR_SQL.replace("%s", str(int(store_id)))
        with cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
            for chunk in copy:
                total += len(chunk)
    return {"seconds": round(time.perf_counter() - started, 2), "bytes": total, "peak_mib": _peak_mib()}


# --- the parent --------------------------------------------------------------------------------


def run_child(args: list[str], env: dict) -> tuple[dict, common.Measured]:
    measured = common.run_measured([sys.executable, __file__, *args], env=env, timeout=1800)
    if measured.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{measured.stderr[-3000:]}")
    return json.loads(measured.stdout.strip().splitlines()[-1]), measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--sizes", type=int, nargs="+", help="offers per store (default 10000 100000)")
    parser.add_argument("--json", help="write machine-readable figures here")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    parser.add_argument("--_child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._child:
        what, *rest = args._child
        if what == "prepare":
            result = child_prepare([int(s) for s in rest])
        elif what == "generate":
            result = child_generate(int(rest[0]))
        elif what == "floor":
            result = child_floor(int(rest[0]), rest[1])
        else:
            result = child_copy(int(rest[0]))
        print(json.dumps(result, default=str))
        return 0

    smoke = args.smoke or os.environ.get("BENCH_SMOKE") == "1"
    sizes = args.sizes or ([400, 2000] if smoke else [10_000, 100_000])
    url = common.create_database(DB_NAME)
    private = Path(tempfile.mkdtemp(prefix="feeds-bench-"))
    env = {
        "DATABASE_URL": url,
        "DEBUG": "0",
        "PRIVATE_ROOT": str(private),
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "REDIS_URL": "",
        "PYTHONPATH": f"{ROOT / 'bench'}:{os.environ.get('PYTHONPATH', '')}",
    }
    rows, figures = [], []
    info = common.machine_info()  # before the run: its load average is the machine's, not ours
    try:
        common.log(f"preparing catalogs of {sizes} offers")
        prepared, measured = run_child(["--_child", "prepare", *map(str, sizes)], env)
        common.log(f"prepared in {measured.wall_s:.0f} s")
        for size in sizes:
            info = prepared[str(size)]
            copy, _m = run_child(["--_child", "copy", str(info["store"])], env)
            for kind in ("google", "ceneo"):
                ours, ours_m = run_child(["--_child", "generate", str(info[kind])], env)
                floor, floor_m = run_child(["--_child", "floor", str(info["store"]), kind], env)
                common.log(
                    f"{kind} {size}: {ours['seconds']} s, peak {ours_m.peak_rss_mib} MiB; "
                    f"floor {floor['seconds']} s, {floor_m.peak_rss_mib} MiB; COPY {copy['seconds']} s"
                )
                rows.append(
                    [
                        kind,
                        f"{size:,}",
                        ours["items"],
                        ours["seconds"],
                        floor["seconds"],
                        copy["seconds"],
                        common.ratio(ours["seconds"], floor["seconds"]),
                        round(ours["items"] / ours["seconds"]) if ours["seconds"] else None,
                        ours["peak_mib"],
                        round(ours["peak_mib"] - ours["baseline_mib"], 1),
                        floor["peak_mib"],
                        ours["queries"],
                        f"{ours['bytes'] / 1e6:.1f} / {ours['gzip_bytes'] / 1e6:.1f}",
                    ]
                )
                figures += [
                    {
                        "name": f"{kind} {size} offers: seconds",
                        "value": ours["seconds"],
                        "floor": floor["seconds"],
                        "ratio": common.ratio(ours["seconds"], floor["seconds"]),
                        "copy_seconds": copy["seconds"],
                    },
                    {
                        "name": f"{kind} {size} offers: peak RSS MiB",
                        "value": ours["peak_mib"],
                        "floor": floor["peak_mib"],
                        "ratio": common.ratio(ours["peak_mib"], floor["peak_mib"]),
                        "growth_over_django_baseline_mib": round(ours["peak_mib"] - ours["baseline_mib"], 1),
                        "queries": ours["queries"],
                        "bytes": ours["bytes"],
                        "gzip_bytes": ours["gzip_bytes"],
                        "items": ours["items"],
                    },
                ]
    finally:
        if not args.keep_db:
            common.drop_database(DB_NAME)
        for child in sorted(private.rglob("*"), reverse=True):
            child.unlink() if child.is_file() else child.rmdir()
        private.rmdir()

    headers = [
        "feed",
        "offers",
        "items written",
        "Koszyk s",
        "floor: bare lxml s",
        "floor: COPY s",
        "Koszyk / lxml",
        "items/s",
        "peak RSS MiB",
        "growth over Django MiB",
        "floor peak MiB",
        "SQL queries",
        "MB / gzip MB",
    ]
    markdown = "\n".join(
        [
            f"# Product feeds benchmark ({dt.date.today().isoformat()}{', smoke' if smoke else ''})",
            "",
            f"Machine: {info.get('cpu_model', '?')}, {info.get('cores', '?')} cores, {info.get('memory_gib', '?')} GiB, load average at start {info.get('load_average_at_start')}; "
            f"PostgreSQL {common.postgres_version(common.admin_url()) or '?'}; shared with other work, so "
            "seconds drift: read the ratios. Each figure is one fresh child process (peak RSS = its own).",
            "",
            "Catalog: `bench/catalog_generate.py`, offers/2 products x 2 sizes, one image row per product. "
            "Koszyk = `generate_feed` (chunks of FEEDS_CHUNK_SIZE variants, availability, filters, warnings, "
            "gzip twin, SHA-256, atomic replace). Floors: the same rows by one SQL join through a psycopg "
            "server-side cursor written by the bare lxml loop (no Django, no rules), and PostgreSQL COPY "
            "of that join. 'Growth over Django' = peak RSS minus the RSS after `django.setup()`.",
            "",
            common.markdown_table(headers, rows),
            "",
            "Reproduce: `.venv/bin/python bench/feeds_bench.py` (PostgreSQL on 127.0.0.1:5432; "
            f"`--sizes {' '.join(map(str, sizes))}`).",
        ]
    )
    print(markdown)
    data = {"area": "feeds", "figures": figures, "sizes": {"offers": sizes}, "smoke": smoke, "machine": info}
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2, default=str) + "\n")
    if not args.no_write:
        date = dt.date.today().isoformat()
        path = common.RESULTS_DIR / f"feeds{'-smoke' if smoke else ''}-{date}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
