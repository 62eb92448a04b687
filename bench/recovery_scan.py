"""Benchmark: abandoned-cart detection, scheduling and sending at scale (not run in tests).

    createdb -h 127.0.0.1 -U postgres koszyk_bench_recovery   # the script also tries this
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_recovery \\
        .venv/bin/python bench/recovery_scan.py [--carts 1000000] [--due 100000] [--emails 10000]

1. Generates CARTS carts with SQL (generate_series): DUE of them open, idle, with an email,
   consent and a line; the rest ordered, open without an email, or still active.
2. Detection: recovery.services.detect_abandoned() over all of them (carts/second, peak Python
   memory by tracemalloc, peak RSS), and the same scan as one plain SQL count (the floor).
3. Scheduling: recovery.services.dispatch_due() claims and queues every due reminder (to Redis
   when reachable, else to a counter), in bounded batches.
4. Sending: EMAILS messages over one reused SMTP connection to a local aiosmtpd (the channel's
   rate), and PIPELINE_EMAILS reminders through the full send path (claim, re-checks,
   personalisation at send time, SMTP) in one thread.

Writes bench/results/recovery-<date>.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402

if __name__ == "__main__":
    common.area_database("recovery")  # run by the suite: a copy of its database, dropped at exit
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/koszyk_bench_recovery"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
os.environ.setdefault("SECURE_HTTPS", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("RECOVERY_QUIET_HOURS", "")
os.environ.setdefault("RECOVERY_FREQUENCY_CAP_HOURS", "0")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_database() -> None:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False)


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def not_null_defaults(cursor, table: str) -> dict[str, str]:
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'",
        [table],
    )
    by_type = {"boolean": "false", "jsonb": "'{}'::jsonb", "integer": "0", "bigint": "0", "numeric": "0"}
    out = {}
    for column, data_type in cursor.fetchall():
        if data_type.startswith("timestamp"):
            out[column] = "now()"
        else:
            out[column] = by_type.get(data_type, "''")
    return out


def generate(carts: int, due: int) -> dict:
    from django.db import connection

    from catalog.models import Product, StockItem, Variant, Warehouse
    from orders.models import Cart
    from recovery.models import DetectionCursor, Reminder, TrackedCart
    from recovery.services import ensure_default_campaign
    from shop.models import Store

    store, _ = Store.objects.get_or_create(
        domain="bench.example.pl", defaults={"name": "Bench", "is_default": not Store.objects.exists()}
    )
    ensure_default_campaign(store=store)
    product, _ = Product.objects.get_or_create(
        store=store, slug="bench", defaults={"name": "Bench", "is_published": True}
    )
    variant, _ = Variant.objects.get_or_create(
        store=store, sku="BENCH-1", defaults={"product": product, "price": 99}
    )
    warehouse, _ = Warehouse.objects.get_or_create(store=store, code="main", defaults={"name": "Main"})
    StockItem.objects.get_or_create(variant=variant, warehouse=warehouse, defaults={"quantity": 10**6})
    started = time.perf_counter()
    Reminder.objects.all().delete()
    TrackedCart.objects.all().delete()
    DetectionCursor.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE orders_cartline, orders_cart RESTART IDENTITY CASCADE")
        columns = not_null_defaults(cursor, "orders_cart")
        # Rows 1..due: open, idle 1-3 days, email and consent, one line. The rest: 60% ordered,
        # 25% open without an email, 15% open and active in the last ten minutes.
        columns.update(
            {
                "store_id": str(store.pk),
                "token": "'bench-' || g",
                "language": "'pl'",
                "status": f"CASE WHEN g <= {due} THEN 'open' WHEN g %% 20 < 12 THEN 'ordered' ELSE 'open' END",
                "email": f"CASE WHEN g <= {due} OR g %% 20 < 12 OR g %% 20 >= 17 THEN 'shopper' || g || '@example.com' ELSE '' END",
                "marketing_consent": "true",
                "consent_at": "now()",
                "last_activity_at": f"CASE WHEN g <= {due} THEN now() - interval '1 day' - (g %% 2880) * interval '1 minute' "
                "WHEN g %% 20 >= 17 THEN now() - (g %% 10) * interval '1 minute' "
                "ELSE now() - (g %% 30) * interval '1 day' END",
            }
        )
        names = ", ".join(columns)
        values = ", ".join(columns.values())
        insert = f"INSERT INTO orders_cart ({names}) SELECT {values} FROM generate_series(1, %s) g"  # noqa: S608
        cursor.execute(insert, [carts])
        line_columns = not_null_defaults(cursor, "orders_cartline")
        line_columns.update(
            {"cart_id": "c.id", "variant_id": str(variant.pk), "quantity": "1", "price_when_added": "99"}
        )
        cursor.execute(
            f"INSERT INTO orders_cartline ({', '.join(line_columns)}) "  # noqa: S608
            f"SELECT {', '.join(line_columns.values())} FROM orders_cart c WHERE c.status = 'open' AND c.email <> ''"
        )
        cursor.execute("ANALYZE orders_cart; ANALYZE orders_cartline")
    return {
        "store": store,
        "seconds": time.perf_counter() - started,
        "open": Cart.objects.filter(status="open").count(),
    }


def floor_count(idle_minutes: float, lookback_days: float) -> tuple[int, float]:
    from django.db import connection

    sql = (
        "SELECT count(*) FROM orders_cart c WHERE c.status = 'open' "
        "AND c.last_activity_at <= now() - %s * interval '1 minute' "
        "AND c.last_activity_at > now() - %s * interval '1 day' "
        "AND (c.email <> '' OR c.user_id IS NOT NULL) "
        "AND EXISTS (SELECT 1 FROM orders_cartline l WHERE l.cart_id = c.id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [idle_minutes, lookback_days])  # warm
        started = time.perf_counter()
        cursor.execute(sql, [idle_minutes, lookback_days])
        (n,) = cursor.fetchone()
    return n, time.perf_counter() - started


def run_detection() -> dict:
    from django.conf import settings

    from recovery.services import detect_abandoned

    rss_before = rss_mb()
    started = time.perf_counter()
    result = detect_abandoned()
    seconds = time.perf_counter() - started
    n, floor = floor_count(settings.RECOVERY_IDLE_MINUTES, settings.RECOVERY_LOOKBACK_DAYS)
    return {
        "scanned": result.scanned,
        "abandoned": result.abandoned,
        "planned": result.planned,
        "batches": result.batches,
        "seconds": seconds,
        "rss_before": rss_before,
        "rss_mb": rss_mb(),
        "floor_count": n,
        "floor_seconds": floor,
    }


def run_dispatch() -> dict:
    from django.db.models import F
    from django.utils import timezone

    from recovery.services import dispatch_due

    queued = {"n": 0}
    target = "counter"
    enqueue = None
    try:
        import redis
        from celery import Celery

        url = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
        app = Celery("bench", set_as_current=False)
        connection = app.connection_for_write(url)
        producer = app.amqp.Producer(connection)
        target = url

        def enqueue(reminder_id: int) -> None:
            app.send_task("recovery.tasks.send_reminder_task", args=[reminder_id], producer=producer)
            queued["n"] += 1
    except Exception:
        enqueue = None

    if enqueue is None:

        def enqueue(reminder_id: int) -> None:
            queued["n"] += 1

    at = timezone.now() + timedelta(hours=1, minutes=1)  # step 1 of every abandoned cart is due
    rss_before = rss_mb()
    started = time.perf_counter()
    total = dispatch_due(now=at, enqueue=enqueue)
    seconds = time.perf_counter() - started
    # The same claim without a broker: the claim's own cost.
    from recovery.models import Reminder

    Reminder.objects.filter(status="planned", due_at__lte=at).update(next_attempt_at=F("due_at"))
    started = time.perf_counter()
    tracemalloc.start()
    claimed_again = dispatch_due(now=at, enqueue=lambda reminder_id: None)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    claim_only = time.perf_counter() - started
    if target != "counter":
        import redis

        redis.Redis.from_url(target).flushdb()
    return {
        "claimed": total,
        "queued": queued["n"],
        "target": target,
        "seconds": seconds,
        "rss_before": rss_before,
        "rss_mb": rss_mb(),
        "claim_only": claimed_again,
        "claim_only_seconds": claim_only,
        "claim_peak_mb": peak / 2**20,
    }


def run_sending(emails: int, pipeline_emails: int) -> dict:
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.utils import timezone

    from recovery.channels import email as email_channel
    from recovery.models import Reminder
    from recovery.services import send_reminder

    class Counter:
        n = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.n += 1
            return "250 OK"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.RECOVERY_SMTP_IDLE_CHECK_SECONDS = 30
    email_channel.close_connection()
    ids = list(
        Reminder.objects.filter(step__position=1, status="planned")
        .order_by("pk")
        .values_list("pk", flat=True)[:pipeline_emails]
    )
    at = timezone.now() + timedelta(hours=1, minutes=1)
    started = time.perf_counter()
    outcomes: dict[str, int] = {}
    for reminder_id in ids:
        outcome = send_reminder(reminder_id=reminder_id, now=at)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    pipeline = time.perf_counter() - started
    # The channel alone: the same number of already-rendered messages over the reused connection.
    from recovery.channels import OutgoingMessage

    message = OutgoingMessage(
        to="raw@example.com", subject="x", text="x" * 2000, html="<p>x</p>" * 300, sender="b@example.com"
    )
    channel = email_channel.EmailChannel()
    started = time.perf_counter()
    for _ in range(emails):
        channel.send(message)
    raw = time.perf_counter() - started
    email_channel.close_connection()
    time.sleep(0.5)
    controller.stop()
    return {
        "emails": emails,
        "pipeline_emails": len(ids),
        "outcomes": outcomes,
        "pipeline_seconds": pipeline,
        "raw_seconds": raw,
        "received": Counter.n,
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return f"{cpu}, {os.cpu_count()} CPUs, {mem}; Python {platform.python_version()}; PostgreSQL {pg}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--carts", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--pipeline-emails", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="CI-sized: 2,000 carts, 100 emails")
    parser.add_argument("--json", type=Path, help="also write the figures there (the suite's convention)")
    args = parser.parse_args()
    if args.smoke:
        args.carts, args.due, args.emails, args.pipeline_emails = 2_000, 200, 100, 100
    ensure_database()
    setup_django()
    from django.conf import settings

    print(f"generating {args.carts:,} carts ({args.due:,} due)...", flush=True)
    gen = generate(args.carts, args.due)
    print(f"  {gen['seconds']:.1f} s", flush=True)
    print("detecting...", flush=True)
    det = run_detection()
    print(det, flush=True)
    print("dispatching...", flush=True)
    disp = run_dispatch()
    print(disp, flush=True)
    print("sending...", flush=True)
    send = run_sending(args.emails, args.pipeline_emails)
    print(send, flush=True)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    common.write_area_json(
        args.json,
        "recovery",
        [
            {
                "name": "abandoned carts detected per second",
                "value": round(det["abandoned"] / max(det["seconds"], 1e-9)),
                "unit": "carts/s",
                "floor": round(det["floor_count"] / max(det["floor_seconds"], 1e-9)),
                "floor_is": "the same predicate as one SQL count (rows/s)",
                "ratio": common.ratio(det["floor_seconds"], det["seconds"], 4),
            },
            {
                "name": "due reminders claimed and queued per second",
                "value": round(disp["claimed"] / max(disp["seconds"], 1e-9)),
                "unit": "reminders/s",
            },
            {
                "name": "emails sent per second (full send path, local aiosmtpd)",
                "value": round(send["emails"] / max(send["pipeline_seconds"], 1e-9)),
                "unit": "messages/s",
                "floor": round(send["emails"] / max(send["raw_seconds"], 1e-9)),
                "floor_is": "the channel alone with a pre-rendered message",
                "ratio": common.ratio(send["raw_seconds"], send["pipeline_seconds"], 3),
            },
            {"name": "detection peak RSS", "value": round(det["rss_mb"]), "unit": "MiB"},
        ],
        sizes={"carts": args.carts, "due": args.due, "emails": args.emails, "smoke": args.smoke},
    )
    # A smoke run's tiny figures must not replace the real result file.
    path = (common.WORK_DIR if args.smoke else ROOT / "bench" / "results") / f"recovery-{today}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""# Cart recovery benchmark, {today}

Machine: {machine()}.
Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/koszyk_bench_recovery .venv/bin/python bench/recovery_scan.py --carts {args.carts} --due {args.due} --emails {args.emails} --pipeline-emails {args.pipeline_emails}`
Settings: RECOVERY_BATCH_SIZE={settings.RECOVERY_BATCH_SIZE}, RECOVERY_IDLE_MINUTES={settings.RECOVERY_IDLE_MINUTES}, RECOVERY_LOOKBACK_DAYS={settings.RECOVERY_LOOKBACK_DAYS}; default campaign (3 steps).

## Data
{args.carts:,} carts generated with SQL generate_series in {gen["seconds"]:.1f} s; {gen["open"]:,} open, of which {args.due:,} idle with an email, consent and a line (the rest are active, or have no email).

## Detection (scan + planning)
| | |
|---|---|
| carts found abandoned | {det["abandoned"]:,} in {det["batches"]} batches |
| reminders planned | {det["planned"]:,} |
| time | {det["seconds"]:.1f} s |
| carts/second | {det["abandoned"] / det["seconds"]:,.0f} |
| process peak RSS (getrusage) before / after | {det["rss_before"]:.0f} / {det["rss_mb"]:.0f} MiB |
| floor: the same predicate as one SQL count | {det["floor_count"]:,} rows in {det["floor_seconds"] * 1000:.0f} ms |

The floor only counts; detection also reads every due cart's lines, consent answers, earlier
orders and suppressions, writes one tracked row and three reminders per cart and moves the cursor,
in batches, so the gap is the cost of the writes, not of the scan.

## Scheduling (claim and queue every due reminder)
| | |
|---|---|
| due reminders claimed (FOR UPDATE SKIP LOCKED batches) | {disp["claimed"]:,} |
| queued to | {disp["target"]} ({disp["queued"]:,} messages) |
| time | {disp["seconds"]:.1f} s ({disp["claimed"] / max(disp["seconds"], 1e-9):,.0f} reminders/s, broker publishing included) |
| process peak RSS before / after | {disp["rss_before"]:.0f} / {disp["rss_mb"]:.0f} MiB |
| the claim alone, no broker (same rows again) | {disp["claim_only"]:,} in {disp["claim_only_seconds"]:.1f} s; peak Python memory {disp["claim_peak_mb"]:.1f} MiB (tracemalloc: one batch of ids at a time) |

## Sending to a local aiosmtpd (one reused SMTP connection)
| | |
|---|---|
| full send path (claim, re-checks, render, SMTP) | {send["emails"]:,} emails in {send["pipeline_seconds"]:.1f} s = {send["emails"] / send["pipeline_seconds"]:,.0f} messages/s; outcomes {send["outcomes"]} |
| channel only (pre-rendered message) | {send["emails"]:,} emails in {send["raw_seconds"]:.1f} s = {send["emails"] / send["raw_seconds"]:,.0f} messages/s |
| messages received by aiosmtpd | {send["received"]:,} |
"""
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
