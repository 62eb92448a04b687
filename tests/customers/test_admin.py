"""Klienci in the admin: the list (guests and accounts, search, filters, sorting), a customer's
page, the export and the erasure; per-store staff see their stores' customers only."""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from customers import directory
from customers.models import Customer
from orders.models import Order
from recovery.models import Campaign, Reminder, Step
from shop.roles import install_roles
from tests.catalog.factories import VariantFactory
from tests.customers.factories import consent, order_for, tracked
from tests.orders.factories_after_sales import use_isolated_cache
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = "admin:customers_customer_changelist"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture
def variant(store):
    return VariantFactory(store=store, price=Decimal("100.00"), stock=500)


@pytest.fixture
def shop(store, variant):
    other = StoreFactory(name="Sklep Drugi", domain="drugi.example.pl")
    account = UserFactory(email="konto@example.com", first_name="Kasia", last_name="Konto")
    order_for(store, variant, email="konto@example.com", user=account)
    order_for(store, variant, email="Gosc@Example.com")
    order_for(store, variant, email="gosc@example.com", status=Order.Status.NEW)
    consent(store, "gosc@example.com", channel="sms", granted=True)
    order_for(other, VariantFactory(store=other, stock=5), email="tylko-drugi@example.com")
    directory.refresh_all()
    return {"mine": store, "theirs": other, "account": account}


def staff_of(*stores, perms=("customers.view_customer",)):
    user = StaffFactory(all_stores=False)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    for s in stores:
        s.staff.add(user)
    return user


def rows(client, **params):
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    return {c.email for c in response.context["cl"].result_list}


def test_the_list_shows_guests_and_accounts_with_their_figures(client, shop):
    client.force_login(SuperuserFactory())
    response = client.get(reverse(LIST))
    page = response.content.decode()
    assert rows(client) == {"konto@example.com", "gosc@example.com", "tylko-drugi@example.com"}
    assert "Kasia Konto" in page
    assert "115,00\xa0zł" in page  # one delivered order of 100 + 15 shipping; the new one is unpaid
    assert rows(client, kind="account") == {"konto@example.com"}
    assert rows(client, kind="guest") == {"gosc@example.com", "tylko-drugi@example.com"}
    assert rows(client, consent="sms") == {"gosc@example.com"}
    assert rows(client, ordered="no") == set()
    assert rows(client, q="KASIA") == {"konto@example.com"}
    assert rows(client, q="600 100 200") >= {"gosc@example.com"}
    listed = [c.email for c in client.get(reverse(LIST), {"o": "-2"}).context["cl"].result_list]
    assert listed[0] == "gosc@example.com"  # two orders: sorted by the orders column, most first


def test_staff_of_one_store_never_see_another_stores_customer(client, shop):
    staff = staff_of(shop["mine"])
    client.force_login(staff)
    assert rows(client) == {"konto@example.com", "gosc@example.com"}
    assert rows(client, q="tylko-drugi") == set()
    theirs = Customer.objects.get(email="tylko-drugi@example.com")
    for name in ("change", "export", "erase"):
        url = reverse(f"admin:customers_customer_{name}", args=[theirs.pk])
        assert client.get(url).status_code in (403, 404), name
    assert client.post(reverse("admin:customers_customer_erase", args=[theirs.pk])).status_code in (403, 404)
    assert Customer.objects.get(pk=theirs.pk).erased_at is None
    # Their store is not even offered as a filter.
    filters = client.get(reverse(LIST)).context["cl"].filter_specs
    offered = {str(label) for spec in filters for _pk, label in getattr(spec, "lookup_choices", [])}
    assert "Sklep Drugi" not in offered


def test_hostile_search_input_gets_an_answer(client, shop):
    client.force_login(SuperuserFactory())
    assert rows(client, q="x" * 10_000) == set()
    assert rows(client, q="a " * 5_000) is not None
    assert rows(client, q="ŻÓŁĆ 😀 \u202e'; DROP TABLE--") == set()
    assert client.get(reverse(LIST), {"q": "gosc\x00"}).status_code == 200


