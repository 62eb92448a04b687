"""Payments: the test gateway's signed asynchronous notifications, and what they may change."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockItem, StockReservation
from orders import services
from orders.models import Order, Payment, PaymentNotification
from orders.payments import get_provider
from orders.payments.test_gateway import build_notification, sign
from tests.catalog.factories import VariantFactory
from tests.orders.factories import ready_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
WEBHOOK = "/platnosc/webhook/test/"


@pytest.fixture
def online_order(store):
    v = VariantFactory(store=store, stock=5, price=Decimal("50.00"))
    order = services.place_order(cart=ready_cart(store, [(v, 2)]))
    payment = services.open_payment(order)
    started = services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    assert started.redirect_url == f"/platnosc/test/{payment.gateway_reference}/"
    order.variant = v
    return order, payment


def post(client, body: bytes, headers: dict):
    return client.post(WEBHOOK, data=body, content_type="application/json", headers=headers)


def on_hand(v):
    return StockItem.objects.get(variant=v).quantity


def test_a_verified_paid_notification_pays_the_order_and_sells_the_stock(client, online_order):
    order, payment = online_order
    body, headers = build_notification(payment, "paid")
    response = post(client, body, headers)
    assert response.status_code == 200 and response.json() == {"ok": True, "changed": True}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID and payment.status == Payment.Status.PAID
    assert on_hand(order.variant) == 3 and not StockReservation.objects.exists()


def test_a_duplicate_genuine_notification_changes_nothing(client, online_order):
    order, payment = online_order
    assert post(client, *build_notification(payment, "paid")).status_code == 200
    again = post(client, *build_notification(payment, "paid", timestamp=int(time.time()) + 1))
    assert again.status_code == 200 and again.json()["changed"] is False
    assert order.status_changes.filter(to_status="paid").count() == 1
    assert on_hand(order.variant) == 3


def test_forged_tampered_stale_and_replayed_notifications_are_rejected(client, online_order, settings):
    order, payment = online_order
    body, headers = build_notification(payment, "paid")
    forged = {
        **headers,
        "X-Gateway-Signature": sign(body, int(headers["X-Gateway-Timestamp"]), secret="guess"),
    }
    assert post(client, body, forged).status_code == 403
    tampered = body.replace(b'"amount":"114.99"', b'"amount":"0.01"')
    assert tampered != body and post(client, tampered, headers).status_code == 403
    assert post(client, body, {"Content-Type": "application/json"}).status_code == 400
    assert post(client, body, {**headers, "X-Gateway-Timestamp": "soon"}).status_code == 400
    old = int(time.time()) - settings.PAYMENT_NOTIFICATION_TOLERANCE_SECONDS - 5
    assert post(client, *build_notification(payment, "paid", timestamp=old)).status_code == 400
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert post(client, body, headers).status_code == 200
    replay = post(client, body, headers)
    assert replay.status_code == 400 and replay.json()["error"] == "replayed notification"
    assert PaymentNotification.objects.filter(outcome="invalid signature").count() == 2


def test_unknown_payment_malformed_body_and_amount_mismatch(client, online_order):
    _order, payment = online_order
    body = json.dumps(
        {"merchant_reference": "NOPE", "status": "paid", "amount": "1.00", "currency": "PLN"}
    ).encode()
    ts = int(time.time())
    headers = {"X-Gateway-Timestamp": str(ts), "X-Gateway-Signature": sign(body, ts)}
    response = post(client, body, headers)
    assert response.status_code == 404 and response.json() == {"error": "unknown payment"}
    junk = b"not json"
    assert (
        post(
            client, junk, {"X-Gateway-Timestamp": str(ts), "X-Gateway-Signature": sign(junk, ts)}
        ).status_code
        == 400
    )
    wrong = json.dumps(
        {"merchant_reference": payment.reference, "status": "paid", "amount": "0.01", "currency": "PLN"}
    ).encode()
    response = post(client, wrong, {"X-Gateway-Timestamp": str(ts), "X-Gateway-Signature": sign(wrong, ts)})
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    odd = json.dumps(
        {"merchant_reference": payment.reference, "status": "maybe", "amount": "114.99", "currency": "PLN"}
    ).encode()
    assert (
        post(client, odd, {"X-Gateway-Timestamp": str(ts), "X-Gateway-Signature": sign(odd, ts)}).status_code
        == 400
    )
    assert client.post("/platnosc/webhook/nope/").status_code == 404
    assert client.get(WEBHOOK).status_code == 405


def test_failed_payment_frees_the_stock_and_a_retry_holds_it_again(client, online_order):
    order, payment = online_order
    assert post(client, *build_notification(payment, "failed")).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert not StockReservation.objects.exists()
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    retry = services.retry_payment(order=order)
    assert retry.pk != payment.pk and retry.amount == payment.amount
    assert sum(StockReservation.objects.values_list("quantity", flat=True)) == 2
    services.start_payment(order=order, payment=retry)
    retry.refresh_from_db()
    assert post(client, *build_notification(retry, "paid")).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.payments.count() == 2


def test_retry_after_the_stock_was_sold_says_so(store, online_order):
    order, payment = online_order
    services.payment_failed(payment=payment)
    other = services.place_order(
        cart=ready_cart(store, [(order.variant, 5)], payment="cod", email="x@example.com")
    )
    assert other.stock_committed
    with pytest.raises(services.OutOfStock):
        services.retry_payment(order=order)


def test_timeout_leaves_the_payment_pending_until_the_hold_expires(client, online_order, settings):
    order, payment = online_order
    # Nothing is sent on a timeout: the order waits, with its stock held.
    assert services.extend_payment_hold(order=order) is True
    Order.objects.filter(pk=order.pk).update(reservation_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.expire_unpaid_orders() == 1
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and payment.status == Payment.Status.EXPIRED
    assert on_hand(order.variant) == 5 and not StockReservation.objects.exists()
    assert services.extend_payment_hold(order=order) is False
    with pytest.raises(services.CheckoutError):
        services.retry_payment(order=order)


def test_a_payment_after_cancellation_is_recorded_for_a_refund(client, online_order):
    order, payment = online_order
    services.change_status(order=order, status=Order.Status.CANCELLED)
    assert post(client, *build_notification(payment, "paid")).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.payment_status == "paid"
    assert "po anulowaniu" in order.notes.get().text  # the webhook speaks the store's language


def test_hold_is_extended_while_paying_but_never_beyond_the_maximum(online_order, settings):
    order, _payment = online_order
    settings.RESERVATION_MINUTES = 15
    settings.RESERVATION_MAX_MINUTES = 20
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(minutes=10),
        reservation_expires_at=timezone.now() + timedelta(minutes=5),
    )
    StockReservation.objects.update(expires_at=timezone.now() + timedelta(minutes=5))
    assert services.extend_payment_hold(order=order)
    order.refresh_from_db()
    assert timedelta(minutes=9) < order.reservation_expires_at - timezone.now() <= timedelta(minutes=10)
    hold = StockReservation.objects.first()
    assert abs((hold.expires_at - order.reservation_expires_at).total_seconds()) < 2


def test_paid_after_the_hold_expired_and_the_stock_is_gone_cancels_the_order_for_a_refund(
    store, client, online_order
):
    # Issue 18: never left paid and shippable with no stock taken (was: paid with a note).
    order, payment = online_order
    StockReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    services.place_order(cart=ready_cart(store, [(order.variant, 5)], payment="cod", email="x@example.com"))
    assert post(client, *build_notification(payment, "paid")).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and not order.stock_committed
    assert order.payment_status == Order.PaymentStatus.PAID  # the money is in: it goes back
    assert "sprzedany" in order.status_changes.get(to_status="cancelled").note
    assert on_hand(order.variant) == 0


def test_the_gateway_page_notifies_the_shop_asynchronously(
    client, online_order, gateway_transport, django_capture_on_commit_callbacks
):
    order, payment = online_order
    page = client.get(f"/platnosc/test/{payment.gateway_reference}/")
    assert page.status_code == 200 and b"114,99" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/platnosc/test/{payment.gateway_reference}/", {"outcome": "paid"})
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:payment-return", kwargs={"ref": payment.reference})
    assert gateway_transport.calls == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    back = client.get(response["Location"])
    assert back["Location"] == order.get_absolute_url()
    closed = client.get(f"/platnosc/test/{payment.gateway_reference}/")
    assert b"closed" in closed.content or "zamknięta".encode() in closed.content


def test_browser_return_alone_changes_nothing(client, online_order, gateway_transport):
    order, payment = online_order
    response = client.get(reverse("orders:payment-return", kwargs={"ref": payment.reference}))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert client.get("/platnosc/test/NOPE/").status_code == 404
    assert client.get(reverse("orders:payment-return", kwargs={"ref": "NOPE"})).status_code == 404


def test_timeout_click_sends_nothing(
    client, online_order, gateway_transport, django_capture_on_commit_callbacks
):
    _order, payment = online_order
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/platnosc/test/{payment.gateway_reference}/", {"outcome": "timeout"})
    assert gateway_transport.calls == []
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_gateway_retries_when_the_shop_answers_5xx(online_order, monkeypatch):
    import httpx

    from orders.payments import test_gateway
    from orders.tasks import test_gateway_notify

    _order, payment = online_order
    answers = [503, 200]
    monkeypatch.setattr(
        test_gateway, "transport", httpx.MockTransport(lambda request: httpx.Response(answers.pop(0)))
    )
    with pytest.raises(test_gateway.GatewayRetry):
        test_gateway.send_notification(payment.gateway_reference, "paid")
    assert test_gateway.send_notification(payment.gateway_reference, "paid") == 200
    # The worker retries such failures with backoff, like a real gateway.
    assert (
        test_gateway.GatewayRetry in test_gateway_notify.autoretry_for
        and test_gateway_notify.max_retries >= 5
    )
    assert test_gateway.send_notification("UNKNOWN", "paid") == 404


def test_offline_providers_give_instructions(store):
    store.bank_account = "PL61 1090 1014 0000 0712 1981 2874"
    store.save()
    v = VariantFactory(store=store, stock=5)
    order = services.place_order(cart=ready_cart(store, [(v, 1)], payment="bank_transfer"))
    started = services.start_payment(order=order)
    assert store.bank_account in started.instructions and order.number in started.instructions
    assert started.redirect_url == ""
    cod = get_provider("cod").start(Payment(amount=Decimal("12.50"), currency="PLN"))
    assert "12,50\xa0zł" in cod.instructions
    with pytest.raises(KeyError):
        get_provider("bitcoin")
