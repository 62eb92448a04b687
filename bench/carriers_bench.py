"""Benchmark: shipping N orders through InPost ShipX (the local fake) on PostgreSQL, each step
beside its floor: the same HTTP calls made bare with httpx, no database and no rules.

    .venv/bin/python bench/carriers_bench.py                # 100 orders
    .venv/bin/python bench/carriers_bench.py --orders 20    # quicker
    .venv/bin/python bench/carriers_bench.py --keep-db --no-write

Steps (``orders.carriers.services``, tasks run inline): create N pending shipments (the admin
form's service), send + confirm each (one POST, one GET each), one batch label PDF for all (one
ShipX call per 100, merged with pypdf), and one tracking pass that moves every order to shipped
(order workflow, notes, emails planned, events). Figures: seconds, SQL queries per shipment, HTTP
calls. Uses its own database ``koszyk_carriers_bench`` (created and dropped unless ``--keep-db``)
and writes ``bench/results/carriers-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

DB_NAME = "koszyk_carriers_bench"


class Counter:
    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def measure(label: str, fn, results: list, *, n: int, http_before: int, fake):
    from django.db import connection

    counter = Counter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        out = fn()
    seconds = time.perf_counter() - started
    calls = len(fake.requests) - http_before
    results.append(
        {
            "step": label,
            "seconds": round(seconds, 3),
            "per_shipment_ms": round(1000 * seconds / n, 2),
            "queries": counter.queries,
            "queries_per_shipment": round(counter.queries / n, 1),
            "http_calls": calls,
        }
    )
    common.log(f"{label}: {seconds:.2f} s, {counter.queries} queries, {calls} HTTP calls")
    return out


def floor(fake, n: int) -> dict:
    """The same ShipX conversation with bare httpx: create, read until confirmed, one batch label."""
    import httpx

    headers = {"Authorization": f"Bearer {fake.token}"}
    org = f"{fake.url}/v1/organizations/{fake.organization_id}"
    body = {
        "receiver": {
            "first_name": "Anna",
            "last_name": "Nowak",
            "email": "a@example.com",
            "phone": "600100200",
        },
        "parcels": [{"template": "small"}],
        "custom_attributes": {"target_point": "KRA010"},
        "service": "inpost_locker_standard",
    }
    started = time.perf_counter()
    ids = []
    with httpx.Client(headers=headers, timeout=10) as client:
        for i in range(n):
            created = client.post(f"{org}/shipments", json={**body, "reference": f"FLOOR{i}"}).json()
            client.get(f"{fake.url}/v1/shipments/{created['id']}")
            ids.append(created["id"])
        send = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, n, 100):
            params = [("format", "Pdf")] + [("shipment_ids[]", str(i)) for i in ids[start : start + 100]]
            client.get(f"{org}/shipments/labels", params=params).raise_for_status()
        labels = time.perf_counter() - started
    return {"send_confirm": round(send, 3), "labels": round(labels, 3)}


def run(orders: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    from orders.carriers import services
    from shop.models import Store
    from tests.fakes.inpost_shipx import FakeShipX
    from tests.orders.factories_shipping import CarrierAccountFactory, locker_method, ship_ready_order

    settings.CARRIER_RATE_PER_SECOND = 0
    settings.CARRIER_CONFIRM_POLL_SECONDS = 0
    settings.CARRIER_TRACKING_MIN_AGE_SECONDS = 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    results: list[dict] = []
    with FakeShipX() as fake:
        settings.INPOST_SHIPX_SANDBOX_URL = fake.url
        store = Store.objects.create(name="Bench carriers", domain="carriers.bench.local", is_default=False)
        CarrierAccountFactory(store=store, carrier="inpost")
        method = locker_method(store)
        batch = [ship_ready_order(store, method) for _ in range(orders)]
        for order in batch:
            order.shipping_method = method  # as the admin form loads them (select_related)

        created = measure(
            "create (pending rows)",
            lambda: services.create_shipments(orders=batch)[0],
            results,
            n=orders,
            http_before=len(fake.requests),
            fake=fake,
        )

        def send_all():
            for shipment in created:
                services.submit_shipment(shipment.pk)
                services.poll_shipment(shipment.pk)

        measure("send + confirm", send_all, results, n=orders, http_before=len(fake.requests), fake=fake)
        from orders.models import Shipment

        shipments = list(Shipment.objects.filter(pk__in=[s.pk for s in created]).select_related("account"))
        document = measure(
            "batch label PDF",
            lambda: services.label_document(shipments=shipments, fmt="pdf")[0],
            results,
            n=orders,
            http_before=len(fake.requests),
            fake=fake,
        )
        for shipment in shipments:
            fake.advance(shipment.tracking_number, "taken_by_courier")

        def track_all():
            for shipment in shipments:
                services.track_shipment(shipment.pk)

        measure(
            "tracking -> shipped", track_all, results, n=orders, http_before=len(fake.requests), fake=fake
        )
        floors = floor(fake, orders)
    return {
        "orders": orders,
        "steps": results,
        "floor_seconds": floors,
        "label_bytes": len(document.content),
        "machine": common.machine_info(),
        "revision": common.git_revision(),
    }


def markdown(data: dict) -> str:
    steps = {s["step"]: s for s in data["steps"]}
    rows = [
        [
            s["step"],
            s["seconds"],
            s["per_shipment_ms"],
            s["queries_per_shipment"],
            s["http_calls"],
        ]
        for s in data["steps"]
    ]
    send, labels = steps["send + confirm"], steps["batch label PDF"]
    fl = data["floor_seconds"]
    return "\n\n".join(
        [
            f"# Carriers bench ({dt.date.today().isoformat()}, {data['orders']} orders, fake ShipX on loopback)",
            common.markdown_table(["step", "seconds", "ms / shipment", "SQL / shipment", "HTTP calls"], rows),
            common.markdown_table(
                ["step", "Koszyk s", "floor s (bare httpx)", "ratio"],
                [
                    [
                        "send + confirm",
                        send["seconds"],
                        fl["send_confirm"],
                        common.ratio(send["seconds"], fl["send_confirm"]),
                    ],
                    [
                        "batch label",
                        labels["seconds"],
                        fl["labels"],
                        common.ratio(labels["seconds"], fl["labels"]),
                    ],
                ],
            ),
            f"Merged label PDF: {data['label_bytes']:,} bytes. Machine: {data['machine']}. Revision {data['revision']}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if not common.area_database("carriers"):
        os.environ["DATABASE_URL"] = common.create_database(DB_NAME)
    try:
        data = run(args.orders)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db and not os.environ.get("BENCH_PG_URL"):
            common.drop_database(DB_NAME)
    text = markdown(data)
    print(text)
    if not args.no_write:
        paths = common.write_results(data, text, prefix="carriers")
        common.log(f"wrote {paths[0]} and {paths[1]}")


if __name__ == "__main__":
    main()
