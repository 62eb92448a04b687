"""The customer rows: guests grouped by address whatever its case, accounts, figures by the
reports' rules (paid orders net of refunds), consents per channel, kept by events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers import directory
from customers.models import Customer
from orders.models import Order, Return
from shop import events
from tests.catalog.factories import VariantFactory
from tests.customers.factories import consent, order_for
from tests.recovery.factories import make_cart
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant(store):
    return VariantFactory(store=store, price=Decimal("100.00"), stock=50)


def test_a_guest_is_one_row_whatever_the_case_of_the_address(store, variant):
    order_for(store, variant, email="Ewa@Example.com", shipping=Decimal("0"))
    order_for(store, variant, email="ewa@example.com", shipping=Decimal("0"), status=Order.Status.NEW)
    order_for(store, variant, email=" EWA@example.COM", shipping=Decimal("0"), status=Order.Status.CANCELLED)
    directory.refresh_store(store_id=store.pk)
    row = Customer.objects.get()
    assert row.email == "ewa@example.com"
    assert row.user is None
    assert row.orders_count == 3
    # Only the delivered order counts as spent (new and cancelled ones do not).
    assert row.total_spent == Decimal("100.00")
    assert row.name == "Jan Kowalski"


def test_spent_is_net_of_refunds_like_the_reports(store, variant):
    first = order_for(store, variant, email="ola@example.com", shipping=Decimal("0"), quantity=2)
    order_for(store, variant, email="ola@example.com", shipping=Decimal("0"))
    Return.objects.create(order=first, status=Return.Status.REFUNDED, refund_amount=Decimal("40.00"))
    directory.refresh(store_id=store.pk, emails=["OLA@example.com"])
    assert Customer.objects.get(email="ola@example.com").total_spent == Decimal("260.00")


def test_accounts_consents_and_carts_make_customers(store, variant):
    user = UserFactory(email="konto@example.com", first_name="Kasia", last_name="Konto")
    make_cart(store, email="", user=user)
    make_cart(store, email="porzucony@example.com", consent=False)
    consent(store, "porzucony@example.com", channel="sms", granted=True)
    consent(store, "porzucony@example.com", channel="email", granted=True)  # newer than make_cart's refusal
    directory.refresh_store(store_id=store.pk)
    rows = {c.email: c for c in Customer.objects.all()}
    assert set(rows) == {"konto@example.com", "porzucony@example.com"}
    assert rows["konto@example.com"].user == user
    assert rows["konto@example.com"].name == "Kasia Konto"
    guest = rows["porzucony@example.com"]
    assert (guest.orders_count, guest.consent_email, guest.consent_sms, guest.consent_push) == (
        0,
        True,
        True,
        None,
    )


def test_rows_are_per_store(store, variant):
    other = StoreFactory()
    order_for(store, variant, email="ala@example.com")
    order_for(other, VariantFactory(store=other, stock=5), email="ala@example.com")
    directory.refresh_all()
    assert Customer.objects.filter(email="ala@example.com").count() == 2


def test_refresh_twice_changes_nothing_and_a_vanished_guest_goes(store, variant):
    order = order_for(store, variant, email="raz@example.com")
    directory.refresh_store(store_id=store.pk)
    directory.refresh_store(store_id=store.pk)
    assert Customer.objects.get().orders_count == 1
    order.lines.all().delete()
    Order.objects.filter(pk=order.pk).delete()
    directory.refresh(store_id=store.pk, emails=["raz@example.com"])
    assert not Customer.objects.exists()


def test_order_events_refresh_the_row(store, variant, django_capture_on_commit_callbacks):
    order = order_for(store, variant, email="event@example.com", status=Order.Status.NEW)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.created", payload={"order_id": order.pk}, store=store)
    assert Customer.objects.get(email="event@example.com").orders_count == 1
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    with django_capture_on_commit_callbacks(execute=True):
        events.publish(type="order.paid", payload={"order_id": order.pk}, store=store)
    assert Customer.objects.get(email="event@example.com").total_spent == order.total


def test_registration_makes_a_customer_of_the_store(store, django_capture_on_commit_callbacks):
    from orders.accounts import register_customer

    with django_capture_on_commit_callbacks(execute=True):
        user = register_customer(store=store, email="Nowa@Example.com", password="bardzo-tajne-haslo-9")
    row = Customer.objects.get(store=store)
    assert (row.email, row.user, row.orders_count) == ("nowa@example.com", user, 0)


def test_refresh_customers_command_backfills_every_store(store, variant):
    from django.core.management import call_command

    other = StoreFactory()
    order_for(store, variant, email="a@example.com")
    order_for(other, VariantFactory(store=other, stock=5), email="b@example.com")
    call_command("refresh_customers")
    assert set(Customer.objects.values_list("store_id", "email")) == {
        (store.pk, "a@example.com"),
        (other.pk, "b@example.com"),
    }
    Customer.objects.all().delete()
    call_command("refresh_customers", store=other.pk)
    assert list(Customer.objects.values_list("email", flat=True)) == ["b@example.com"]


def test_accounting_records_are_kept_five_years_from_the_end_of_their_year():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from customers.privacy import retained_until

    warsaw = ZoneInfo("Europe/Warsaw")
    assert retained_until(datetime(2026, 3, 1, 12, tzinfo=warsaw), warsaw) == date(2032, 1, 1)
    # The year is the store's: 22:30 UTC on 31 December is still 2026 in Warsaw.
    late = datetime(2026, 12, 31, 22, 30, tzinfo=ZoneInfo("UTC"))
    assert retained_until(late, warsaw) == date(2032, 1, 1)
    early = datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC"))  # 00:30 on 1 January 2027 in Warsaw
    assert retained_until(early, warsaw) == date(2033, 1, 1)
