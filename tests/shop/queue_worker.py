"""A real worker of the shop whose report jobs each sleep ``SLOW_TASK_SECONDS`` instead of
building a report: the slow backlog of tests/shop/test_queues.py, without hundreds of real reports.

    python -m tests.shop.queue_worker worker --queues=slow ...
"""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

import django

django.setup()

from shop.celery import app  # noqa: E402

app.loader.import_default_modules()
SECONDS = float(os.environ.get("SLOW_TASK_SECONDS", "0.2"))


def _sleep(job_id):
    time.sleep(SECONDS)


# The worker builds its tracers from ``task.run`` when it starts, after this line.
app.tasks["reports.tasks.run_report_job"].run = _sleep

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
