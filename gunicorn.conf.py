"""gunicorn reads this file from the working directory: its settings come from the environment so
that one variable serves gunicorn and Django alike.

``WEB_TIMEOUT_SECONDS`` is how long a worker may be silent before gunicorn kills it; Django reads
the same variable to know that no request outlives it (an ``Idempotency-Key`` left "in progress"
longer than that belongs to a killed worker: shop/api/idempotency.py).
"""

import os

timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "60"))


def child_exit(server, worker):
    """Prometheus multiprocess mode (PROMETHEUS_MULTIPROC_DIR): drop a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
