"""Admin order search: every criterion, combined; the admin search box; constant query counts;
order processing from the change form (ship with tracking, notes, packing list, invoices) and
return decisions in the admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Invoice, Order, OrderNote, Return
from orders.returns import request_return
from orders.selectors.search import OrderSearchForm, search_orders
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import AddressFactory, make_order, use_isolated_cache
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture
def catalog(store):
    return {
        "lamp": VariantFactory(
            store=store, price=Decimal("250.00"), stock=50, product__name="Lampa Stalowa", sku="LMP-001"
        ),
        "mug": VariantFactory(
            store=store, price=Decimal("30.00"), stock=50, product__name="Kubek Ceramiczny", sku="MUG-777"
        ),
    }


@pytest.fixture
def orders(store, catalog):
    now = timezone.now()
    a = make_order(
        store=store,
        lines=[(catalog["lamp"], 1)],
        status=Order.Status.PAID,
        shipping_address=AddressFactory(first_name="Zofia", last_name="Wiśniewska", phone="+48 601 222 333"),
        phone="+48 601-222-333",
        email="zofia@example.com",
    )
    b = make_order(
        store=store,
        lines=[(catalog["mug"], 2)],
        status=Order.Status.DELIVERED,
        shipping_address=AddressFactory(
            first_name="Piotr", last_name="Nowak", company_name="Nowak Meble Sp. j."
        ),
        phone="502 111 222",
        email="piotr.nowak@firma.pl",
    )
    c = make_order(
        store=store,
        lines=[(catalog["mug"], 1), (catalog["lamp"], 1)],
        status=Order.Status.AWAITING_PAYMENT,
        shipping_address=AddressFactory(first_name="Anna", last_name="Nowak"),
        email="anna@example.com",
    )
    Order.objects.filter(pk=a.pk).update(created_at=now - timedelta(days=40))
    return a, b, c


def find(store, **criteria):
    form = OrderSearchForm({f"s-{k}": v for k, v in criteria.items()})
    assert form.is_valid(), form.errors
    return set(
        search_orders(Order.objects.filter(store=store), form.cleaned_data).values_list("number", flat=True)
    )


def test_each_criterion(store, orders):
    a, b, c = orders
    assert find(store, number=a.number) == {a.number}
    assert find(store, number=a.number[-5:]) == {a.number}
    assert find(store, email="NOWAK@firma") == {b.number}
    assert find(store, name="nowak") == {b.number, c.number}
    assert find(store, name="Anna Nowak") == {c.number}
    assert find(store, name="Meble") == {b.number}
    assert find(store, name="wiśniew") == {a.number}
    assert find(store, phone="601222333") == {a.number}
    assert find(store, phone="(601) 222") == {a.number}
    assert find(store, product="kubek") == {b.number, c.number}
    assert find(store, product="LMP-001") == {a.number, c.number}
    assert find(store, status=["delivered"]) == {b.number}
    assert find(store, payment=["unpaid"]) == {c.number}
    today = timezone.localdate()
    assert find(store, date_from=str(today - timedelta(days=7))) == {b.number, c.number}
    assert find(store, date_to=str(today - timedelta(days=30))) == {a.number}
    assert find(store, total_min="60", total_max="100") == {b.number}  # 2 × 30 + 15


def test_criteria_combine(store, orders):
    _a, b, c = orders
    assert find(store, name="Nowak", product="lampa") == {c.number}
    assert find(store, name="Nowak", status=["delivered", "paid"]) == {b.number}
    assert find(store, email="example.com", total_min="200") == {orders[0].number, c.number}
    assert find(store, email="example.com", total_min="200", date_from=str(timezone.localdate())) == {
        c.number
    }
    assert find(store, q="nowak", payment=["paid"]) == {b.number}


def test_free_text(store, orders):
    a, b, c = orders
    assert find(store, q=a.number) == {a.number}
    assert find(store, q="zofia@example.com") == {a.number}
    assert find(store, q="Kubek") == {b.number, c.number}
    assert find(store, q="601 222 333") == {a.number}
    assert find(store, q="nic-takiego") == set()


def test_form_rejects_bad_ranges():
    form = OrderSearchForm(
        {"s-date_from": "2026-05-02", "s-date_to": "2026-05-01", "s-total_min": "9", "s-total_max": "1"}
    )
    assert not form.is_valid()
    assert "date_to" in form.errors and "total_max" in form.errors
    assert not OrderSearchForm({"s-total_min": "-5"}).is_valid()


def test_other_stores_orders_are_not_found(store, orders):
    from tests.shop.factories import StoreFactory

    other = StoreFactory()
    variant = VariantFactory(store=other, stock=3, product__name="Kubek Obcy")
    make_order(store=other, lines=[(variant, 1)])
    assert find(store, product="kubek") == {orders[1].number, orders[2].number}


# --- the admin changelist ---------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(SuperuserFactory())
    return client


def changelist(admin_client, **params):
    return admin_client.get(reverse("admin:orders_order_changelist"), params)


def test_changelist_with_advanced_search(admin_client, store, orders):
    a, _b, c = orders
    response = changelist(admin_client, **{"s-name": "nowak", "s-product": "lampa"})
    assert response.status_code == 200
    shown = {o.number for o in response.context["cl"].result_list}
    assert shown == {c.number}
    assert b'name="s-name"' in response.content
    # The admin search box uses the same index-backed free-text search.
    response = changelist(admin_client, q="zofia@example.com")
    assert {o.number for o in response.context["cl"].result_list} == {a.number}
    # Invalid input is shown, not a 500.
    response = changelist(admin_client, **{"s-total_min": "abc"})
    assert response.status_code == 200


def test_changelist_query_count_is_constant(admin_client, store, catalog, django_assert_max_num_queries):
    make_order(store=store, lines=[(catalog["mug"], 1)])
    with django_assert_max_num_queries(12) as few:
        changelist(admin_client, **{"s-name": "Kowalski"})
    for _ in range(30):
        make_order(store=store, lines=[(catalog["mug"], 1), (catalog["lamp"], 1)], sold=False)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = changelist(admin_client, **{"s-name": "Kowalski"})
    assert len(response.context["cl"].result_list) == 31


# --- processing from the change form ----------------------------------------------------------------


def test_change_form_shows_processing(admin_client, store, orders):
    a, _b, _c = orders
    response = admin_client.get(reverse("admin:orders_order_change", args=[a.pk]))
    assert response.status_code == 200
    assert b"order-processing" in response.content
    assert reverse("admin:orders_order_packing_list", args=[a.pk]).encode() in response.content


def test_status_button_goes_through_the_workflow(admin_client, store, orders):
    a, _b, _c = orders
    url = reverse("admin:orders_order_status", args=[a.pk])
    assert admin_client.post(url, {"status": "packed"}).status_code == 302
    a.refresh_from_db()
    assert a.status == Order.Status.PACKED
    assert a.status_changes.last().to_status == "packed"
    admin_client.post(url, {"status": "returned"})  # not allowed from packed
    a.refresh_from_db()
    assert a.status == Order.Status.PACKED
    assert admin_client.get(url).status_code == 405


def test_ship_with_tracking_number(admin_client, store, orders):
    a, _b, _c = orders
    admin_client.post(reverse("admin:orders_order_status", args=[a.pk]), {"status": "packed"})
    url = reverse("admin:orders_order_ship", args=[a.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"tracking_number": ""}).status_code == 400
    assert admin_client.post(url, {"tracking_number": "6PL123456789"}).status_code == 302
    a.refresh_from_db()
    assert a.status == Order.Status.SHIPPED
    assert a.tracking_number == "6PL123456789"
    assert a.shipped_at is not None


def test_note_packing_list_and_invoice(admin_client, store, orders):
    a, _b, c = orders
    admin_client.post(
        reverse("admin:orders_order_note", args=[a.pk]), {"text": "Klient prosi o szybką wysyłkę"}
    )
    assert OrderNote.objects.get(order=a).text == "Klient prosi o szybką wysyłkę"
    packing = admin_client.get(reverse("admin:orders_order_packing_list", args=[a.pk]))
    assert b"LMP-001" in packing.content
    assert admin_client.get(reverse("admin:orders_order_invoice", args=[a.pk])).status_code == 404
    admin_client.post(reverse("admin:orders_order_invoice_issue", args=[a.pk]))
    invoice = Invoice.objects.get(order=a)
    pdf = admin_client.get(reverse("admin:orders_order_invoice", args=[a.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    admin_client.post(reverse("admin:orders_order_invoice_issue", args=[a.pk]))  # re-render, same number
    assert Invoice.objects.get(order=a).number == invoice.number
    assert admin_client.get(reverse("admin:orders_invoice_pdf", args=[invoice.pk])).status_code == 200
    # Unpaid order: a clear message, no invoice.
    admin_client.post(reverse("admin:orders_order_invoice_issue", args=[c.pk]))
    assert not Invoice.objects.filter(order=c).exists()


def test_invoices_cannot_be_deleted_or_added(admin_client, store, orders):
    response = admin_client.get(reverse("admin:orders_invoice_add"))
    assert response.status_code == 403


# --- returns in the admin -------------------------------------------------------------------------------


def test_accept_and_reject_returns_in_admin(admin_client, store, orders):
    _a, b, _c = orders
    ret = request_return(order=b, items={b.lines.get().pk: 1}, reason="damaged")
    change = admin_client.get(reverse("admin:orders_return_change", args=[ret.pk]))
    assert change.status_code == 200 and b"return-decision" in change.content
    decide = reverse("admin:orders_return_decide", args=[ret.pk])
    admin_client.post(decide, {"decision": "accept", "staff_note": "OK"})
    ret.refresh_from_db()
    assert ret.status == Return.Status.ACCEPTED and ret.staff_note == "OK"
    admin_client.post(decide, {"decision": "reject"})  # too late: a message, no change
    ret.refresh_from_db()
    assert ret.status == Return.Status.ACCEPTED
    second = request_return(order=b, items={b.lines.get().pk: 1}, reason="withdrawal")
    admin_client.post(
        reverse("admin:orders_return_changelist"),
        {"action": "reject_returns", "_selected_action": [second.pk]},
    )
    second.refresh_from_db()
    assert second.status == Return.Status.REJECTED


def test_phone_in_any_format(store, orders):
    assert find(store, phone="502-111-222") == {orders[1].number}
