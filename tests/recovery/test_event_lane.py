"""A cart event is handled while hundreds of reminder sends still wait: a real worker on Redis,
the sends queued first, the event last.

Needs PostgreSQL (DATABASE_URL) and Redis (RECOVERY_TEST_REDIS, default 127.0.0.1:6379); skips
with the reason otherwise.
"""

import time

import pytest
from django.utils import timezone

from recovery.models import Reminder
from shop.models import Event
from tests.recovery.factories import make_cart
from tests.recovery.realworld import (
    SmtpServer,
    Workers,
    broker_url,
    publisher,
    require_real_services,
    worker_env,
)
from tests.shop.factories import StoreFactory

REDIS_DB = 13
SENDS = 300

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_cart_event_does_not_wait_behind_queued_reminder_sends():
    import redis

    require_real_services(REDIS_DB)
    store = StoreFactory(domain="lane.example.pl")
    cart = make_cart(store)
    event = Event.objects.create(
        type="cart_updated", payload={"cart_id": cart.pk, "store_id": store.pk}, store=store
    )
    missing = (Reminder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    app = publisher(REDIS_DB)
    # 300 sends queued first (ids of no reminder: each is a quick "not claimable"), the event last.
    for i in range(SENDS):
        app.send_task("recovery.tasks.send_reminder_task", args=[missing + i])
    app.send_task("shop.tasks.deliver_event", args=[event.pk])
    client = redis.Redis.from_url(broker_url(REDIS_DB))

    def waiting_sends() -> int:
        return sum(client.llen(key) for key in client.keys("*") if client.type(key) == b"list")

    assert waiting_sends() == SENDS + 1
    with (
        SmtpServer() as smtp,
        Workers(worker_env(db=REDIS_DB, smtp_port=smtp.port), count=1, concurrency=1) as w,
    ):
        deadline = time.monotonic() + 90
        left = None
        while time.monotonic() < deadline:
            if Event.objects.filter(pk=event.pk, processed_at__isnull=False).exists():
                left = waiting_sends()
                break
            time.sleep(0.05)
        assert left is not None, w.output()
    # Handled while most of the sends were still queued: it did not wait for them.
    assert left >= SENDS // 2, (left, w.output())
    assert Event.objects.get(pk=event.pk).processed_at <= timezone.now()
