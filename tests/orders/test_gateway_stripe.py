"""Stripe Checkout against the fake Stripe API: session create, Stripe-Signature verification
(known vectors, 300 s tolerance, replays), fulfilment on checkout.session.completed, refunds."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from decimal import Decimal

import pytest
from django.utils import translation

from orders import services
from orders.models import Order, Payment, PaymentRefund
from orders.payments import get_provider
from orders.payments.base import PaymentGatewayError
from orders.payments.refunds import refund_payment
from orders.payments.stripe_checkout import compute_signature, verify_signature
from tests.fakes.http_server import FakeResponse
from tests.fakes.przelewy24 import django_deliver
from tests.fakes.stripe import FakeStripe
from tests.orders.gateway_checkout import gateway_account, isolate_cache, place_online_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
WEBHOOK = "/platnosc/webhook/stripe/"

# --- signature: known-good vectors --------------------------------------------------------------

PAYLOAD = b'{"id":"evt_1","type":"checkout.session.completed"}'
VECTOR = "749721cbedbfa4cc1aa6c9c2bec1edd93766a07906c9d9b3dbc7626e4e660caf"  # openssl dgst -hmac


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    documented = hmac.new(b"whsec_test", b"1700000000." + PAYLOAD, hashlib.sha256).hexdigest()
    assert compute_signature(PAYLOAD, 1700000000, "whsec_test") == documented == VECTOR


def test_verify_accepts_any_v1_within_tolerance_and_rejects_the_rest():
    header = f"t=1700000000,v1=deadbeef,v1={VECTOR},v0=ignored"
    assert verify_signature(PAYLOAD, header, "whsec_test", tolerance=300, now=1700000299) == VECTOR
    assert verify_signature(PAYLOAD, header, "whsec_test", tolerance=300, now=1699999701) == VECTOR
    with pytest.raises(ValueError, match="tolerance"):
        verify_signature(PAYLOAD, header, "whsec_test", tolerance=300, now=1700000301)
    with pytest.raises(ValueError, match="invalid signature"):
        verify_signature(PAYLOAD + b" ", header, "whsec_test", tolerance=300, now=1700000000)
    with pytest.raises(ValueError, match="invalid signature"):  # the timestamp is signed too
        verify_signature(PAYLOAD, f"t=1700000001,v1={VECTOR}", "whsec_test", tolerance=300, now=1700000000)
    with pytest.raises(ValueError, match="malformed"):
        verify_signature(PAYLOAD, f"v1={VECTOR}", "whsec_test", tolerance=300, now=1700000000)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def stripe(settings):
    isolate_cache(settings)
    with FakeStripe() as fake:
        settings.STRIPE_API_URL = fake.url
        yield fake


@pytest.fixture
def account(store, stripe):
    return gateway_account(
        store,
        "stripe_checkout",
        config={},
        secrets={"secret_key": stripe.secret_key, "webhook_secret": stripe.webhook_secret},
    )


@pytest.fixture
def started(store, account, stripe):
    order, payment = place_online_order(store, "stripe_checkout")
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


def test_shopper_pays_end_to_end_and_the_order_is_paid_exactly_once(started, stripe, deliver):
    order, payment, start, session_id = started
    assert start.redirect_url == f"{stripe.url}/c/pay/{session_id}"
    request = stripe.calls("POST", "/v1/checkout/sessions")[0]
    assert request.headers["idempotency-key"] == payment.reference
    session = stripe.sessions[session_id]
    assert session["client_reference_id"] == payment.reference and session["amount_total"] == 13799
    assert session["currency"] == "pln" and session["metadata"]["payment_reference"] == payment.reference

    obj = stripe.complete(session_id)
    status, body = stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj)
    assert status == 200 and json.loads(body) == {"ok": True, "changed": True}
    assert paid(order, payment) and payment.gateway_reference == obj["payment_intent"]
    status, body = stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj)  # a retry, signed anew
    assert status == 200 and json.loads(body)["changed"] is False
    assert order.status_changes.filter(to_status=Order.Status.PAID).count() == 1


def test_start_twice_creates_one_session(started, stripe):
    _order, payment, start, _ = started
    assert get_provider("stripe_checkout").start(payment).redirect_url == start.redirect_url
    assert len(stripe.sessions) == 1


def test_completed_but_unpaid_waits_for_the_async_result(started, stripe, deliver):
    order, payment, _, session_id = started
    obj = stripe.complete(session_id, payment_status="unpaid")
    assert stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj)[0] == 200
    assert not paid(order, payment)
    obj["payment_status"] = "paid"
    assert stripe.send(deliver, WEBHOOK, "checkout.session.async_payment_succeeded", obj)[0] == 200
    assert paid(order, payment)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("checkout.session.expired", Payment.Status.EXPIRED),
        ("checkout.session.async_payment_failed", "failed"),
    ],
)
def test_expired_or_failed_sessions_fail_the_attempt(started, stripe, deliver, kind, status):
    order, payment, _, session_id = started
    assert stripe.send(deliver, WEBHOOK, kind, stripe.sessions[session_id])[0] == 200
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == status and order.status == Order.Status.AWAITING_PAYMENT


def test_other_events_are_acknowledged_and_ignored(started, stripe, deliver):
    order, payment, _, _ = started
    status, body = stripe.send(deliver, WEBHOOK, "customer.created", {"id": "cus_1"})
    assert status == 200 and json.loads(body)["changed"] is False and not paid(order, payment)


# --- forged, stale, replayed, mismatched -----------------------------------------------------------


def test_tampered_body_is_rejected_and_logged(started, stripe, deliver, caplog):
    order, payment, _, session_id = started
    body = stripe.event("checkout.session.completed", stripe.complete(session_id))
    headers = stripe.headers(body)
    with caplog.at_level(logging.WARNING, logger="orders.payments"):
        status, answer = deliver(WEBHOOK, body.replace(b'"paid"', b'"paid" '), headers)
    assert status == 400 and json.loads(answer) == {"error": "invalid signature"}
    assert "invalid signature" in caplog.text and not paid(order, payment)


def test_wrong_secret_is_forged(started, stripe, deliver):
    order, payment, _, session_id = started
    obj = stripe.complete(session_id)
    assert stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj, secret="whsec_guess")[0] == 400
    assert not paid(order, payment)


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_stale_or_future_timestamps_are_rejected(started, stripe, deliver, age):
    order, payment, _, session_id = started
    obj = stripe.complete(session_id)
    ts = int(time.time()) - age
    status, answer = stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj, timestamp=ts)
    assert status == 400 and "tolerance" in json.loads(answer)["error"] and not paid(order, payment)


def test_within_tolerance_is_accepted(started, stripe, deliver):
    order, payment, _, session_id = started
    obj = stripe.complete(session_id)
    ts = int(time.time()) - 290
    assert stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj, timestamp=ts)[0] == 200
    assert paid(order, payment)


def test_the_very_same_signed_message_twice_is_a_replay(started, stripe, deliver):
    _order, _payment, _, session_id = started
    body = stripe.event("checkout.session.expired", stripe.sessions[session_id])
    headers = stripe.headers(body)
    assert deliver(WEBHOOK, body, headers)[0] == 200
    status, answer = deliver(WEBHOOK, body, headers)
    assert status == 400 and json.loads(answer) == {"error": "replayed notification"}


def test_amount_mismatch_is_not_paid(started, stripe, deliver):
    order, payment, _, session_id = started
    obj = {**stripe.complete(session_id), "amount_total": 100}
    status, answer = stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj)
    assert status == 400 and "amount" in json.loads(answer)["error"] and not paid(order, payment)


def test_unknown_reference_gets_404_json(started, stripe, deliver):
    obj = {**stripe.complete(started[3]), "client_reference_id": "PNOSUCH"}
    status, answer = stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj)
    assert status == 404 and json.loads(answer) == {"error": "unknown payment"}


def test_another_session_for_our_reference_is_rejected(started, stripe, deliver):
    order, payment, _, session_id = started
    obj = {**stripe.complete(session_id), "id": "cs_test_other"}
    assert stripe.send(deliver, WEBHOOK, "checkout.session.completed", obj)[0] == 400
    assert not paid(order, payment)


# --- faults on create ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [FakeResponse(502, b"bad gateway"), FakeResponse(200, b"{}", delay=1.5)])
def test_gateway_down_or_slow_gives_a_clear_error_and_the_order_waits(
    store, account, stripe, settings, answer
):
    settings.PAYMENT_GATEWAY_TIMEOUT_SECONDS = 0.5
    order, payment = place_online_order(store, "stripe_checkout")
    stripe.fail_with = answer
    with pytest.raises(PaymentGatewayError, match="try again"):
        services.start_payment(order=order, payment=payment)
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    stripe.fail_with = None
    assert services.start_payment(order=order, payment=payment).redirect_url.startswith(stripe.url)


# --- refunds, lookup, test connection -------------------------------------------------------------


@pytest.fixture
def paid_order(started, stripe, deliver):
    order, payment, _, session_id = started
    assert stripe.send(deliver, WEBHOOK, "checkout.session.completed", stripe.complete(session_id))[0] == 200
    payment.refresh_from_db()
    return order, payment


def test_partial_and_full_refund_round_trip(paid_order, stripe):
    order, payment = paid_order
    first = refund_payment(payment=payment, amount=Decimal("13.99"))
    assert first.status == PaymentRefund.Status.SUCCEEDED and first.gateway_reference.startswith("re_")
    sent = stripe.calls("POST", "/v1/refunds")[0]
    assert sent.headers["idempotency-key"] == first.reference
    assert (
        stripe.refunds[0]["amount"] == 1399
        and stripe.refunds[0]["payment_intent"] == payment.gateway_reference
    )
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
    rest = refund_payment(payment=payment)
    assert rest.amount == Decimal("124.00") and rest.status == PaymentRefund.Status.SUCCEEDED
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED and payment.status == Payment.Status.REFUNDED


def test_lookup_and_test_connection(paid_order, account, stripe):
    _, payment = paid_order
    assert get_provider("stripe_checkout").lookup(payment).status == Payment.Status.PAID
    provider = get_provider("stripe_checkout")
    assert provider.test_connection(account).ok
    account.is_sandbox = False  # a test key in production mode is a mistake worth saying
    assert not provider.test_connection(account).ok
    account.is_sandbox = True
    account.set_secrets(secret_key="sk_test_wrong")
    with translation.override("en"):  # the webhook request above left Polish active
        check = provider.test_connection(account)
    assert not check.ok and "rejected" in check.message
