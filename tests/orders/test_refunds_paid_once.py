"""A refund is paid out once, whatever the network does (PayU and Przelewy24 fakes).

The story from the review: a refund's answer is lost, the retry resends the same reference, the
gateway answers "duplicate", the shop marked the refund failed and sent a second one under a new
reference; the later FINALIZED notification of the first was then ignored. A "duplicate" answer
now means the first refund exists: it is looked up, never sent again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order, Payment, PaymentRefund
from orders.payments.refunds import refund_cancelled_order, refund_payment, refund_settled
from tests.fakes.http_server import FakeResponse
from tests.fakes.payu import FakePayU
from tests.fakes.przelewy24 import FakePrzelewy24, django_deliver
from tests.orders.gateway_checkout import gateway_account, isolate_cache, place_online_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]


@pytest.fixture
def deliver(client):
    return django_deliver(client)


@pytest.fixture
def payu(settings, store):
    isolate_cache(settings)
    with FakePayU() as fake:
        settings.PAYU_SANDBOX_URL = fake.url
        settings.PAYU_URL = "http://127.0.0.1:9"
        gateway_account(
            store,
            "payu",
            config={"pos_id": fake.pos_id, "client_id": fake.client_id},
            secrets={"client_secret": fake.client_secret, "second_key": fake.second_key},
        )
        yield fake


@pytest.fixture
def p24(settings, store):
    isolate_cache(settings)
    with FakePrzelewy24() as fake:
        settings.PRZELEWY24_SANDBOX_URL = fake.url
        settings.PRZELEWY24_URL = "http://127.0.0.1:9"
        gateway_account(
            store,
            "przelewy24",
            config={"merchant_id": fake.merchant_id, "pos_id": fake.pos_id},
            secrets={"api_key": fake.api_key, "crc": fake.crc},
        )
        yield fake


@pytest.fixture
def payu_paid(store, payu, deliver):
    order, payment = place_online_order(store, "payu")
    services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    assert payu.notify(payment.gateway_reference, "COMPLETED", deliver)[0] == 200
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    return order, payment


@pytest.fixture
def p24_paid(store, p24, deliver):
    order, payment = place_online_order(store, "przelewy24")
    services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    token = p24.token_for(payment.reference)
    p24.pay(token)
    assert p24.notify(token, deliver)[0] == 200
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    return order, payment, token


def cancel(order: Order, settings) -> Order:
    settings.ORDERS_AUTO_REFUND_CANCELLATIONS = False  # the test drives the refund step by step
    services.change_status(order=order, status=Order.Status.CANCELLED)
    order.refresh_from_db()
    return order


def paid_out(fake_order) -> int:
    """Grosze PayU has given back (or is giving back) for one of its orders."""
    return sum(int(r["amount"]) for r in fake_order.refunds if r["status"] != "CANCELED")


# --- PayU ---------------------------------------------------------------------------------------


def test_payu_duplicate_of_a_refund_already_finalized_completes_it(payu_paid, payu):
    _, payment = payu_paid
    payu.lose_refund_answers = 1
    with pytest.raises(Exception):  # noqa: B017 - the gateway's 504 reaches the caller
        refund_payment(payment=payment, amount=Decimal("10.00"))
    refund = PaymentRefund.objects.get(payment=payment)
    payu.orders[payment.gateway_reference].refunds[0]["status"] = "FINALIZED"  # PayU paid it meanwhile
    from orders.payments.refunds import resend_unconfirmed_refund

    refund = resend_unconfirmed_refund(refund=refund)
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    assert len(payu.orders[payment.gateway_reference].refunds) == 1


def test_payu_lookup_unreachable_leaves_the_refund_pending_not_failed(payu_paid, payu, settings):
    order, payment = payu_paid
    order = cancel(order, settings)
    payu.lose_refund_answers = 1
    assert refund_cancelled_order(order=order).retry
    refund = PaymentRefund.objects.get(order=order)
    original = payu._get
    payu.server.routes[("GET", "/api/v2_1/orders/")] = payu._guarded(
        lambda r: FakeResponse(503, b"{}") if r.path.endswith("/refunds") else original(r), authenticated=True
    )
    outcome = refund_cancelled_order(order=order)  # duplicate, then the look-up fails: unknown
    assert outcome.retry
    refund.refresh_from_db()
    assert refund.status == PaymentRefund.Status.PENDING and refund.gateway_reference == ""
    assert len(payu.orders[payment.gateway_reference].refunds) == 1


def test_a_late_finalized_notification_completes_a_refund_marked_failed(payu_paid, payu, deliver):
    order, payment = payu_paid
    refund = refund_payment(payment=payment, amount=Decimal("10.00"))
    assert refund.status == PaymentRefund.Status.PENDING
    # the shop thought it failed (an older version, or an operator): PayU has the last word
    PaymentRefund.objects.filter(pk=refund.pk).update(status=PaymentRefund.Status.FAILED)
    assert payu.notify_refund(payment.gateway_reference, deliver)[0] == 200
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
    assert refund_settled(refund=refund, ok=True) is False  # once
    assert refund_settled(refund=refund, ok=False) is False  # a late CANCELED changes nothing now


def test_a_late_canceled_notification_does_not_revive_a_failed_refund(payu_paid, payu, deliver):
    _, payment = payu_paid
    refund = refund_payment(payment=payment, amount=Decimal("10.00"))
    PaymentRefund.objects.filter(pk=refund.pk).update(status=PaymentRefund.Status.FAILED)
    assert refund_settled(refund=refund, ok=False) is False
    refund.refresh_from_db()
    assert refund.status == PaymentRefund.Status.FAILED


# --- Przelewy24 ---------------------------------------------------------------------------------


def test_p24_fake_refuses_a_repeated_refunds_uuid_and_pays_nothing_again(p24_paid, p24):
    _, payment, token = p24_paid
    refund = refund_payment(payment=payment, amount=Decimal("10.00"))
    trn = p24.transactions[token]
    assert trn.refunded == 1000
    import httpx

    body = {
        "requestId": refund.reference,
        "refundsUuid": refund.reference[:35],
        "refunds": [{"orderId": trn.order_id, "sessionId": payment.reference, "amount": 1000}],
    }
    answer = httpx.post(
        f"{p24.url}/api/v1/transaction/refund", json=body, auth=(str(p24.pos_id), p24.api_key)
    )
    assert answer.status_code == 409 and answer.json()["code"] == 409
    assert trn.refunded == 1000 and len(trn.refunds) == 1
    listed = httpx.get(
        f"{p24.url}/api/v1/refund/by/orderId/{trn.order_id}", auth=(str(p24.pos_id), p24.api_key)
    )
    assert [r["requestId"] for r in listed.json()["data"]["refunds"]] == [refund.reference]


# --- both gateways: the same story, each gateway's own "duplicate" answer ---------------------


class PayULedger:
    """What the test needs to ask the PayU fake (its duplicate answer: 400 Duplicated extRefundId)."""

    def __init__(self, fake, payment):
        self.fake, self.payment = fake, payment

    def lose_next_answer(self):
        self.fake.lose_refund_answers = 1

    def refund_posts(self):
        return [r.body for r in self.fake.calls("POST", "/refunds")]

    def lookups(self):
        return len(self.fake.calls("GET", "/refunds"))

    def paid_back(self):
        return len(self.fake.orders[self.payment.gateway_reference].refunds), paid_out(
            self.fake.orders[self.payment.gateway_reference]
        )

    def refuse_everything(self):
        self.fake.orders[self.payment.gateway_reference].status = "CANCELED"

    def notify_refund(self, deliver):
        return self.fake.notify_refund(self.payment.gateway_reference, deliver)


class P24Ledger:
    """The same questions for the Przelewy24 fake (its duplicate answer: 409 for a repeated refundsUuid)."""

    def __init__(self, fake, payment, token):
        self.fake, self.payment, self.token = fake, payment, token

    def lose_next_answer(self):
        self.fake.lose_refund_answers = 1

    def refund_posts(self):
        return [r.body for r in self.fake.calls("/transaction/refund")]

    def lookups(self):
        return len(self.fake.calls("/refund/by/orderId/" + self.payment.gateway_reference))

    def paid_back(self):
        trn = self.fake.transactions[self.token]
        return len(trn.refunds), trn.refunded

    def refuse_everything(self):
        self.fake.transactions[self.token].verified = False

    def notify_refund(self, deliver):
        return self.fake.notify_refund(self.token, deliver)


@pytest.fixture(params=["payu", "przelewy24"])
def paid(request):
    """A paid order at either gateway, with a ledger that asks that gateway's fake."""
    if request.param == "payu":
        order, payment = request.getfixturevalue("payu_paid")
        return order, payment, PayULedger(request.getfixturevalue("payu"), payment)
    order, payment, token = request.getfixturevalue("p24_paid")
    return order, payment, P24Ledger(request.getfixturevalue("p24"), payment, token)


