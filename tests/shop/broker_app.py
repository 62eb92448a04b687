"""A tiny Celery app on the embedded broker (shop/broker.py) for tests/shop/test_broker.py.

Its worker runs without Django: ``BROKER_TEST_DIR`` names the folder holding the queue folders
and ``done/``, where each task leaves a file named after its argument.
"""

import os
from pathlib import Path

from celery import Celery

import shop.broker  # noqa: F401  (filesystem:// -> the crash-safe transport)

BASE = Path(os.environ.get("BROKER_TEST_DIR", "broker-test-unset"))


def transport_options(base: Path) -> dict:
    return {
        "data_folder_in": str(base / "queue"),
        "data_folder_out": str(base / "queue"),
        "control_folder": str(base / "control"),
        "polling_interval": 0.1,
    }


# Not the current app: importing this module from a test must not rebind shared tasks to it.
app = Celery("broker_test", broker="filesystem://", set_as_current=False)
app.conf.update(
    broker_transport_options=transport_options(BASE),
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
)


@app.task(name="broker_test.mark")
def mark(name: str) -> None:
    done = BASE / "done"
    done.mkdir(exist_ok=True)
    (done / name).write_text("ok")
