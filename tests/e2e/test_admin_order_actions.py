"""The merchant's order page in a real browser: every next step is clicked, confirmed where it
moves money, and seen on the page afterwards (the message and the history); the order list fits
1366 px with the demo shop's orders."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Invoice, Order, Payment, PaymentRefund, Shipment
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


def _order(store, status: str, **kwargs) -> Order:
    return make_order(store=store, lines=[(VariantFactory(store=store, stock=5), 1)], status=status, **kwargs)


def _open(page, order: Order):
    page.goto(f"/admin/orders/order/{order.pk}/change/")


def _click(page, action: str):
    page.locator(f'#order-processing [data-action="{action}"]').click()


def _back_on(page, order: Order):
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")


def _history(page) -> str:
    return page.locator("#order-timeline").inner_text()


def _actions(page) -> list[str]:
    return page.locator("#order-processing [data-action]").evaluate_all(
        "els => els.map(e => e.dataset.action)"
    )


def test_mark_paid_asks_then_pack_ship_deliver(admin_page, live_store):
    page = admin_page
    order = _order(live_store, "awaiting_payment", payment_provider="bank_transfer")
    _open(page, order)
    assert _actions(page) == ["status_paid", "status_cancelled"]

    _click(page, "status_paid")
    page.get_by_test_id("confirm-step").wait_for()
    order.refresh_from_db()
    assert order.status == "awaiting_payment"  # nothing happens before the confirmation
    page.get_by_test_id("confirm").click()
    _back_on(page, order)
    assert order.number in page.locator("ul.messagelist li.success").inner_text()
    assert "Status: opłacone" in _history(page)

    _click(page, "status_packed")
    _back_on(page, order)
    assert "Status: spakowane" in _history(page)

    _click(page, "ship")
    page.fill("#tracking", "620000111222333444555666")
    page.locator("input[type=submit]").click()
    _back_on(page, order)
    assert "620000111222333444555666" in _history(page)

    _click(page, "status_delivered")
    _back_on(page, order)
    order.refresh_from_db()
    assert order.status == "delivered" and "Status: doręczone" in _history(page)


def test_going_back_from_the_confirmation_changes_nothing(admin_page, live_store):
    page = admin_page
    order = _order(live_store, "paid")
    _open(page, order)
    _click(page, "status_cancelled")
    page.get_by_test_id("confirm-step").wait_for()
    page.get_by_role("link", name="Nie, wróć").click()
    _back_on(page, order)
    order.refresh_from_db()
    assert order.status == "paid"


def test_cancel_a_paid_order_after_confirming(admin_page, live_store):
    page = admin_page
    order = _order(live_store, "paid")
    _open(page, order)
    _click(page, "status_cancelled")
    assert "zapłacił" in page.get_by_test_id("confirm-step").inner_text()
    page.get_by_test_id("confirm").click()
    _back_on(page, order)
    order.refresh_from_db()
    assert order.status == "cancelled" and "Status: anulowane" in _history(page)
    assert _actions(page) == []


def test_refund_through_the_gateway(admin_page, live_store, monkeypatch):
    from orders.payments import get_provider
    from orders.payments.base import RefundResult

    provider = type(get_provider("test_gateway"))
    monkeypatch.setattr(provider, "supports_refunds", True)
    monkeypatch.setattr(
        provider,
        "refund",
        lambda self, payment, amount, *, reference, reason="": RefundResult(
            status="succeeded", gateway_reference=f"R-{reference}", message="OK"
        ),
    )
    page = admin_page
    order = _order(live_store, "paid", payment_provider="test_gateway")
    Payment.objects.create(
        order=order,
        provider="test_gateway",
        amount=order.total,
        currency="PLN",
        status="paid",
        paid_at=order.paid_at,
    )
    _open(page, order)
    _click(page, "refund")
    page.fill("#id_amount", "10.00")
    page.fill("#id_reason", "porysowany")
    page.locator("input[type=submit]").click()
    _back_on(page, order)
    refund = PaymentRefund.objects.get(order=order)
    assert refund.amount == Decimal("10.00") and refund.status == "succeeded"
    assert "Zwrot 10,00\xa0zł" in _history(page)


def test_issue_the_invoice_then_its_correction(admin_page, live_store):
    page = admin_page
    order = _order(live_store, "paid")
    _open(page, order)
    _click(page, "invoice")
    _back_on(page, order)
    invoice = Invoice.objects.get(order=order)
    assert f"Wystawiono fakturę {invoice.number}" in _history(page)
    assert "invoice" not in _actions(page)
    # Cancelled while the company data was incomplete: the correction is owed.
    Order.objects.filter(pk=order.pk).update(status="cancelled")
    _open(page, order)
    _click(page, "correction")
    _back_on(page, order)
    correction = Invoice.objects.get(order=order, kind="correction")
    assert f"Wystawiono fakturę korygującą {correction.number}" in _history(page)
    assert "correction" not in _actions(page)


def test_create_the_shipment_and_print_its_label(admin_page, live_store, settings):
    from tests.fakes.inpost_shipx import FakeShipX
    from tests.orders.factories_shipping import CarrierAccountFactory, locker_method, ship_ready_order

    settings.CARRIER_HTTP_BACKOFF_SECONDS = 0
    settings.CARRIER_RATE_PER_SECOND = 0
    settings.CARRIER_CONFIRM_POLL_SECONDS = 0
    page = admin_page
    with FakeShipX() as shipx:
        settings.INPOST_SHIPX_SANDBOX_URL = shipx.url
        CarrierAccountFactory(store=live_store, carrier="inpost")
        order = ship_ready_order(live_store, locker_method(live_store))
        _open(page, order)
        _click(page, "create_shipment")
        page.locator("input[type=submit].default").click()
        _back_on(page, order)
        shipment = Shipment.objects.get(order=order)
        assert shipment.status == Shipment.Status.CONFIRMED
        assert "Etykieta gotowa" in _history(page) and shipment.tracking_number in _history(page)
        assert "create_shipment" not in _actions(page)
        with page.expect_download() as download:
            _click(page, "label")
        path = download.value.path()
        with open(path, "rb") as label:
            assert label.read(4) == b"%PDF"


def test_the_order_list_fits_1366_px_with_the_demo_shop(admin_page, live_store):
    from django.core.management import call_command

    call_command("seed_demo", domain="localhost", admin_password="demo-haslo-123")
    assert Order.objects.count() >= 30
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/orders/order/")
    assert page.locator("#result_list tbody tr").count() >= 30
    headers = page.locator("#result_list thead th").all_inner_texts()
    for label in ("Numer", "Klient", "Razem", "Płatność", "Status", "Kanał"):
        assert any(label.lower() in h.lower() for h in headers), (label, headers)
    width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
