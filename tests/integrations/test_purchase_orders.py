"""Purchase orders for drop-shipped lines: created from order.paid, sent by email or HTTP API,
status tracked, retried with backoff, idempotent."""

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import Variant
from integrations import purchase_orders, services
from integrations.models import PurchaseOrder
from integrations.tasks import retry_purchase_orders
from shop import events
from tests.catalog.factories import VariantFactory
from tests.orders.factories_after_sales import make_order

from .conftest import iof_files, make_config

pytestmark = pytest.mark.django_db


def imported(store, **options):
    config = make_config(store, dropship=True, **options)
    services.run_connector(config_id=config.pk, direction="full", trigger="command", files=iof_files())
    return config


def paid_order(store, *lines):
    return make_order(store=store, lines=list(lines), status="paid", sold=False)


@pytest.fixture
def deliver_paid(django_capture_on_commit_callbacks):
    """Publish order.paid like orders does and deliver it, running the after-commit send."""

    def deliver(order):
        with django_capture_on_commit_callbacks(execute=True):
            event = events.publish(
                type="order.paid", payload={"order_id": order.pk, "number": order.number}, store=order.store
            )
            events.deliver(event.pk)

    return deliver


def test_paid_order_creates_and_emails_a_purchase_order(store, deliver_paid):
    config = imported(
        store, order_method="email", order_email="zamowienia@hurtownia.example", customer_number="K-77"
    )
    own = VariantFactory(store=store, sku="OWN-1")
    dress = Variant.objects.get(sku="1001-2")
    order = paid_order(store, (dress, 2), (own, 1))
    mail.outbox.clear()
    deliver_paid(order)
    po = PurchaseOrder.objects.get(order=order)
    assert po.config == config and po.status == PurchaseOrder.Status.SENT and po.attempts == 1
    assert [
        (line.sku, line.supplier_code, line.quantity, str(line.unit_cost)) for line in po.lines.all()
    ] == [("1001-2", "1001-2", 2, "70.00")]  # the shop's own product is not ordered from the wholesaler
    message = mail.outbox[-1]
    assert message.to == ["zamowienia@hurtownia.example"]
    assert po.number in message.subject
    assert "Jan Kowalski" in message.body and "K-77" in message.body
    name, content, mimetype = message.attachments[0]
    assert name == f"{po.number}.csv" and mimetype == "text/csv"
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "kod_hurtowni" and rows[1][:2] == ["1001-2", "1001-2"] and rows[1][4] == "2"


def test_handler_is_idempotent(store):
    imported(store, order_method="email", order_email="z@hurtownia.example")
    order = paid_order(store, (Variant.objects.get(sku="1003-uniw"), 1))
    purchase_orders.create_purchase_orders(order_id=order.pk)
    purchase_orders.create_purchase_orders(order_id=order.pk)
    assert PurchaseOrder.objects.filter(order=order).count() == 1


def test_no_purchase_order_without_dropship(store, deliver_paid):
    config = make_config(store, dropship=False)
    services.run_connector(config_id=config.pk, direction="full", trigger="command", files=iof_files())
    order = paid_order(store, (Variant.objects.get(sku="1003-uniw"), 1))
    deliver_paid(order)
    assert not PurchaseOrder.objects.exists()


def test_http_purchase_order_is_confirmed_by_the_api(store, wholesaler, fast_http, deliver_paid):
    imported(
        store,
        order_method="http",
        order_api_url=wholesaler.server.url("/api/orders"),
        api_token=wholesaler.token,
    )
    order = paid_order(store, (Variant.objects.get(sku="1001-1"), 1))
    deliver_paid(order)
    po = PurchaseOrder.objects.get(order=order)
    assert po.status == PurchaseOrder.Status.CONFIRMED and po.external_reference == "ZAM/1"
    sent = wholesaler.orders[0]
    assert sent["number"] == po.number and sent["lines"][0]["code"] == "1001-1"
    assert sent["shipping_address"]["city"] == "Warszawa"
    request = next(r for r in wholesaler.requests if r.path == "/api/orders")
    assert request.headers["idempotency-key"] == po.number


def test_http_failure_is_retried_with_backoff_then_sent(store, wholesaler, fast_http, deliver_paid):
    imported(
        store,
        order_method="http",
        order_api_url=wholesaler.server.url("/api/orders"),
        api_token=wholesaler.token,
    )
    wholesaler.order_mode = "fail"
    order = paid_order(store, (Variant.objects.get(sku="1001-1"), 1))
    deliver_paid(order)
    po = PurchaseOrder.objects.get(order=order)
    assert po.status == PurchaseOrder.Status.PENDING and po.attempts == 1 and "503" in po.last_error
    assert po.next_attempt_at > timezone.now()
    assert retry_purchase_orders() == 0  # not due yet
    wholesaler.order_mode = "accept"
    PurchaseOrder.objects.filter(pk=po.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert retry_purchase_orders() == 1
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.CONFIRMED and po.attempts == 2


def test_http_refusal_fails_at_once_and_can_be_retried(store, wholesaler, fast_http, deliver_paid):
    imported(
        store,
        order_method="http",
        order_api_url=wholesaler.server.url("/api/orders"),
        api_token=wholesaler.token,
    )
    wholesaler.order_mode = "reject"
    order = paid_order(store, (Variant.objects.get(sku="1001-1"), 1))
    deliver_paid(order)
    po = PurchaseOrder.objects.get(order=order)
    assert po.status == PurchaseOrder.Status.FAILED and "422" in po.last_error
    wholesaler.order_mode = "accept"
    purchase_orders.retry(purchase_order=po)
    purchase_orders.send_purchase_order(purchase_order_id=po.pk)
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.CONFIRMED


def test_gives_up_after_max_attempts(store, wholesaler, fast_http, settings, deliver_paid):
    settings.INTEGRATIONS_PO_MAX_ATTEMPTS = 2
    imported(
        store,
        order_method="http",
        order_api_url=wholesaler.server.url("/api/orders"),
        api_token=wholesaler.token,
    )
    wholesaler.order_mode = "fail"
    order = paid_order(store, (Variant.objects.get(sku="1001-1"), 1))
    deliver_paid(order)
    po = PurchaseOrder.objects.get(order=order)
    PurchaseOrder.objects.filter(pk=po.pk).update(next_attempt_at=timezone.now())
    purchase_orders.send_purchase_order(purchase_order_id=po.pk)
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.FAILED and "Gave up after 2 attempts" in po.last_error


def test_mark_confirmed(store, deliver_paid):
    imported(store, order_method="email", order_email="z@hurtownia.example")
    order = paid_order(store, (Variant.objects.get(sku="1001-1"), 1))
    deliver_paid(order)
    po = PurchaseOrder.objects.get()
    purchase_orders.mark_confirmed(purchase_order=po, reference="FV/1")
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.CONFIRMED and po.external_reference == "FV/1"
