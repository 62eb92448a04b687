"""The merchant's order page and list: the history (every kind of record, constant queries), the
next steps the state allows (one function over the workflow), the confirmation before a step that
moves money, the correction button, the list's columns and filters, the bulk PDFs, and hostile
or unauthorised requests."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from pypdf import PdfReader

from orders import invoices
from orders.models import Invoice, Order, OrderEmail, OrderNote, OrderStatusChange, PaymentMethod, Return
from orders.selectors.timeline import Permissions, corrections_due, next_actions, order_history
from orders.services import add_note, change_status
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order
from tests.orders.factories_shipping import CarrierAccountFactory, courier_method, ship_ready_order
from tests.shop.factories import StaffFactory, StoreFactory, SuperuserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]

ALL = Permissions(process=True, ship=True, refund=True, invoice=True)
PAGE_QUERIES = 40  # the order page with its lines, payments, history and next steps
LIST_QUERIES = 12  # the order list with its filters


@pytest.fixture
def admin(client):
    client.force_login(SuperuserFactory(language="pl"))
    return client


def _order(store, status: str, lines: int = 1, **kwargs) -> Order:
    return make_order(
        store=store,
        lines=[(VariantFactory(store=store, stock=50), 1) for _ in range(lines)],
        status=status,
        **kwargs,
    )


def _names(order: Order, perms: Permissions = ALL) -> list[str]:
    return [a.name for a in next_actions(order, order_history(order), perms)]


def _page(admin, order: Order):
    return admin.get(reverse("admin:orders_order_change", args=[order.pk]))


# --- next steps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, provider, expected",
    [
        ("new", "bank_transfer", ["status_awaiting_payment", "status_paid", "status_cancelled"]),
        ("new", "cod", ["status_awaiting_payment", "status_packed", "status_cancelled"]),
        ("awaiting_payment", "bank_transfer", ["status_paid", "status_cancelled"]),
        ("paid", "test_gateway", ["status_packed", "status_delivered", "status_cancelled", "invoice"]),
        ("packed", "test_gateway", ["ship", "status_cancelled", "invoice"]),
        ("shipped", "test_gateway", ["status_delivered", "status_returned", "invoice"]),
        ("delivered", "test_gateway", ["status_returned", "invoice"]),
        ("cancelled", "test_gateway", []),
    ],
)
def test_next_steps_follow_the_workflow(store, status, provider, expected):
    order = _order(store, status, payment_provider=provider)
    assert _names(order) == expected


def test_steps_that_move_money_ask_first(store):
    paid = _order(store, "paid")
    unpaid = _order(store, "awaiting_payment")
    confirm = {a.status: a.confirm for a in next_actions(paid, order_history(paid), ALL) if a.status}
    assert confirm == {"packed": False, "delivered": False, "cancelled": True}
    confirm = {a.status: a.confirm for a in next_actions(unpaid, order_history(unpaid), ALL) if a.status}
    assert confirm == {"paid": True, "cancelled": False}


def test_no_permission_no_step(store):
    order = _order(store, "paid")
    assert _names(order, Permissions()) == []
    assert _names(order, Permissions(invoice=True)) == ["invoice"]


def test_a_parcel_order_gets_the_carrier_steps_and_its_label(store):
    CarrierAccountFactory(store=store, carrier="inpost")
    order = ship_ready_order(store, courier_method(store))
    assert "create_shipment" in _names(order)
    account = order.store.carrier_accounts.get()
    shipment = order.shipments.create(
        account=account,
        carrier="inpost",
        service="x",
        status="confirmed",
        carrier_shipment_id="77",
        tracking_number="620",
    )
    actions = next_actions(order, order_history(order), ALL)
    assert "create_shipment" not in [a.name for a in actions]
    assert [a.shipment_id for a in actions if a.name == "label"] == [shipment.pk]
    assert "ship" not in [a.name for a in actions]  # the carrier's parcel ships it
    assert "create_shipment" not in _names(order, Permissions(process=True))


# --- the history --------------------------------------------------------------------------------------


def test_the_history_tells_the_whole_story(store):
    order = _order(store, "awaiting_payment", payment_provider=PaymentMethod.Provider.BANK_TRANSFER)
    OrderStatusChange.objects.create(order=order, from_status="", to_status="awaiting_payment")
    change_status(order=order, status="paid")
    invoices.issue_invoice(order=order, render="never")
    change_status(order=order, status="packed")
    from orders.services.fulfilment import mark_shipped

    mark_shipped(order=order, tracking_number="620000111222333444555666")
    add_note(order=order, text="Zadzwonić przed dostawą")
    kinds = [e.kind for e in order_history(order).entries]
    assert kinds[0] == "placed"
    for kind in ("status", "invoice", "email", "note"):
        assert kind in kinds
    shipped = [e for e in order_history(order).entries if "620000111222333444555666" in e.detail]
    assert shipped and shipped[0].kind == "status"


def test_the_page_shows_history_and_buttons_without_nested_forms(admin, store):
    order = _order(store, "paid")
    add_note(order=order, text="Paczka na prezent")
    html = _page(admin, order).content.decode()
    assert 'id="order-timeline"' in html and "Paczka na prezent" in html
    assert 'form="status-packed"' in html and 'id="status-packed"' in html
    assert html.index('id="status-packed"') > html.index("</form>")  # after the change form


def test_the_order_page_costs_the_same_for_one_or_ten_lines_and_events(admin, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = _order(store, "paid", lines=1)
    big = _order(store, "paid", lines=10)
    for i in range(10):
        add_note(order=big, text=f"notatka {i}")
        OrderEmail.objects.create(order=big, kind="paid", key=str(i), recipient=big.email)
        OrderStatusChange.objects.create(order=big, from_status="paid", to_status="paid", note=str(i))
    counts = []
    for order in (small, big):
        _page(admin, order)
        with CaptureQueriesContext(connection) as captured:
            assert _page(admin, order).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] <= PAGE_QUERIES, counts


def test_the_order_list_costs_the_same_for_ten_or_fifty_orders(admin, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:orders_order_changelist")
    counts = []
    for total in (10, 50):
        while Order.objects.count() < total:
            _order(store, "paid", shipping_method_name="Kurier DPD")
        admin.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = admin.get(url)
        assert response.status_code == 200 and len(response.context["cl"].result_list) == total
        counts.append(len(captured))
    assert counts[0] == counts[1] <= LIST_QUERIES, counts


# --- confirmation and the views -------------------------------------------------------------------------


def test_marking_paid_asks_then_does(admin, store):
    order = _order(store, "awaiting_payment", payment_provider=PaymentMethod.Provider.BANK_TRANSFER)
    url = reverse("admin:orders_order_status", args=[order.pk])
    ask = admin.post(url, {"status": "paid"})
    assert ask.status_code == 200 and b'data-testid="confirm-step"' in ask.content
    order.refresh_from_db()
    assert order.status == "awaiting_payment"
    done = admin.post(url, {"status": "paid", "confirmed": "yes"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert order.status == "paid" and order.payment_status == "paid"


def test_cancelling_a_paid_order_asks_first_an_unpaid_one_does_not(admin, store):
    paid, unpaid = _order(store, "paid"), _order(store, "awaiting_payment")
    ask = admin.post(reverse("admin:orders_order_status", args=[paid.pk]), {"status": "cancelled"})
    assert ask.status_code == 200
    paid.refresh_from_db()
    assert paid.status == "paid"
    done = admin.post(reverse("admin:orders_order_status", args=[unpaid.pk]), {"status": "cancelled"})
    assert done.status_code == 302
    unpaid.refresh_from_db()
    assert unpaid.status == "cancelled"


@pytest.mark.parametrize("status", ["", "bogus", "x" * 5000, "shipped\x00"])
def test_bad_statuses_change_nothing(admin, store, status):
    order = _order(store, "paid")
    response = admin.post(
        reverse("admin:orders_order_status", args=[order.pk]), {"status": status}, follow=True
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "paid"


def test_a_step_the_workflow_refuses_is_explained(admin, store):
    order = _order(store, "delivered")
    response = admin.post(
        reverse("admin:orders_order_status", args=[order.pk]),
        {"status": "paid", "confirmed": "yes"},
        follow=True,
    )
    assert "nie może przejść" in response.content.decode()  # the admin speaks Polish
    order.refresh_from_db()
    assert order.status == "delivered"


def test_get_is_refused_on_the_posting_views(admin, store):
    order = _order(store, "paid")
    for name in ("orders_order_status", "orders_order_correction", "orders_order_invoice_issue"):
        assert admin.get(reverse(f"admin:{name}", args=[order.pk])).status_code == 405


def test_the_correction_button_issues_a_missing_correction(admin, store):
    order = _order(store, "paid")
    invoice = invoices.issue_invoice(order=order, render="never")
    # Cancelled while the store's company data was incomplete: no correction came with it.
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    order.refresh_from_db()
    assert corrections_due(order, order_history(order)) == ["cancel"]
    assert "correction" in _names(order)
    response = admin.post(reverse("admin:orders_order_correction", args=[order.pk]), follow=True)
    correction = Invoice.objects.get(order=order, kind="correction")
    assert correction.corrects == invoice and correction.total_gross == -invoice.total_gross
    assert correction.number in response.content.decode()
    assert corrections_due(order, order_history(order)) == []
    again = admin.post(reverse("admin:orders_order_correction", args=[order.pk]), follow=True)
    assert "nie ma nic do skorygowania" in again.content.decode()
    assert Invoice.objects.filter(order=order, kind="correction").count() == 1


def test_a_returns_correction_is_due_until_issued(store):
    order = _order(store, "delivered")
    invoices.issue_invoice(order=order, render="never")
    ret = Return.objects.create(order=order, status="accepted", refund_amount=Decimal("1.00"))
    assert corrections_due(order, order_history(order)) == [f"return:{ret.pk}"]


# --- who may -------------------------------------------------------------------------------------------


def test_staff_without_change_permission_see_no_steps_and_cannot_post(client, store):
    clerk = StaffFactory()
    clerk.user_permissions.set(Permission.objects.filter(codename="view_order"))
    client.force_login(clerk)
    order = _order(store, "paid")
    html = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'form="status-' not in html
    response = client.post(
        reverse("admin:orders_order_status", args=[order.pk]), {"status": "cancelled", "confirmed": "yes"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "paid"


def test_staff_of_another_store_cannot_reach_the_order(client, store):
    other = StoreFactory()
    clerk = StaffFactory(all_stores=False)
    other.staff.add(clerk)
    clerk.user_permissions.set(Permission.objects.filter(content_type__app_label="orders"))
    client.force_login(clerk)
    order = _order(store, "paid")
    assert client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code in (302, 404)
    response = client.post(
        reverse("admin:orders_order_status", args=[order.pk]), {"status": "cancelled", "confirmed": "yes"}
    )
    assert response.status_code == 404
    assert client.post(reverse("admin:orders_order_correction", args=[order.pk])).status_code == 404
    order.refresh_from_db()
    assert order.status == "paid"


# --- the list ------------------------------------------------------------------------------------------


def test_the_list_shows_labels_not_codes_and_filters_by_shipping_method(admin, store):
    dpd = courier_method(store, carrier="apaczka", name="Kurier DPD", code="dpd")
    mine = _order(store, "paid", shipping_method=dpd, shipping_method_name="Kurier DPD")
    _order(store, "packed")
    url = reverse("admin:orders_order_changelist")
    html = admin.get(url).content.decode()
    assert "Jan Kowalski" in html and "opłacone" in html and ">paid<" not in html
    filtered = admin.get(url, {"shipping": str(dpd.pk)})
    assert [o.pk for o in filtered.context["cl"].result_list] == [mine.pk]
    assert list(admin.get(url, {"shipping": "abc"}).context["cl"].result_list) == []


def test_packing_lists_print_as_one_pdf(admin, store):
    orders = [_order(store, "paid"), _order(store, "packed", lines=3)]
    response = admin.post(
        reverse("admin:orders_order_changelist"),
        {"action": "print_packing_lists", "_selected_action": [o.pk for o in orders]},
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    assert orders[1].number in reader.pages[1].extract_text()


def test_printing_labels_of_orders_without_parcels_says_so(admin, store):
    order = _order(store, "paid")
    response = admin.post(
        reverse("admin:orders_order_changelist"),
        {"action": "print_order_labels", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "najpierw utwórz przesyłki" in response.content.decode()


def test_the_note_box_still_adds_notes(admin, store):
    order = _order(store, "paid")
    admin.post(reverse("admin:orders_order_note", args=[order.pk]), {"text": "x" * 9000})
    assert len(OrderNote.objects.get(order=order).text) == 5000
