"""Checkout benchmark on PostgreSQL: orders placed per second under concurrent buyers, the
oversell race at 100 concurrent buyers for 10 units, and SQL queries per placed order.

    .venv/bin/python bench/checkout_bench.py                 # full: 8 buyers x 400 orders, race 100/10
    .venv/bin/python bench/checkout_bench.py --smoke         # CI-sized, well under a minute
    .venv/bin/python bench/checkout_bench.py --buyers 16 --orders 800 --json out.json --keep-db

It creates (and drops, unless ``--keep-db``) its own database ``koszyk_bench_orders`` on the
server of ``BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``), migrates
it, and measures ``orders.services.place_order`` -- the whole checkout transaction: re-pricing,
stock hold under row locks, gapless order number, lines, payment, history, email row, events --
from carts prepared beforehand (preparing carts is not timed). Each buyer is a thread with its own
connection.

Floor: the same buyers running the irreducible part of a checkout on the same hot rows -- a
transaction that locks the variant's stock row, inserts one hold and takes the next number from
the same counter row -- so ``ours / floor`` says what the rest of the checkout costs.

Writes ``bench/results/checkout-<date>.md`` (and ``--json PATH``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

import common  # noqa: E402

DB_NAME = "koszyk_bench_orders"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_shop(*, variants: int, stock: int):
    from orders.models import PaymentMethod, ShippingMethod
    from shop.models import Store
    from tests.catalog.factories import VariantFactory

    store, _ = Store.objects.get_or_create(
        domain="bench.localhost", defaults={"name": "Bench", "is_default": True}
    )
    ShippingMethod.objects.get_or_create(
        store=store,
        code="kurier",
        defaults={"name": "Kurier", "price": "14.99", "cash_on_delivery": "allowed"},
    )
    for provider in ("test_gateway", "cod"):
        PaymentMethod.objects.get_or_create(store=store, provider=provider, defaults={"name": provider})
    items = [VariantFactory(store=store, stock=stock, price=Decimal("49.99")) for _ in range(variants)]
    return store, items


def prepare_carts(store, items, *, count: int, lines: int, payment: str, rng_seed: int = 7) -> list[int]:
    import random

    from orders import services
    from orders.models import PaymentMethod, ShippingMethod

    rng = random.Random(rng_seed)
    shipping = ShippingMethod.objects.get(store=store, code="kurier")
    method = PaymentMethod.objects.get(store=store, provider=payment)
    answers = {
        "first_name": "Jan",
        "last_name": "Bench",
        "phone": "600100200",
        "street": "Testowa 1",
        "postal_code": "00-001",
        "city": "Warszawa",
    }
    ids = []
    for i in range(count):
        cart = services.get_or_create_cart(store=store)
        for variant in rng.sample(items, k=min(lines, len(items))):
            services.add_to_cart(cart=cart, variant_id=variant.pk, quantity=1)
        services.save_checkout_email(cart=cart, email=f"buyer{i}@example.com", marketing_consent=False)
        services.set_checkout_choices(
            cart=cart, shipping_method=shipping, payment_method=method, answers=answers
        )
        ids.append(cart.pk)
    return ids


def _place_many(cart_ids, barrier, results) -> None:
    """One buyer process: place the orders of ``cart_ids`` one after the other."""
    from django.db import connection

    from orders import services
    from orders.models import Cart

    connection.close()  # never share the parent's socket
    placed = refused = 0
    latencies, errors = [], []
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for cart_id in cart_ids:
        t0 = time.perf_counter()
        try:
            services.place_order(cart=Cart.objects.get(pk=cart_id))
            placed += 1
        except services.OutOfStock:
            refused += 1
        except Exception as exc:  # recorded, so a deadlock shows up in the result
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - t0)
    results.put(
        {
            "placed": placed,
            "refused": refused,
            "errors": errors,
            "latencies": latencies,
            "started": started,
            "ended": time.perf_counter(),
        }
    )
    connection.close()


def _floor_many(count, store_id, variant_id, item_id, barrier, results) -> None:
    """One floor process: the irreducible hot-row work of ``count`` checkouts."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import StockItem, StockReservation
    from orders.services.recording import next_order_number
    from shop.models import Store

    connection.close()
    store = Store.objects.get(pk=store_id)
    barrier.wait(timeout=120)
    started = time.perf_counter()
    latencies = []
    for _ in range(count):
        t0 = time.perf_counter()
        with transaction.atomic():
            StockItem.objects.select_for_update().get(pk=item_id)
            StockReservation.objects.create(
                variant_id=variant_id,
                stock_item_id=item_id,
                quantity=1,
                reference="floor",
                expires_at=timezone.now() + timedelta(minutes=1),
            )
            next_order_number(store, timezone.now())
        latencies.append(time.perf_counter() - t0)
    results.put(
        {
            "placed": count,
            "refused": 0,
            "errors": [],
            "latencies": latencies,
            "started": started,
            "ended": time.perf_counter(),
        }
    )
    connection.close()


