#!/usr/bin/env python
"""The README's test command: say what the tests run against, then run pytest.

Uses PostgreSQL when DATABASE_URL points at it (SQLite otherwise) and Redis for cache and Celery
when REDIS_URL / CELERY_BROKER_URL are set. Extra arguments go to pytest.

``--date-sensitive`` stands for the test modules whose outcome could depend on the date and time
they run at (invoices, the demo seeder, recovery timing, report periods, stock reservations,
vouchers, gift cards and return windows, Allegro and feed schedules). CI runs them again with the clock moved by ``KOSZYK_TEST_CLOCK``
(tests/conftest.py, docs/testing.md), e.g.::

    KOSZYK_TEST_CLOCK=2026-12-31T23:30:00+01:00 python scripts/run_tests.py --date-sensitive
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DATE_SENSITIVE = [
    "tests/test_session_clock.py",
    "tests/shop/test_seed_demo.py",
    "tests/orders/test_invoices.py",
    "tests/orders/test_payments.py",
    "tests/orders/test_place_order.py",
    "tests/orders/test_codes.py",
    "tests/orders/test_admin_gift_cards.py",
    "tests/orders/test_returns.py",
    "tests/catalog/test_stock.py",
    "tests/recovery/test_detection.py",
    "tests/recovery/test_sending.py",
    "tests/recovery/test_timezone.py",
    "tests/recovery/test_stats.py",
    "tests/reports/test_selectors.py",
    "tests/reports/test_recovery_report.py",
    "tests/reports/test_jobs.py",
    "tests/reports/test_admin.py",
    "tests/integrations/test_runs.py",
    "tests/integrations/channels/test_allegro_offers.py",
    "tests/integrations/channels/test_allegro_orders.py",
    "tests/integrations/channels/test_allegro_oauth.py",
    "tests/integrations/feeds/test_generation.py",
    "tests/integrations/feeds/test_changes.py",
    "tests/integrations/feeds/test_google.py",
    "tests/integrations/feeds/test_ceneo.py",
]


def main() -> int:
    os.chdir(ROOT)
    db = os.environ.get("DATABASE_URL", "sqlite (embedded default)")
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem:// (embedded default)")
    cache = os.environ.get("REDIS_URL", "file cache (embedded default)")
    print(f"Tests use database: {db.split('@')[-1] if '@' in db else db}")
    print(f"Tests use Celery broker: {broker}")
    print(f"Tests use cache: {cache}")
    if os.environ.get("KOSZYK_TEST_CLOCK"):
        print(f"Tests run with the clock moved to: {os.environ['KOSZYK_TEST_CLOCK']} (ticking)")
    extra = []
    for arg in sys.argv[1:]:
        extra.extend(DATE_SENSITIVE if arg == "--date-sensitive" else [arg])
    workers = os.environ.get("TEST_WORKERS", "2")
    args = [sys.executable, "-m", "pytest", "-p", "xdist", "-n", workers, "--dist", "loadfile", *extra]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
