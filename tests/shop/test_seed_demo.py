"""The demo seeder: a shop a merchant would recognise, and idempotent."""

from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from orders.demo import DEMO_ORDERS
from orders.models import Order
from shop.models import Store, User


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"shop", "catalog", "orders", "recovery"}
        and model._meta.label != "shop.Event"
    }


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_shop_and_a_second_run_adds_nothing():
    # Store 4 is one whose demo stock once made order demo-026 a cash-on-delivery order of an
    # e-book alone: it failed on the first run and was placed, differently, on the second.
    Store.objects.create(pk=4, domain="localhost", name="Sklep Koszyk", is_default=True)
    call_command("seed_demo", verbosity=0)
    store = Store.objects.get(domain="localhost")
    assert store.is_default and store.currency == "PLN"
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.check_password("koszyk-admin")
    keys = set(Order.objects.filter(store=store).values_list("idempotency_key", flat=True))
    assert keys == {f"demo-{i:03d}" for i in range(DEMO_ORDERS)}
    first = row_counts()
    # Run again three days later (holds expired, other "recent" dates): still nothing new.
    with time_machine.travel(timezone.now() + timedelta(days=3, hours=5), tick=True):
        call_command("seed_demo", verbosity=0)
    second = row_counts()
    changed = {label: (first[label], second[label]) for label in first if first[label] != second[label]}
    assert changed == {}, f"second run changed row counts: {changed}"


@pytest.mark.django_db
def test_seed_demo_does_not_reset_a_changed_admin_password():
    call_command("seed_demo", verbosity=0)
    admin = User.objects.get(email="admin@example.com")
    admin.set_password("the-merchant-changed-it")
    admin.save()
    call_command("seed_demo", verbosity=0)
    admin.refresh_from_db()
    assert admin.check_password("the-merchant-changed-it")
