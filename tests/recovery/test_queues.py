"""Cart events never wait behind bulk reminder sends: sends go to their own queue, and every way
the shop starts a worker consumes both queues."""

from __future__ import annotations

from pathlib import Path

import yaml
from celery import Celery
from django.conf import settings


def _app() -> Celery:
    """A Celery app configured from the settings alone (not the shared app other tests tweak)."""
    app = Celery("queues-test", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    return app


def _queue_of(app: Celery, task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


def test_reminder_sends_go_to_the_bulk_queue_and_events_to_the_default_one():
    app = _app()
    assert _queue_of(app, "recovery.tasks.send_reminder_task") == "bulk"
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert default != "bulk"
    for name in (
        "shop.tasks.deliver_event",  # cart_updated and every other domain event
        "recovery.tasks.dispatch_due_reminders",
        "recovery.tasks.detect_abandoned_carts",
    ):
        assert _queue_of(app, name) == default, name


def test_a_worker_started_without_queues_consumes_both():
    app = _app()
    assert {"celery", "bulk"} <= set(app.amqp.queues)


def test_every_worker_command_consumes_both_queues():
    from shop.management.commands.serve import consumed_queues

    assert {"celery", "bulk"} <= set(consumed_queues(_app()))
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    workers = {name: s for name, s in compose["services"].items() if "worker" in (s.get("command") or [])}
    assert workers
    consumed: set[str] = set()
    for service in workers.values():
        command = service["command"]
        queues = [arg.split("=", 1)[1] for arg in command if arg.startswith(("--queues=", "-Q="))]
        if "-Q" in command:
            queues.append(command[command.index("-Q") + 1])
        consumed |= set(",".join(queues).split(",")) if queues else set(_app().amqp.queues)
    # Some worker takes each lane (tests/shop/test_queues.py checks every lane the same way).
    assert {"celery", "bulk"} <= consumed
