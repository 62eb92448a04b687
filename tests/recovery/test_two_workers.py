"""Two real Celery workers race for the same due reminders: each message goes out exactly once.

Needs PostgreSQL (DATABASE_URL) and Redis on 127.0.0.1:6379; skips with the reason otherwise.
"""

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from recovery import services
from recovery.models import Campaign, Reminder
from tests.recovery.factories import make_cart, make_variant
from tests.recovery.realworld import SmtpServer, Workers, publisher, require_real_services, worker_env
from tests.shop.factories import StoreFactory

REDIS_DB = 12
CARTS = 30

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_two_workers_send_each_due_reminder_exactly_once():
    require_real_services(REDIS_DB)
    store = StoreFactory(domain="race.example.pl")
    services.ensure_default_campaign(store=store)
    Campaign.objects.filter(store=store).update(max_steps=1)
    variant = make_variant(store, stock=1000)
    for i in range(CARTS):
        make_cart(store, email=f"racer{i}@example.com", variants=[variant])
    services.detect_abandoned()
    Reminder.objects.filter(store=store).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    ids = list(Reminder.objects.filter(store=store).values_list("pk", flat=True))
    assert len(ids) == CARTS

    with (
        SmtpServer() as smtp,
        Workers(worker_env(db=REDIS_DB, smtp_port=smtp.port), count=2, concurrency=4) as workers,
    ):
        app = publisher(REDIS_DB)
        # Everything at once and twice over: every reminder's send task twice, and several
        # dispatcher ticks that find the same due rows.
        for reminder_id in ids:
            app.send_task("recovery.tasks.send_reminder_task", args=[reminder_id])
        for _ in range(3):
            app.send_task("recovery.tasks.dispatch_due_reminders")
        for reminder_id in ids:
            app.send_task("recovery.tasks.send_reminder_task", args=[reminder_id])
        messages = smtp.inbox.wait_for(CARTS, timeout=90)
        time.sleep(3)  # let any duplicate that would come, come
        messages = list(smtp.inbox.messages)

    recipients = Counter(str(m["To"]) for m in messages)
    assert len(messages) == CARTS, workers.output()
    assert set(recipients.values()) == {1}
    assert Reminder.objects.filter(store=store, status="sent").count() == CARTS
    assert Reminder.objects.filter(store=store, attempts__gt=1).count() == 0
