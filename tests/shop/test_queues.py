"""Work a shopper waits for never queues behind slow work: every task has a lane, some worker
consumes every lane (compose, `serve`, the documented commands), and with real workers on Redis an
order e-mail is sent within seconds while 200 report jobs still wait on the slow lane."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.conf import settings

from shop.management.commands.serve import consumed_queues

ROOT = Path(settings.BASE_DIR)
REDIS_DB = 15  # the per-xdist-worker caches use 3..14
SLOW_TASKS = 200


def _app() -> Celery:
    """A Celery app configured from the settings alone (not the shared app other tests tweak)."""
    app = Celery("queues-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    return app


def _queue_of(app: Celery, task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def _shop_tasks() -> list[str]:
    from shop.celery import app

    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def _compose_workers() -> dict[str, set[str]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    workers = {}
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if "worker" not in command:
            continue
        queues = [arg.split("=", 1)[1] for arg in command if arg.startswith("--queues=")]
        workers[name] = set(",".join(queues).split(",")) if queues else set(settings.CELERY_LANES)
    return workers


def test_every_task_of_the_shop_has_a_lane():
    tasks = _shop_tasks()
    assert len(tasks) > 40
    missing = [name for name in tasks if name not in settings.CELERY_TASK_ROUTES]
    assert not missing, f"add these tasks to CELERY_LANES in shop/settings.py: {missing}"
    stale = set(settings.CELERY_TASK_ROUTES) - set(tasks)
    assert not stale, f"CELERY_LANES names tasks that do not exist: {sorted(stale)}"


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("orders.tasks.send_order_email", "mail"),
        ("catalog.tasks.send_back_in_stock_alerts", "mail"),
        ("recovery.tasks.send_reminder_task", "bulk"),
        ("orders.tasks.refund_return", "payments"),
        ("orders.tasks.refund_cancelled_order", "payments"),
        ("integrations.tasks.run_connector", "integrations"),
        ("orders.carriers.tasks.submit_shipment", "integrations"),
        ("reports.tasks.run_report_job", "slow"),
        ("integrations.feeds.tasks.generate_feed", "slow"),
        ("shop.tasks.daily_backup", "slow"),
        ("shop.tasks.deliver_event", "celery"),
        ("an.unknown.task", "celery"),
    ],
)
def test_tasks_are_routed_to_their_lane(task, queue):
    assert _queue_of(_app(), task) == queue


def test_every_lane_is_consumed_by_every_way_the_shop_starts_workers():
    lanes = set(settings.CELERY_LANES)
    assert lanes == {"celery", "mail", "bulk", "payments", "integrations", "slow"}
    assert set(_app().amqp.queues) == lanes  # a worker without --queues takes them all
    assert lanes <= set(consumed_queues(_app()))  # manage.py serve
    workers = _compose_workers()
    assert set().union(*workers.values()) == lanes
    # The slow lane has a worker of its own: nothing a shopper waits for shares it.
    assert any(queues == {"slow"} for queues in workers.values())
    assert all("mail" not in q for q in workers.values() if "slow" in q)
    operations = (ROOT / "docs" / "operations.md").read_text()
    for queues in workers.values():
        assert any(f"--queues={','.join(order)}" in operations for order in _orders(queues, operations)), (
            queues
        )


def _orders(queues: set[str], text: str) -> list[tuple[str, ...]]:
    """The documented spelling of a worker's --queues (any order of the same names)."""
    import re

    found = []
    for match in re.findall(r"--queues=([a-z,]+)", text):
        if set(match.split(",")) == queues:
            found.append(tuple(match.split(",")))
    return found


# --- real workers --------------------------------------------------------------------------------


class _Worker:
    def __init__(self, env: dict, *, queues: str, module: list[str], name: str):
        self.cmd = [
            sys.executable, *module, "worker", "--pool=threads", "--concurrency=1", f"--queues={queues}",
            "-n", f"{name}-{os.getpid()}@%h", "-l", "warning",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.env = env
        self.log = tempfile.NamedTemporaryFile(prefix=f"queues-{name}-", suffix=".log", delete=False)  # noqa: SIM115

    def __enter__(self):
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def output(self) -> str:
        with open(self.log.name, errors="replace") as f:
            return f.read()[-3000:]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_order_email_is_sent_while_200_reports_wait_on_the_slow_lane(store):
    import redis

    from orders import services
    from orders.models import OrderEmail
    from tests.catalog.factories import VariantFactory
    from tests.orders.factories import ready_cart
    from tests.recovery.realworld import (
        SmtpServer,
        broker_url,
        publisher,
        require_real_services,
        worker_env,
    )

    require_real_services(REDIS_DB)
    order = services.place_order(cart=ready_cart(store, [(VariantFactory(store=store, stock=5), 1)]))
    # Tasks run inline in this process: its confirmation went out already. Planned again, unsent,
    # it is published below to the workers' broker, and only a worker sends it.
    email = OrderEmail.objects.get(order=order, kind=OrderEmail.Kind.PLACED)
    OrderEmail.objects.filter(pk=email.pk).update(sent_at=None, attempts=0)
    app = publisher(REDIS_DB)
    for job_id in range(1, SLOW_TASKS + 1):
        app.send_task("reports.tasks.run_report_job", args=[job_id])
    client = redis.Redis.from_url(broker_url(REDIS_DB))
    assert client.llen("slow") == SLOW_TASKS

    with SmtpServer() as smtp:
        env = worker_env(db=REDIS_DB, smtp_port=smtp.port, SLOW_TASK_SECONDS="0.2")
        with (
            _Worker(env, queues="slow", module=["-m", "tests.shop.queue_worker"], name="slow") as slow,
            _Worker(
                env, queues="celery,mail,payments", module=["-m", "celery", "-A", "shop"], name="fast"
            ) as fast,
        ):
            deadline = time.monotonic() + 60
            while client.llen("slow") >= SLOW_TASKS and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.llen("slow") < SLOW_TASKS, slow.output()  # the slow lane is busy now
            time.sleep(2)  # the fast worker has had as long to start as the slow one
            published = time.monotonic()
            app.send_task("orders.tasks.send_order_email", args=[email.pk])
            sent_after = None
            while time.monotonic() < published + 30:
                if OrderEmail.objects.filter(pk=email.pk, sent_at__isnull=False).exists():
                    sent_after = time.monotonic() - published
                    break
                time.sleep(0.05)
            waiting = client.llen("slow")
            assert sent_after is not None, fast.output()
    # Sent within a few seconds, while most of the 40 s of reports still waited their turn.
    assert sent_after < 5, (sent_after, fast.output())
    assert waiting >= SLOW_TASKS // 2, (waiting, slow.output())
    messages = smtp.inbox.wait_for(1, timeout=5)
    assert [m["To"] for m in messages] == [order.email]
