import random
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from orders.models import Cart
from recovery import demo, services
from recovery.models import Campaign
from recovery.schedules import install_default_campaigns, install_recovery_schedules
from tests.recovery.helpers import run_due

pytestmark = pytest.mark.django_db


def test_schedules_and_default_campaign_are_installed(store):
    install_recovery_schedules()
    install_default_campaigns()
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "recovery.tasks.detect_abandoned_carts",
        "recovery.tasks.dispatch_due_reminders",
        "recovery.tasks.purge_recovery_data",
    } <= names
    assert Campaign.objects.filter(store=store, is_default=True).count() == 1
    install_default_campaigns()
    assert Campaign.objects.filter(store=store).count() == 1


def test_demo_seed_is_idempotent_and_reaches_the_mailbox_with_short_delays(store, settings):
    settings.RECOVERY_DELAY_SCALE = 0.001
    demo.seed(store=store, rng=random.Random(1))
    demo.seed(store=store, rng=random.Random(1))
    assert Cart.objects.filter(email=demo.DEMO_EMAIL).count() == 1
    services.detect_abandoned()
    run_due(timezone.now() + timedelta(seconds=10))
    assert [m.to for m in mail.outbox] == [[demo.DEMO_EMAIL]]


def test_tasks_run(store):
    from recovery import tasks

    demo.seed(store=store, rng=random.Random(2))
    assert tasks.detect_abandoned_carts() == 1
    assert tasks.dispatch_due_reminders() == 0
    assert tasks.purge_recovery_data() == 0