def test_the_list_takes_the_same_queries_for_5_and_50_customers(
    client, store, variant, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(staff_of(store))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(LIST)).status_code == 200
        return len(ctx.captured_queries)

    for i in range(5):
        order_for(store, variant, email=f"klient{i}@example.com", sold=False)
    directory.refresh_store(store_id=store.pk)
    count()  # the first request of a session caches the store and the permissions
    small = count()
    for i in range(5, 50):
        order_for(store, variant, email=f"klient{i}@example.com", sold=False)
    directory.refresh_store(store_id=store.pk)
    assert count() == small
    with django_assert_max_num_queries(15):
        client.get(reverse(LIST))


def _page_fixture(store, variant, n: int):
    email = "strona@example.com"
    user = UserFactory(email=email)
    for _ in range(n):
        order = order_for(store, variant, email=email, user=user, sold=False)
        from orders.models import Return

        Return.objects.create(order=order, refund_amount=Decimal("10.00"))
        consent(store, email, channel="email", granted=True)
        t = tracked(store, email)
        campaign = Campaign.objects.get_or_create(store=store, name="Przypomnienia")[0]
        step = Step.objects.get_or_create(campaign=campaign, position=1)[0]
        Reminder.objects.create(
            tracked=t,
            step=step,
            store=store,
            channel="email",
            due_at=t.abandoned_at,
            next_attempt_at=t.abandoned_at,
        )
    directory.refresh_store(store_id=store.pk)
    return Customer.objects.get(email=email)


