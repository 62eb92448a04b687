"""PayU REST v2.1 against the fake PayU server: OAuth, order create without following the 302,
OpenPayu-Signature verification, statuses (in and out of order), capture, refunds, faults."""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal

import pytest

from orders import services
from orders.models import Order, Payment, PaymentNotification, PaymentRefund
from orders.payments import get_provider
from orders.payments.base import PaymentGatewayError
from orders.payments.payu import parse_signature_header, signature
from orders.payments.refunds import refund_payment
from tests.fakes.http_server import FakeResponse
from tests.fakes.payu import FakePayU
from tests.fakes.przelewy24 import django_deliver
from tests.orders.gateway_checkout import gateway_account, isolate_cache, place_online_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
WEBHOOK = "/platnosc/webhook/payu/"


# --- signature: known-good vectors --------------------------------------------------------------

BODY = b'{"order":{"orderId":"X1","status":"COMPLETED"}}'


def test_signature_is_a_hash_of_body_plus_second_key_not_an_hmac():
    documented = hashlib.md5(BODY + b"second-key").hexdigest()  # noqa: S324 - PayU documents MD5
    assert signature(BODY, "second-key") == documented
    assert signature(BODY, "second-key") == "a1f09d7acccfb05298015a30db0a47d8"  # md5sum by hand
    assert signature(BODY, "second-key", "SHA-256") == (
        "239454f84f7764d393e2e11bd49c2959e007204240e76a76e8a36a43fa6f01ee"
    )
    assert signature(BODY + b" ", "second-key") != "a1f09d7acccfb05298015a30db0a47d8"
    assert signature(BODY, "other") != "a1f09d7acccfb05298015a30db0a47d8"


def test_signature_header_is_parsed():
    parsed = parse_signature_header("sender=checkout;signature=abc;algorithm=MD5;content=DOCUMENT")
    assert parsed == {"sender": "checkout", "signature": "abc", "algorithm": "MD5", "content": "DOCUMENT"}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def payu(settings):
    isolate_cache(settings)
    with FakePayU() as fake:
        settings.PAYU_SANDBOX_URL = fake.url
        settings.PAYU_URL = "http://127.0.0.1:9"
        yield fake


@pytest.fixture
def account(store, payu):
    return gateway_account(
        store,
        "payu",
        config={"pos_id": payu.pos_id, "client_id": payu.client_id},
        secrets={"client_secret": payu.client_secret, "second_key": payu.second_key},
    )


@pytest.fixture
def started(store, account, payu):
    order, payment = place_online_order(store, "payu")
    start = services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    return order, payment, start, payment.gateway_reference


@pytest.fixture
def deliver(client):
    return django_deliver(client)


def paid(order, payment):
    order.refresh_from_db()
    payment.refresh_from_db()
    return order.status == Order.Status.PAID and payment.status == Payment.Status.PAID


# --- happy path ---------------------------------------------------------------------------------


def test_shopper_pays_end_to_end_and_the_order_is_paid_exactly_once(started, payu, deliver):
    order, payment, start, order_id = started
    assert start.redirect_url == f"{payu.url}/pay/?orderId={order_id}"
    assert not payu.calls("GET", "/pay/")  # the 302 was not followed
    sent = json.loads(payu.calls("POST", "/api/v2_1/orders")[0].body)
    assert sent["extOrderId"] == payment.reference and sent["totalAmount"] == "13799"
    assert sent["merchantPosId"] == payu.pos_id and sent["notifyUrl"].endswith(WEBHOOK)
    assert sent["products"][0]["unitPrice"] == "6150" and sent["buyer"]["email"] == "anna@example.com"
    oauth = payu.calls("POST", "/oauth/authorize")[0]
    assert oauth.headers["content-type"].startswith("application/x-www-form-urlencoded")

    assert payu.notify(order_id, "PENDING", deliver)[0] == 200 and not paid(order, payment)
    status, body = payu.notify(order_id, "COMPLETED", deliver)
    assert status == 200 and json.loads(body) == {"ok": True, "changed": True}
    assert paid(order, payment) and payment.gateway_reference == order_id
    status, body = payu.notify(order_id, "COMPLETED", deliver)  # PayU retries
    assert status == 200 and json.loads(body)["changed"] is False
    assert order.status_changes.filter(to_status=Order.Status.PAID).count() == 1


