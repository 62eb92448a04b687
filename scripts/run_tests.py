#!/usr/bin/env python
"""The README's test command: say what the tests run against, then run pytest.

Uses PostgreSQL when DATABASE_URL points at it (SQLite otherwise) and Redis for cache and Celery
when REDIS_URL / CELERY_BROKER_URL are set. Extra arguments go to pytest.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    os.chdir(ROOT)
    db = os.environ.get("DATABASE_URL", "sqlite (embedded default)")
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem:// (embedded default)")
    cache = os.environ.get("REDIS_URL", "file cache (embedded default)")
    print(f"Tests use database: {db.split('@')[-1] if '@' in db else db}")
    print(f"Tests use Celery broker: {broker}")
    print(f"Tests use cache: {cache}")
    workers = os.environ.get("TEST_WORKERS", "2")
    args = [sys.executable, "-m", "pytest", "-p", "xdist", "-n", workers, "--dist", "loadfile", *sys.argv[1:]]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