def test_the_page_shows_everything_in_constant_queries(client, store, variant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(SuperuserFactory())
    customer = _page_fixture(store, variant, 2)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    client.get(url)  # the first request of a session caches the store and the permissions
    with CaptureQueriesContext(connection) as small:
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "strona@example.com" in page and "Zgoda na e-maile" in page and "v1" in page
    assert len(re.findall(r'href="/admin/orders/return/\d+/', page)) == 2
    assert page.count("krok 1") == 2  # each tracked cart's reminder
    customer = _page_fixture(store, variant, 10)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert len(re.findall(r'href="/admin/orders/return/\d+/', response.content.decode())) == 12
    assert len(large.captured_queries) == len(small.captured_queries)


def test_export_is_a_zip_with_everything(client, shop):
    client.force_login(SuperuserFactory())
    guest = Customer.objects.get(email="gosc@example.com")
    tracked(shop["mine"], "gosc@example.com", phone="+48600100200")
    response = client.get(reverse("admin:customers_customer_export", args=[guest.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"customer.json", "orders.csv", "consents.csv"}
    data = json.loads(archive.read("customer.json"))
    assert len(data["orders"]) == 2
    assert data["orders"][0]["lines"][0]["quantity"] == 1
    assert data["consents"][0]["channel"] == "sms"
    assert data["tracked_carts"][0]["phone"] == "+48600100200"  # recovery's export, extended
    assert data["account"] is None
    assert archive.read("orders.csv").decode().count("\n") == 3


def test_only_the_owner_role_erases_and_exports(client, shop):
    if not Group.objects.filter(name__startswith="Właściciel").exists():
        from django.apps import apps

        install_roles(app_config=apps.get_app_config("customers"))
    guest = Customer.objects.get(email="gosc@example.com")
    orders_staff = StaffFactory(all_stores=True)
    orders_staff.groups.add(Group.objects.get(name="Obsługa zamówień (orders)"))
    client.force_login(orders_staff)
    page = client.get(reverse("admin:customers_customer_change", args=[guest.pk]))
    assert page.status_code == 200 and b'data-testid="customer-erase"' not in page.content
    assert client.get(reverse("admin:customers_customer_erase", args=[guest.pk])).status_code == 403
    assert client.get(reverse("admin:customers_customer_export", args=[guest.pk])).status_code == 403
    owner = StaffFactory(all_stores=True)
    owner.groups.add(Group.objects.get(name="Właściciel sklepu (owner)"))
    client.force_login(owner)
    confirm = client.get(reverse("admin:customers_customer_erase", args=[guest.pk]))
    assert confirm.status_code == 200 and b"erase-confirm" in confirm.content
    assert Customer.objects.get(pk=guest.pk).erased_at is None  # the GET only asks


def test_erasure_keeps_invoiced_and_paid_orders_and_removes_the_rest(client, shop):
    from orders.models import Address, Cart, ConsentRecord
    from recovery.models import Suppression, TrackedCart

    store, account = shop["mine"], shop["account"]
    Address.objects.create(user=account, first_name="Kasia", last_name="Konto", street="ul. Domowa 1")
    unpaid = order_for(store, VariantFactory(store=store, stock=5), email="konto@example.com", status="new")
    consent(store, "konto@example.com", ip_address="10.0.0.1")
    t = tracked(store, "konto@example.com", phone="+48600100200")
    Suppression.objects.create(store=store, email="konto@example.com")
    directory.refresh_store(store_id=store.pk)
    customer = Customer.objects.get(email="konto@example.com")
    admin_user = SuperuserFactory()
    client.force_login(admin_user)
    response = client.post(reverse("admin:customers_customer_erase", args=[customer.pk]))
    assert response.status_code == 302
    paid = Order.objects.get(store=store, user=account, status="delivered")
    assert paid.email == "konto@example.com"  # an accounting record: kept
    assert paid.billing_address.last_name == "Kowalski"
    unpaid.refresh_from_db()
    assert "konto" not in unpaid.email and unpaid.phone == ""
    assert unpaid.shipping_address.first_name == "" and unpaid.shipping_address.street == ""
    account.refresh_from_db()
    assert not account.is_active and "konto" not in account.email and account.first_name == ""
    assert not account.has_usable_password()
    assert not Address.objects.filter(user=account).exists()
    assert not ConsentRecord.objects.filter(email__iexact="konto@example.com").exists()
    assert not Cart.objects.filter(email__iexact="konto@example.com").exists()
    t.refresh_from_db()
    assert (t.email, t.phone) == ("", "")
    assert TrackedCart.objects.filter(pk=t.pk).exists()
    assert Suppression.objects.filter(store=store, email="konto@example.com").exists()  # never messaged again
    customer.refresh_from_db()
    assert customer.erased_at is not None and customer.user is None
    entry = LogEntry.objects.get(object_id=str(customer.pk))
    assert entry.user == admin_user
    assert "konto" not in entry.object_repr + entry.change_message
    assert json.loads(entry.change_message)[0]["erased"]["orders_kept"] == 1
    # A refresh afterwards brings back neither the consents nor the account.
    directory.refresh_store(store_id=store.pk)
    customer.refresh_from_db()
    assert (customer.user, customer.consent_email, customer.erased_at is not None) == (None, None, True)
    assert not Customer.objects.filter(email__endswith="erased.invalid").exclude(pk=customer.pk).exists()


def test_erasure_of_a_guest_with_only_old_or_unpaid_orders_leaves_no_address(
    client, store, variant, time_machine
):
    time_machine.move_to("2020-03-01T12:00:00+01:00", tick=False)
    old = order_for(store, variant, email="stara@example.com")
    time_machine.move_to("2026-12-07T12:00:00+01:00", tick=False)
    directory.refresh_store(store_id=store.pk)
    customer = Customer.objects.get(email="stara@example.com")
    client.force_login(SuperuserFactory())
    client.post(reverse("admin:customers_customer_erase", args=[customer.pk]))
    old.refresh_from_db()
    assert "stara" not in old.email  # 2020's records may go from 1 January 2026
    customer.refresh_from_db()
    assert "stara" not in customer.email and customer.name == ""