def test_lost_answer_then_duplicate_is_looked_up_and_paid_once(paid, deliver, settings):
    order, _, gateway = paid
    order = cancel(order, settings)
    gateway.lose_next_answer()  # the gateway makes the refund, the answer never arrives

    first = refund_cancelled_order(order=order)
    assert first.retry
    refund = PaymentRefund.objects.get(order=order)
    assert refund.status == PaymentRefund.Status.PENDING and refund.gateway_reference == ""

    second = refund_cancelled_order(order=order)  # the task's retry: same reference, "duplicate"
    assert not second.retry and not second.error
    refund.refresh_from_db()
    assert refund.status == PaymentRefund.Status.PENDING  # found at the gateway, not failed
    assert refund.gateway_reference
    sent = gateway.refund_posts()
    assert len(sent) == 2 and sent[0] == sent[1]  # the same request twice, nothing new
    assert gateway.lookups() == 1

    assert refund_cancelled_order(order=order).refunds == []  # running again sends nothing
    assert PaymentRefund.objects.filter(order=order).count() == 1
    assert gateway.paid_back() == (1, int(order.total * 100))

    assert gateway.notify_refund(deliver)[0] == 200
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == PaymentRefund.Status.SUCCEEDED
    assert order.payment_status == Order.PaymentStatus.REFUNDED


def test_a_real_refusal_is_failed_after_the_lookup(paid):
    _, payment, gateway = paid
    gateway.refuse_everything()  # the gateway refuses any refund now
    refund = refund_payment(payment=payment, amount=Decimal("1.00"))
    assert refund.status == PaymentRefund.Status.FAILED
    assert gateway.lookups() == 1  # it checked that nothing was made under our reference first
