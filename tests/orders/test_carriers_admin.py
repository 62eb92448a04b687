"""The merchant's side of carriers in the admin: the "create shipments" action and order button
through the fake ShipX and Apaczka servers, labels (single and batch), shipments on the order page
(query count), carrier accounts (encrypted, masked, validated, test connection), hostile input,
and the ``manage_shipments`` permission."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from orders.carriers import tasks
from orders.models import CarrierAccount, Order, Shipment
from tests.fakes.apaczka import FakeApaczka
from tests.fakes.inpost_shipx import FakeShipX
from tests.orders.factories_after_sales import use_isolated_cache
from tests.orders.factories_shipping import (
    CarrierAccountFactory,
    courier_method,
    locker_method,
    ship_ready_order,
)
from tests.shop.factories import StaffFactory, SuperuserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
S = Shipment.Status
CHANGELIST = "admin:orders_order_changelist"
CREATE = "admin:orders_order_create_shipments"
PAGE_QUERIES = 30  # the order page with its inlines, history, notes, emails and shipments
LIST_QUERIES = 12  # the shipment list (3 or 8 rows)
FORM_QUERIES = 8  # the create form (1 or 20 orders)


@pytest.fixture(autouse=True)
def _fast(settings):
    use_isolated_cache(settings)
    settings.CARRIER_HTTP_BACKOFF_SECONDS = 0
    settings.CARRIER_RATE_PER_SECOND = 0
    settings.CARRIER_CONFIRM_POLL_SECONDS = 0
    settings.CARRIER_TRACKING_MIN_AGE_SECONDS = 0
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def shipx(settings):
    with FakeShipX() as fake:
        settings.INPOST_SHIPX_SANDBOX_URL = fake.url
        yield fake


@pytest.fixture
def apaczka(settings):
    with FakeApaczka() as fake:
        settings.APACZKA_SANDBOX_URL = fake.url
        yield fake


@pytest.fixture
def admin(client):
    client.force_login(SuperuserFactory())
    return client


def shipping_clerk(*, manage: bool):
    """Order staff: sees and processes orders; with ``manage`` also ships them."""
    user = StaffFactory()
    codenames = ["view_order", "change_order", "view_shipment", "view_carrieraccount"]
    if manage:
        codenames.append("manage_shipments")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="orders", codename__in=codenames)
    )
    return user


def post_create(client, orders, capture, extra=None):
    ids = ",".join(str(o.pk) for o in orders)
    data = {"ids": ids, **(extra or {})}
    form = client.get(reverse(CREATE), {"ids": ids})
    for row in form.context["rows"]:
        if row["form"] is not None:
            for name in row["form"].fields:
                key = f"o{row['order'].pk}-{name}"
                if key not in data:
                    value = row["form"].initial.get(name)
                    data[key] = "" if value is None else str(value)
    with capture(execute=True):
        return client.post(reverse(CREATE), data)


# --- end to end through the admin ---------------------------------------------------------------------


def test_merchant_ships_two_orders_through_inpost_from_the_order_list(
    admin, store, shipx, django_capture_on_commit_callbacks
):
    CarrierAccountFactory(store=store, carrier="inpost")
    method = locker_method(store)
    orders = [ship_ready_order(store, method), ship_ready_order(store, method, cod=True)]
    response = admin.post(
        reverse(CHANGELIST), {"action": "create_shipments", "_selected_action": [o.pk for o in orders]}
    )
    assert response.status_code == 302 and reverse(CREATE) in response.url

    form = admin.get(response.url)
    assert form.status_code == 200
    assert re.search(rb"138[.,]00 PLN", form.content)  # the COD amount shown before sending
    # The merchant picks a bigger locker size for the first parcel.
    response = post_create(
        admin, orders, django_capture_on_commit_callbacks, {f"o{orders[0].pk}-template": "large"}
    )
    assert response.status_code == 302
    shipments = list(Shipment.objects.order_by("order_id"))
    assert [s.status for s in shipments] == [S.CONFIRMED, S.CONFIRMED]
    bodies = sorted(shipx.created_bodies(), key=lambda b: b["external_customer_id"])
    assert [b["parcels"][0]["template"] for b in bodies] == ["large", "small"]
    assert "cod" not in bodies[0] and bodies[1]["cod"] == {"amount": "138.00", "currency": "PLN"}

    single = admin.get(reverse("admin:orders_shipment_label", args=[shipments[0].pk]), {"format": "pdf"})
    assert single.status_code == 200 and single["Content-Type"] == "application/pdf"
    assert single.content.startswith(b"%PDF") and "no-store" in single["Cache-Control"]
    zpl = admin.get(reverse("admin:orders_shipment_label", args=[shipments[0].pk]), {"format": "zpl"})
    assert zpl.content.startswith(b"^XA")
    batch = admin.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "print_labels_pdf", "_selected_action": [s.pk for s in shipments]},
    )
    assert batch.status_code == 200 and batch["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(batch.content)).pages) == 2

    for shipment in shipments:
        shipx.advance(shipment.tracking_number, "out_for_delivery")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.follow_shipments.delay()
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        "shipped"
    }
    shipped = [m for m in mail.outbox if shipments[0].tracking_number in m.body]
    assert len(shipped) == 1 and "inpost.pl/sledzenie-przesylek" in shipped[0].body

    for shipment in shipments:
        shipx.advance(shipment.tracking_number, "delivered")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.follow_shipments.delay()
    delivered = Order.objects.filter(pk__in=[o.pk for o in orders])
    assert set(delivered.values_list("status", flat=True)) == {"delivered"}
    assert set(delivered.values_list("payment_status", flat=True)) == {"paid"}  # COD collected


def test_merchant_ships_with_apaczka_from_the_order_page(
    admin, store, apaczka, django_capture_on_commit_callbacks
):
    CarrierAccountFactory(store=store, carrier="apaczka", config={"app_id": apaczka.app_id})
    order = ship_ready_order(store, courier_method(store, carrier="apaczka"))
    page = admin.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert b'data-testid="create-shipment"' in page.content
    response = post_create(
        admin, [order], django_capture_on_commit_callbacks, {f"o{order.pk}-weight_grams": "2500"}
    )
    assert response.status_code == 302 and response.url == reverse(
        "admin:orders_order_change", args=[order.pk]
    )
    shipment = Shipment.objects.get(order=order)
    assert shipment.status == S.CONFIRMED and shipment.tracking_number.startswith("AP")
    assert apaczka.sent_orders()[0]["shipment"][0]["weight"] == 2.5
    page = admin.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert shipment.tracking_number.encode() in page.content
    label = admin.get(reverse("admin:orders_shipment_label", args=[shipment.pk]))
    assert label.status_code == 200 and label.content.startswith(b"%PDF")
    handover = admin.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "print_handover", "_selected_action": [shipment.pk]},
    )
    assert handover["Content-Type"] == "application/pdf" and handover.content.startswith(b"%PDF")
    # Apaczka has no ZPL: a clear message, not a broken file.
    response = admin.get(
        reverse("admin:orders_shipment_label", args=[shipment.pk]), {"format": "zpl"}, follow=True
    )
    assert b"nie ma etykiet ZPL" in response.content  # the admin speaks Polish


def test_errors_show_on_the_order_page(admin, store, shipx, django_capture_on_commit_callbacks):
    CarrierAccountFactory(store=store, carrier="inpost")
    order = ship_ready_order(store, locker_method(store), pickup_point="NOP01")
    post_create(admin, [order], django_capture_on_commit_callbacks)
    page = admin.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert b'data-testid="shipment-error"' in page.content
    assert b"target_point: does_not_exist" in page.content


def test_order_page_costs_the_same_with_many_shipments(
    admin, store, shipx, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    CarrierAccountFactory(store=store, carrier="inpost")
    CarrierAccountFactory(store=store, carrier="apaczka")
    order = ship_ready_order(store, locker_method(store))
    post_create(admin, [order], django_capture_on_commit_callbacks)
    url = reverse("admin:orders_order_change", args=[order.pk])
    admin.get(url)
    # The same bound for one shipment and for five (the shipments are one query).
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert admin.get(url).status_code == 200
    account = CarrierAccount.objects.get(carrier="apaczka")
    for status in (S.CANCELLED, S.CANCELLED, S.CANCELLED, S.ERROR):
        Shipment.objects.create(order=order, account=account, carrier="apaczka", service="41", status=status)
    with django_assert_max_num_queries(PAGE_QUERIES):
        assert admin.get(url).status_code == 200


def test_shipment_changelist_query_count(
    admin, store, shipx, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    CarrierAccountFactory(store=store, carrier="inpost")
    method = locker_method(store)
    post_create(
        admin, [ship_ready_order(store, method) for _ in range(3)], django_capture_on_commit_callbacks
    )
    url = reverse("admin:orders_shipment_changelist")
    admin.get(url)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert admin.get(url).status_code == 200
    post_create(
        admin, [ship_ready_order(store, method) for _ in range(5)], django_capture_on_commit_callbacks
    )
    with django_assert_max_num_queries(LIST_QUERIES):
        assert admin.get(url).status_code == 200


def test_create_form_costs_the_same_for_one_or_twenty_orders(
    admin, store, shipx, django_assert_max_num_queries
):
    CarrierAccountFactory(store=store, carrier="inpost")
    method = locker_method(store)
    one = [ship_ready_order(store, method)]
    twenty = one + [ship_ready_order(store, method) for _ in range(19)]
    for orders in (one, twenty):
        ids = ",".join(str(o.pk) for o in orders)
        with django_assert_max_num_queries(FORM_QUERIES):
            response = admin.get(reverse(CREATE), {"ids": ids})
        assert response.status_code == 200 and len(response.context["rows"]) == len(orders)


# --- hostile input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", ["", "abc", "1,,x", "-1", "1" * 30, ",".join(str(i) for i in range(1, 200))])
def test_the_create_form_refuses_bad_order_lists(admin, store, ids):
    response = admin.get(reverse(CREATE), {"ids": ids})
    assert response.status_code == 400
    assert Shipment.objects.count() == 0


def test_the_create_form_answers_bad_parcels_with_errors_and_creates_nothing(
    admin, store, shipx, django_capture_on_commit_callbacks
):
    CarrierAccountFactory(store=store, carrier="inpost")
    locker = ship_ready_order(store, locker_method(store))
    courier = ship_ready_order(store, courier_method(store))
    cases = [
        {f"o{locker.pk}-template": "huge"},
        {f"o{locker.pk}-template": ""},
        {f"o{courier.pk}-length_mm": "-5"},
        {f"o{courier.pk}-weight_grams": "99999999999"},
        {f"o{courier.pk}-height_mm": "ten"},
        {f"o{courier.pk}-insurance_amount": "1e9"},
        {f"o{courier.pk}-service": "x" * 500},
        {f"o{courier.pk}-weight_grams": ""},
        {f"o{courier.pk}-insurance_amount": ""},  # InPost insures every courier parcel
    ]
    for bad in cases:
        response = post_create(admin, [locker, courier], django_capture_on_commit_callbacks, bad)
        assert response.status_code == 400, bad
        assert b"errorlist" in response.content or b"errornote" in response.content
    assert Shipment.objects.count() == 0 and shipx.requests == []


def test_orders_that_cannot_ship_are_listed_with_their_reason(admin, store, shipx):
    CarrierAccountFactory(store=store, carrier="inpost")
    order = ship_ready_order(store, locker_method(store), status=Order.Status.CANCELLED)
    response = admin.get(reverse(CREATE), {"ids": str(order.pk)})
    assert response.status_code == 200
    assert b'data-testid="refused"' in response.content and "nie można wysłać".encode() in response.content


# --- carrier accounts ----------------------------------------------------------------------------------


def test_carrier_account_credentials_are_encrypted_masked_and_validated(admin, store, shipx):
    url = reverse("admin:orders_carrieraccount_add")
    base = {
        "store": store.pk,
        "carrier": "inpost",
        "is_sandbox": "on",
        "is_active": "on",
        "sender_country": "PL",
        "label_type": "normal",
        "pickup_type": "SELF",
    }
    response = admin.post(url, {**base, "organization_id": "12ab", "api_token": ""})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "organization_id" in errors and "api_token" in errors
    response = admin.post(
        url, {**base, "organization_id": "1234", "api_token": "tok", "cod_bank_account": "12 34"}
    )
    assert "cod_bank_account" in response.context["adminform"].form.errors
    response = admin.post(url, {**base, "organization_id": "1234", "api_token": "shipx-token-secret-value"})
    assert response.status_code == 302
    account = CarrierAccount.objects.get()
    assert "shipx-token-secret-value" not in account.secrets_encrypted
    assert account.secret("api_token") == "shipx-token-secret-value"
    page = admin.get(reverse("admin:orders_carrieraccount_change", args=[account.pk]))
    assert b"shipx-token-secret-value" not in page.content and "••••".encode() in page.content
    # Saving without retyping the token keeps it.
    response = admin.post(
        reverse("admin:orders_carrieraccount_change", args=[account.pk]), {**base, "organization_id": "1234"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.secret("api_token") == "shipx-token-secret-value"


def test_apaczka_account_needs_the_sender_address(admin, store):
    response = admin.post(
        reverse("admin:orders_carrieraccount_add"),
        {"store": store.pk, "carrier": "apaczka", "app_id": "1_x", "app_secret": "s", "sender_country": "PL"},
    )
    assert "sender_street" in response.context["adminform"].form.errors


def test_test_connection_button(admin, store, shipx):
    account = CarrierAccountFactory(store=store, carrier="inpost")
    url = reverse("admin:orders_carrieraccount_test", args=[account.pk])
    assert admin.get(url).status_code == 405
    response = admin.post(url, follow=True)
    assert "Połączono z organizacją InPost".encode() in response.content
    account.refresh_from_db()
    assert account.last_check_ok is True
    shipx.token = "rotated"
    response = admin.post(url, follow=True)
    assert "odrzucił token API".encode() in response.content


# --- permissions ------------------------------------------------------------------------------------------


def test_staff_without_the_permission_cannot_create_or_print(
    client, store, shipx, django_capture_on_commit_callbacks
):
    CarrierAccountFactory(store=store, carrier="inpost")
    order = ship_ready_order(store, locker_method(store))
    manager = shipping_clerk(manage=True)
    client.force_login(manager)
    post_create(client, [order], django_capture_on_commit_callbacks)
    shipment = Shipment.objects.get()

    client.force_login(shipping_clerk(manage=False))
    changelist = client.get(reverse(CHANGELIST))
    assert "create_shipments" not in dict(changelist.context["action_form"].fields["action"].choices)
    client.post(reverse(CHANGELIST), {"action": "create_shipments", "_selected_action": [order.pk]})
    assert client.get(reverse(CREATE), {"ids": str(order.pk)}).status_code == 403
    assert client.post(reverse(CREATE), {"ids": str(order.pk)}).status_code == 403
    assert client.get(reverse("admin:orders_shipment_label", args=[shipment.pk])).status_code == 403
    response = client.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": "print_labels_pdf", "_selected_action": [shipment.pk]},
    )
    assert response.get("Content-Type", "").startswith("text/html")
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200 and b'data-testid="create-shipment"' not in page.content
    assert shipment.tracking_number.encode() in page.content  # sees the shipment, cannot print it
    assert not re.search(rb"shipment/\d+/label/", page.content)
    assert Shipment.objects.count() == 1
