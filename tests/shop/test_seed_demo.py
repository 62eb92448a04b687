"""The demo seeder: a shop a merchant would recognise, and idempotent."""

import pytest
from django.apps import apps
from django.core.management import call_command

from shop.models import Store, User


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"shop", "catalog", "orders", "recovery"}
        and model._meta.label != "shop.Event"
    }


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_shop_and_a_second_run_adds_nothing(settings, tmp_path):
    call_command("seed_demo", verbosity=0)
    store = Store.objects.get(domain="localhost")
    assert store.is_default and store.currency == "PLN"
    admin = User.objects.get(email="admin@example.com")
    assert admin.is_superuser and admin.check_password("koszyk-admin")
    first = row_counts()
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