def _in_processes(target, chunks: list[tuple]) -> dict:
    """Run ``target(*chunk, barrier, results)`` in one forked process per chunk, all starting
    together; return the combined counts, wall time and latency percentiles."""
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(len(chunks))
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*chunk, barrier, results)) for chunk in chunks]
    for p in procs:
        p.start()
    parts = [results.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for part in parts for x in part["latencies"])
    wall = max(p["ended"] for p in parts) - min(p["started"] for p in parts)
    placed = sum(p["placed"] for p in parts)
    return {
        "placed": placed,
        "refused": sum(p["refused"] for p in parts),
        "errors": [e for p in parts for e in p["errors"]],
        "wall_s": round(wall, 3),
        "per_s": round(placed / wall, 1) if wall else 0,
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
    }


def run_buyers(cart_ids: list[int], buyers: int) -> dict:
    """``buyers`` processes (one connection each) place the orders of ``cart_ids``."""
    chunks = [(cart_ids[i::buyers],) for i in range(buyers)]
    return _in_processes(_place_many, chunks)


def run_floor(store, variant, *, transactions: int, buyers: int) -> dict:
    """The irreducible hot-row work of a checkout, same buyers, same rows: lock the variant's
    stock row, insert one hold, take the next number from the store's counter row."""
    from catalog.models import StockItem, StockReservation

    item = StockItem.objects.get(variant=variant)
    per = [transactions // buyers + (1 if i < transactions % buyers else 0) for i in range(buyers)]
    result = _in_processes(_floor_many, [(n, store.pk, variant.pk, item.pk) for n in per])
    StockReservation.objects.filter(reference="floor").delete()
    result["transactions"] = transactions
    return result


def race_threads(cart_ids: list[int], *, connections: int) -> dict:
    """Every buyer in its own thread, all released at once by a barrier; like a web server with
    ``connections`` workers, at most that many talk to PostgreSQL at the same time (each with its
    own connection), the rest queue for a worker."""
    from django.db import connection

    from orders import services
    from orders.models import Cart

    lock = threading.Lock()
    placed, refused, errors = [], [], []
    barrier = threading.Barrier(len(cart_ids))
    workers = threading.BoundedSemaphore(connections)

    def buyer(cart_id):
        try:
            barrier.wait(timeout=60)
            with workers:
                try:
                    order = services.place_order(cart=Cart.objects.get(pk=cart_id))
                except services.OutOfStock:
                    with lock:
                        refused.append(cart_id)
                else:
                    with lock:
                        placed.append(order.pk)
                finally:
                    connection.close()
        except Exception as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=buyer, args=(c,)) for c in cart_ids]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "placed": len(placed),
        "refused": len(refused),
        "errors": errors,
        "wall_s": round(time.perf_counter() - started, 3),
        "connections": connections,
    }