def test_the_oauth_token_is_cached(store, account, payu):
    for _ in range(2):
        order, payment = place_online_order(store, "payu")
        services.start_payment(order=order, payment=payment)
    assert len(payu.calls("POST", "/oauth/authorize")) == 1


def test_201_answer_works_too_and_start_twice_creates_one_order(store, account, payu):
    payu.create_status = 201
    order, payment = place_online_order(store, "payu")
    first = services.start_payment(order=order, payment=payment)
    second = services.start_payment(order=order, payment=payment)
    assert first.redirect_url == second.redirect_url and len(payu.orders) == 1


@pytest.mark.parametrize("algorithm", ["SHA-256", "SHA-512"])
def test_other_documented_algorithms_verify(started, payu, deliver, algorithm):
    order, payment, _, order_id = started
    assert payu.notify(order_id, "COMPLETED", deliver, algorithm=algorithm)[0] == 200
    assert paid(order, payment)


def test_waiting_for_confirmation_is_captured_then_completed_pays(started, payu, deliver):
    order, payment, _, order_id = started
    assert payu.notify(order_id, "WAITING_FOR_CONFIRMATION", deliver)[0] == 200
    assert payu.orders[order_id].status == "COMPLETED" and payu.calls("PUT", "/status")
    assert not paid(order, payment)  # only the COMPLETED notification pays
    assert payu.notify(order_id, "COMPLETED", deliver)[0] == 200 and paid(order, payment)


def test_canceled_fails_the_attempt_and_the_order_waits(started, payu, deliver):
    order, payment, _, order_id = started
    assert payu.notify(order_id, "CANCELED", deliver)[0] == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED and order.status == Order.Status.AWAITING_PAYMENT


def test_out_of_order_statuses_after_completed_change_nothing(started, payu, deliver, caplog):
    order, payment, _, order_id = started
    assert payu.notify(order_id, "COMPLETED", deliver)[0] == 200
    with caplog.at_level(logging.WARNING, logger="orders.payments"):
        for late in ("PENDING", "CANCELED"):
            status, body = payu.notify(order_id, late, deliver)
            assert status == 200 and json.loads(body)["changed"] is False
    assert paid(order, payment) and "out of order" in caplog.text


# --- forged, tampered, mismatched -----------------------------------------------------------------


def test_tampered_body_is_rejected_and_logged(started, payu, deliver, caplog):
    order, payment, _, order_id = started
    body = payu.notification_body(order_id, "COMPLETED")
    headers = payu.signed_headers(body)
    tampered = body.replace(b'"COMPLETED"', b'"COMPLETED" ')
    with caplog.at_level(logging.WARNING, logger="orders.payments"):
        status, answer = deliver(payu.orders[order_id].body["notifyUrl"], tampered, headers)
    assert status == 403 and json.loads(answer) == {"error": "invalid signature"}
    assert "invalid signature" in caplog.text and not paid(order, payment)


def test_signed_with_the_wrong_key_is_forged(started, payu, deliver):
    order, payment, _, order_id = started
    body = payu.notification_body(order_id, "COMPLETED")
    status, _ = deliver(WEBHOOK, body, payu.signed_headers(body, key="guess"))
    assert status == 403 and not paid(order, payment)


@pytest.mark.parametrize("header", ["", "sender=checkout;algorithm=MD5", "signature=abc;algorithm=CRC32"])
def test_missing_or_malformed_signature_header_is_400(started, payu, deliver, header):
    order, payment, _, order_id = started
    body = payu.notification_body(order_id, "COMPLETED")
    status, _ = deliver(WEBHOOK, body, {"Content-Type": "application/json", "OpenPayu-Signature": header})
    assert status == 400 and not paid(order, payment)


