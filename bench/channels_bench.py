"""Benchmark: push the stock of 10,000 changed variants to the BaseLinker fake, beside the bare
HTTP loop that sends the same payloads (the floor).

    .venv/bin/python bench/channels_bench.py              # 10,000 variants, batches of 1,000
    .venv/bin/python bench/channels_bench.py --smoke      # 500 variants, batches of 100 (< 1 min)
    .venv/bin/python bench/channels_bench.py --variants 20000 --json out.json --keep-db

Steps, on its own database ``koszyk_channels_bench`` (created and dropped; ``--keep-db`` keeps it):

1. a catalog from ``bench/catalog_generate.py`` (variants/2 products x 2 sizes) and a BaseLinker
   fake (``tests/fakes/baselinker.py``, on 127.0.0.1) whose inventory holds every SKU;
2. untimed: the first push run (listings created, matched by SKU, first stock and prices sent);
3. every variant's stock changes (one UPDATE) and the listings are marked due the way the
   ``stock.changed`` handler does it;
4. timed: the push run (``integrations.services.run_connector(direction="push")``): its wall time,
   HTTP calls by method, items per call and SQL queries;
5. the floor: the same number of ``updateInventoryProductsStock`` calls with the same payloads,
   built beforehand, sent by a bare ``httpx`` loop (no database, no rate limiter).

The client's rate limiter is off here (``INTEGRATIONS_RATE_PER_SECOND=0``) so the figure is the
shop's own cost; with BaseLinker's 100 requests a minute the 10 calls alone take at least 6 s.
Writes ``bench/results/channels-<date>.md`` (``--json PATH``: machine-readable figures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

DB_NAME = "koszyk_channels_bench"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    os.environ["INTEGRATIONS_RATE_PER_SECOND"] = "0"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    import django

    django.setup()


def prepare(variants: int) -> dict:
    from catalog_generate import generate
    from django.core.management import call_command

    from shop.models import Store

    call_command("migrate", interactive=False, verbosity=0)
    store = Store.objects.create(domain="channels.bench", name="Channels bench", is_default=True)
    started = time.monotonic()
    counts = generate(store=store, products=variants // 2, variants=2)
    return {"store_id": store.pk, "generate_seconds": round(time.monotonic() - started, 1), **counts}


def run(args) -> dict:
    from django.conf import settings
    from django.db import connection

    from catalog.models import StockItem, Variant
    from integrations import services
    from integrations.channels.models import ChannelListing
    from integrations.channels.services import mark_variants_due
    from integrations.models import ConnectorConfig
    from tests.fakes.baselinker import FakeBaseLinker

    settings.INTEGRATIONS_RATE_PER_SECOND = 0
    info = prepare(args.variants)
    fake = FakeBaseLinker(token="bench-token").__enter__()  # noqa: S106 - the fake's own token
    try:
        for sku in Variant.objects.order_by("pk").values_list("sku", flat=True):
            fake.add_product(sku=sku)
        config = services.save_config(
            config=ConnectorConfig(
                store_id=info["store_id"],
                connector_type="baselinker",
                name="BaseLinker bench",
                stock_sync_minutes=0,
            ),
            raw_settings={
                "api_url": fake.url,
                "api_token": "bench-token",
                "inventory_id": fake.inventory_id,
                "warehouse": fake.warehouse,
                "price_group_id": fake.price_group,
                "batch_size": args.batch,
                "list_all_variants": True,
            },
        )
        common.log("first push (untimed): listings, matching, first values")
        first = services.run_connector(config_id=config.pk, direction="push", trigger="command")
        assert first.status == "succeeded", first.error
        listings = ChannelListing.objects.filter(config=config).count()

        common.log(f"changing the stock of {listings} variants")
        StockItem.objects.filter(variant__store_id=info["store_id"]).update(quantity=77)
        mark_variants_due(variant_ids=Variant.objects.values_list("pk", flat=True))
        fake.calls.clear()

        queries = Counter()

        def count(execute, sql, params, many, context):
            queries[sql.split(None, 1)[0].upper()] += 1
            return execute(sql, params, many, context)

        common.log("timed push")
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        with connection.execute_wrapper(count):
            started = time.perf_counter()
            pushed = services.run_connector(config_id=config.pk, direction="push", trigger="command")
            seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(args.profile))
        assert pushed.status == "succeeded", pushed.error
        methods = Counter(method for method, _params in fake.calls)
        per_call = [len(p["products"]) for m, p in fake.calls if m == "updateInventoryProductsStock"]
        wrong = sum(1 for p in fake.products.values() if p["stock"].get(fake.warehouse) != 77)

        common.log("floor: bare httpx loop with the same payloads")
        import httpx

        payloads = []
        ids = list(fake.products)
        for start in range(0, len(ids), args.batch):
            products = {pid: {fake.warehouse: 77} for pid in ids[start : start + args.batch]}
            payloads.append(
                {
                    "method": "updateInventoryProductsStock",
                    "parameters": json.dumps({"inventory_id": fake.inventory_id, "products": products}),
                }
            )
        with httpx.Client(headers={"X-BLToken": "bench-token"}, timeout=60) as client:
            started = time.perf_counter()
            for body in payloads:
                response = client.post(fake.url, data=body)
                assert response.json()["status"] == "SUCCESS"
            floor = time.perf_counter() - started
    finally:
        fake.__exit__(None, None, None)
    return {
        "area": "channels",
        "sizes": {
            "variants": listings,
            "batch": args.batch,
            **{k: v for k, v in info.items() if k != "store_id"},
        },
        "figures": [
            {
                "name": "stock push of changed variants (s)",
                "value": round(seconds, 3),
                "floor": round(floor, 3),
                "ratio": common.ratio(seconds, floor),
            },
            {"name": "updateInventoryProductsStock calls", "value": methods["updateInventoryProductsStock"]},
            {"name": "items per call (max)", "value": max(per_call) if per_call else 0},
            {
                "name": "other API calls",
                "value": sum(methods.values()) - methods["updateInventoryProductsStock"],
            },
            {"name": "SQL queries (push run)", "value": sum(queries.values())},
            {
                "name": "SQL queries per call",
                "value": round(sum(queries.values()) / max(1, len(per_call)), 1),
            },
            {"name": "variants with a wrong stock at the fake", "value": wrong},
            {"name": "peak RSS (MiB)", "value": common.self_peak_rss_mib()},
        ],
        "queries_by_kind": dict(queries),
        "calls_by_method": dict(methods),
        "run": {"updated": pushed.updated, "unchanged": pushed.unchanged, "failed": pushed.failed},
    }


def markdown(data: dict) -> str:
    rows = [
        [
            f["name"],
            common.fmt(f["value"], 3) if isinstance(f["value"], float) else f["value"],
            f.get("floor", ""),
            f.get("ratio", ""),
        ]
        for f in data["figures"]
    ]
    machine = common.machine_info()
    return "\n".join(
        [
            f"# Channels: stock push to the BaseLinker fake ({dt.date.today().isoformat()})",
            "",
            f"{data['sizes']['variants']:,} changed variants, batches of {data['sizes']['batch']:,}; "
            "the client's rate limiter off (BaseLinker's 100 requests/minute would add >= 0.6 s per call).",
            f"Machine: {machine.get('cpu_model', '?')}, {machine.get('cores', '?')} cores; run with "
            "`.venv/bin/python bench/channels_bench.py` (`--smoke` for 500 variants).",
            "",
            common.markdown_table(["figure", "value", "floor (bare httpx loop)", "ratio"], rows),
            "",
            f"SQL by kind: {json.dumps(data['queries_by_kind'])}; calls: {json.dumps(data['calls_by_method'])}.",
            "",
            "The floor posts the same payloads, built beforehand, with no database and no result "
            "bookkeeping; the difference is reading the due listings and their availability in "
            "batches, claiming them, and recording each item's result (a constant number of "
            "queries per batch, not per item).",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="500 variants, batches of 100")
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the timed push here")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    args = parser.parse_args()
    if args.smoke or os.environ.get("BENCH_SMOKE") == "1":
        args.variants, args.batch = 500, 100
    url = common.create_database(DB_NAME)
    try:
        setup_django(url)
        data = run(args)
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            common.drop_database(DB_NAME)
    text = markdown(data)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    if not args.no_write:
        prefix = "channels-smoke" if args.smoke else "channels"
        common.write_results(data, text, prefix=prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
