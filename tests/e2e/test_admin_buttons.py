"""The admin's order and return buttons in a real browser: every status button of the order page's
"Processing" box, the invoice and note buttons, and the return page's decision buttons post their
form and change what they say. (They once sat in forms nested in the change form; browsers drop a
nested <form>, so the first button of the page posted nothing.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Invoice, Order, OrderNote, Return, ReturnLine
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order
from tests.shop.factories import SuperuserFactory

pytestmark = pytest.mark.e2e

PASSWORD = "haslo-testowe-123"


@pytest.fixture
def admin_page(page, live_store):
    user = SuperuserFactory(language="pl")
    page.goto("/admin/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")
    return page


def _order(store, status: str) -> Order:
    return make_order(store=store, lines=[(VariantFactory(store=store, stock=5), 1)], status=status)


def _open(page, order: Order):
    page.goto(f"/admin/orders/order/{order.pk}/change/")
    return page.locator("#order-processing")


def _status_buttons(page) -> list[str]:
    return page.locator('#order-processing button[form^="status-"]').evaluate_all(
        "bs => bs.map(b => b.getAttribute('form').slice('status-'.length))"
    )


@pytest.mark.parametrize("start", ["new", "awaiting_payment", "paid", "packed", "shipped", "delivered"])
def test_every_status_button_changes_the_status(admin_page, live_store, start):
    page = admin_page
    _open(page, _order(live_store, start))
    targets = _status_buttons(page)
    assert targets, f"no status button on a {start} order"
    for target in targets:
        order = _order(live_store, start)
        _open(page, order)
        button = page.locator(f'#order-processing button[form="status-{target}"]')
        # The button's form exists in the page (a nested <form> would have been dropped).
        assert button.evaluate("b => b.form !== null && b.form.id")
        button.click()
        page.wait_for_url(lambda url: url.endswith(("/status/", "/change/")))
        if page.url.endswith("/status/"):  # a step that moves money asks first
            page.get_by_test_id("confirm").click()
        page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
        order.refresh_from_db()
        assert order.status == target, (start, target)
        assert order.number in page.locator("ul.messagelist li.success").inner_text()


def test_note_and_invoice_buttons_work(admin_page, live_store):
    page = admin_page
    order = _order(live_store, "paid")
    _open(page, order)
    page.fill("#note-text", "Klient prosi o kontakt")
    page.locator('button[form="order-note"]').click()
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
    assert OrderNote.objects.filter(order=order, text="Klient prosi o kontakt").exists()
    page.locator('button[form="invoice-issue"]').click()
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")
    assert Invoice.objects.filter(order=order).exists()


def _return(store) -> Return:
    order = _order(store, "delivered")
    line = order.lines.get()
    ret = Return.objects.create(order=order, reason="withdrawal", refund_amount=line.total)
    ReturnLine.objects.create(return_request=ret, order_line=line, quantity=1, refund_amount=line.total)
    return ret


def test_return_decision_buttons_work(admin_page, live_store):
    page = admin_page
    accepted, rejected = _return(live_store), _return(live_store)
    stock_before = accepted.order.lines.get().variant.stock_items.get().quantity

    page.goto(f"/admin/orders/return/{accepted.pk}/change/")
    page.fill("#staff-note", "Przyjęto, dziękujemy")
    page.get_by_role("button", name="Przyjmij: przywróć na stan i zwróć pieniądze").click()
    page.wait_for_url(f"**/admin/orders/return/{accepted.pk}/change/")
    accepted.refresh_from_db()
    assert accepted.status == Return.Status.ACCEPTED and accepted.staff_note == "Przyjęto, dziękujemy"
    assert accepted.order.lines.get().variant.stock_items.get().quantity == stock_before + 1

    page.get_by_role("button", name="Oznacz jako zwrócone pieniądze").click()
    page.wait_for_url(f"**/admin/orders/return/{accepted.pk}/change/")
    accepted.refresh_from_db()
    assert accepted.status == Return.Status.REFUNDED and accepted.refund_amount > Decimal("0")

    page.goto(f"/admin/orders/return/{rejected.pk}/change/")
    page.get_by_role("button", name="Odrzuć", exact=True).click()
    page.wait_for_url(f"**/admin/orders/return/{rejected.pk}/change/")
    rejected.refresh_from_db()
    assert rejected.status == Return.Status.REJECTED