def queries_per_order(store, items, *, lines: int, payment: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders import services
    from orders.models import Cart

    (cart_id,) = prepare_carts(store, items, count=1, lines=lines, payment=payment, rng_seed=lines)
    with CaptureQueriesContext(connection) as ctx:
        services.place_order(cart=Cart.objects.get(pk=cart_id))
    return len(ctx.captured_queries)


def race(store, *, buyers: int, units: int, connections: int) -> dict:
    from catalog.models import StockItem
    from orders.models import Order
    from tests.catalog.factories import VariantFactory

    variant = VariantFactory(store=store, stock=units, price=Decimal("999.00"))
    before = Order.objects.count()
    carts = prepare_carts(store, [variant], count=buyers, lines=1, payment="cod", rng_seed=99)
    result = race_threads(carts, connections=connections)
    item = StockItem.objects.get(variant=variant)
    result.update(
        {
            "buyers": buyers,
            "units": units,
            "orders": Order.objects.count() - before,
            "stock_after": item.quantity,
        }
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="CI-sized: few orders, finishes in well under a minute"
    )
    parser.add_argument("--json", help="write machine-readable figures here")
    parser.add_argument("--buyers", type=int, default=8, help="concurrent buyers (threads)")
    parser.add_argument("--orders", type=int, default=400, help="orders placed in the throughput run")
    parser.add_argument("--lines", type=int, default=3, help="lines per cart in the throughput run")
    parser.add_argument("--race-buyers", type=int, default=100)
    parser.add_argument("--race-units", type=int, default=10)
    parser.add_argument(
        "--race-connections",
        type=int,
        default=40,
        help="database connections (web workers) serving the race's buyers; PostgreSQL allows 100 by default",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep koszyk_bench_orders for profiling")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args()
    if args.smoke:
        args.buyers, args.orders, args.race_buyers, args.race_units = 4, 40, 20, 5

    machine = common.machine_info()
    machine["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    url = common.create_database(DB_NAME)
    try:
        setup_django(url)
        from django.conf import settings

        settings.CELERY_TASK_ALWAYS_EAGER = False
        from shop.celery import app

        # Emails and event deliveries would be enqueued after commit; the bench measures the
        # checkout transaction, so enqueueing is a no-op here (the broker is not under test).
        app.conf.task_always_eager = False
        from shop import events

        events.safe_delay = lambda *a, **k: True

        store, items = make_shop(variants=40, stock=100000)
        common.log(f"checkout bench: preparing {args.orders} carts of {args.lines} lines")
        carts = prepare_carts(store, items, count=args.orders, lines=args.lines, payment="test_gateway")
        common.log(f"checkout bench: {args.buyers} buyers placing {args.orders} orders")
        throughput = run_buyers(carts, args.buyers)
        floor = run_floor(store, items[0], transactions=args.orders, buyers=args.buyers)
        q1 = queries_per_order(store, items, lines=1, payment="test_gateway")
        q20 = queries_per_order(store, items, lines=20, payment="test_gateway")
        q20_cod = queries_per_order(store, items, lines=20, payment="cod")
        common.log(f"checkout bench: race of {args.race_buyers} buyers for {args.race_units} units")
        contest = race(
            store, buyers=args.race_buyers, units=args.race_units, connections=args.race_connections
        )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            common.drop_database(DB_NAME)

    ok_race = contest["orders"] == args.race_units and contest["stock_after"] == 0 and not contest["errors"]
    figures = [
        {
            "name": f"orders placed per second ({args.buyers} buyers, {args.lines} lines)",
            "value": throughput["per_s"],
            "floor": floor["per_s"],
            "ratio": round(throughput["per_s"] / floor["per_s"], 3) if floor["per_s"] else None,
        },
        {"name": "place_order p50 ms", "value": throughput["p50_ms"]},
        {"name": "place_order p95 ms", "value": throughput["p95_ms"]},
        {"name": "SQL queries per order, 1 line (online payment)", "value": q1, "floor": 40},
        {"name": "SQL queries per order, 20 lines (online payment)", "value": q20, "floor": 40},
        {"name": "SQL queries per order, 20 lines (cash on delivery)", "value": q20_cod, "floor": 40},
        {
            "name": f"oversell race: orders for {args.race_units} units, {args.race_buyers} buyers",
            "value": contest["orders"],
            "floor": args.race_units,
        },
    ]
    result = {
        "area": "checkout",
        "machine": machine,
        "sizes": {"buyers": args.buyers, "orders": args.orders, "lines": args.lines, "smoke": args.smoke},
        "throughput": throughput,
        "floor": floor,
        "queries": {"1_line": q1, "20_lines": q20, "20_lines_cod": q20_cod},
        "race": contest,
        "race_ok": ok_race,
        "figures": figures,
    }
    print(json.dumps(result, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    if not args.no_write:
        write_markdown(result, args)
    return 0 if ok_race and not throughput["errors"] else 1


def write_markdown(result: dict, args) -> None:
    m, t, f, q, r = (
        result["machine"],
        result["throughput"],
        result["floor"],
        result["queries"],
        result["race"],
    )
    date = dt.date.today().isoformat()
    name = f"checkout-smoke-{date}.md" if args.smoke else f"checkout-{date}.md"
    command = (
        "DATABASE_URL is set by the script (koszyk_bench_orders); .venv/bin/python bench/checkout_bench.py"
    )
    if args.smoke:
        command += " --smoke"
    text = f"""# Checkout benchmark ({date})

Machine: {m.get("cores")} cores, {m.get("memory_gib")} GiB, {m.get("cpu_model", "")}; load average at
start {m.get("load_average_at_start")} (a shared machine: other test suites were running, so every
round trip to PostgreSQL was slow -- compare with the floor, measured in the same run). PostgreSQL
bench database `koszyk_bench_orders` (created and dropped by the run).

Command: `{command}`

## Orders placed per second

`orders.services.place_order` (the whole checkout transaction) from prepared carts of
{args.lines} lines, {args.buyers} concurrent buyers (processes, one connection each), online payment
(stock held under row locks, gapless number from one counter row per store and month).

| | orders | wall | orders/s | p50 | p95 |
|---|---|---|---|---|---|
| Koszyk `place_order` | {t["placed"]} | {t["wall_s"]} s | **{t["per_s"]}** | {t["p50_ms"]} ms | {t["p95_ms"]} ms |
| floor: lock stock row + insert hold + next number | {f["transactions"]} | {f["wall_s"]} s | {f["per_s"]} | | |

ours / floor = {round(t["per_s"] / f["per_s"], 3) if f["per_s"] else "n/a"}. Errors: {t["errors"] or "none"}.

## SQL queries per placed order (limit 40; Saleor's complete checkout: ~230)

| cart | queries |
|---|---|
| 1 line, online payment | {q["1_line"]} |
| 20 lines, online payment | {q["20_lines"]} |
| 20 lines, cash on delivery (stock taken at once) | {q["20_lines_cod"]} |

(Counted with `CaptureQueriesContext` around `place_order`, outside a test transaction: no
savepoints; BEGIN/COMMIT are not counted by Django.)

## Oversell race

{r["buyers"]} buyers released at once (a barrier), each in its own thread, for **{r["units"]} units**,
served by {r["connections"]} database connections at a time (like {r["connections"]} web workers; PostgreSQL's
default `max_connections` is 100 and other clients share it):

| orders placed | refused ("someone has just bought the last one") | stock after | errors | wall |
|---|---|---|---|---|
| **{r["orders"]}** | {r["refused"]} | {r["stock_after"]} | {len(r["errors"])} | {r["wall_s"]} s |

Result: {"exactly " + str(r["units"]) + " orders, stock never negative" if result["race_ok"] else "FAILED"}.
"""
    path = common.RESULTS_DIR / name
    path.write_text(text)
    common.log(f"checkout bench: wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