def test_amount_mismatch_is_logged_and_not_paid(started, payu, deliver):
    order, payment, _, order_id = started
    body = payu.notification_body(order_id, "COMPLETED", totalAmount="100")
    status, answer = deliver(WEBHOOK, body, payu.signed_headers(body))
    assert status == 400 and "amount" in json.loads(answer)["error"] and not paid(order, payment)
    assert PaymentNotification.objects.filter(provider="payu", outcome="amount mismatch").exists()


def test_another_orders_id_for_our_reference_is_rejected(started, payu, deliver):
    order, payment, _, order_id = started
    body = payu.notification_body(order_id, "COMPLETED", orderId="SOMEONEELSE")
    status, _ = deliver(WEBHOOK, body, payu.signed_headers(body))
    assert status == 400 and not paid(order, payment)


def test_unknown_order_gets_404_json(started, payu, deliver):
    _, _, _, order_id = started
    body = payu.notification_body(order_id, "COMPLETED", extOrderId="PNOSUCH")
    status, answer = deliver(WEBHOOK, body, payu.signed_headers(body))
    assert status == 404 and json.loads(answer) == {"error": "unknown payment"}


# --- faults on create ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [FakeResponse(500, b"oops"), FakeResponse(200, b"{}", delay=1.5)])
def test_gateway_down_or_slow_on_create_gives_a_clear_error_and_the_order_waits(
    store, account, payu, settings, answer
):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.5
    order, payment = place_online_order(store, "payu")
    payu.fail_with = answer
    with pytest.raises(PaymentGatewayError, match="try again"):
        services.start_payment(order=order, payment=payment)
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    payu.fail_with = None
    assert services.start_payment(order=order, payment=payment).redirect_url.startswith(payu.url)


def test_bad_client_secret_is_a_clear_error(store, account, payu):
    account.set_secrets(client_secret="wrong")
    account.save()
    order, payment = place_online_order(store, "payu")
    with pytest.raises(PaymentGatewayError, match="credentials"):
        services.start_payment(order=order, payment=payment)


# --- refunds ------------------------------------------------------------------------------------


@pytest.fixture
def paid_order(started, payu, deliver):
    order, payment, _, order_id = started
    assert payu.notify(order_id, "COMPLETED", deliver)[0] == 200
    payment.refresh_from_db()
    return order, payment, order_id


def test_partial_and_full_refund_round_trip(paid_order, payu, deliver):
    order, payment, order_id = paid_order
    refund = refund_payment(payment=payment, amount=Decimal("37.99"), reason="zwrot")
    sent = json.loads(payu.calls("POST", "/refunds")[0].body)
    assert sent == {
        "refund": {
            "description": "zwrot",
            "amount": "3799",
            "extRefundId": refund.reference,
            "currencyCode": "PLN",
        }
    }
    assert refund.status == PaymentRefund.Status.PENDING and refund.gateway_reference == "50000001"
    assert payu.notify_refund(order_id, deliver)[0] == 200
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
    assert payu.notify_refund(order_id, deliver)[0] == 200  # duplicate
    rest = refund_payment(payment=payment)
    assert rest.amount == Decimal("100.00")
    assert payu.notify_refund(order_id, deliver)[0] == 200
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED and payment.status == Payment.Status.REFUNDED


def test_a_refund_the_gateway_refuses_is_recorded_failed(paid_order, payu):
    _, payment, order_id = paid_order
    payu.orders[order_id].status = "CANCELED"  # PayU now refuses any refund
    refund = refund_payment(payment=payment, amount=Decimal("1.00"))
    assert refund.status == PaymentRefund.Status.FAILED and "not completed" in refund.message


def test_lookup_and_test_connection(paid_order, account, payu):
    _, payment, _ = paid_order
    looked = get_provider("payu").lookup(payment)
    assert looked.status == Payment.Status.PAID and looked.amount == payment.amount
    assert get_provider("payu").test_connection(account).ok
    account.set_secrets(client_secret="wrong")
    assert not get_provider("payu").test_connection(account).ok
