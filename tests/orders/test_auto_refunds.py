"""Refunds that start by themselves: an accepted return or a cancelled paid order gives the money
back through the order's gateway (Stripe and PayU fakes), exactly once, even when the gateway's
answer is lost, a task is lost with the broker, or the gateway says no; and the admin's refund page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.urls import reverse

from orders import returns, services, tasks
from orders.models import Order, Payment, PaymentRefund, Return
from orders.payments.refunds import refund_accepted_return
from tests.catalog.factories import VariantFactory
from tests.fakes.http_server import FakeResponse
from tests.fakes.payu import FakePayU
from tests.fakes.przelewy24 import django_deliver
from tests.fakes.stripe import FakeStripe
from tests.orders.factories_after_sales import make_order
from tests.orders.gateway_checkout import gateway_account, isolate_cache, place_online_order
from tests.shop.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
STRIPE_WEBHOOK = "/platnosc/webhook/stripe/"


@pytest.fixture
def stripe(settings, store):
    isolate_cache(settings)
    with FakeStripe() as fake:
        settings.STRIPE_API_URL = fake.url
        gateway_account(
            store,
            "stripe_checkout",
            config={},
            secrets={"secret_key": fake.secret_key, "webhook_secret": fake.webhook_secret},
        )
        yield fake


@pytest.fixture
def stripe_paid(store, stripe, client):
    """An order of 2 × 61.50 (+ shipping) paid through the Stripe fake."""
    order, payment = place_online_order(store, "stripe_checkout")
    services.start_payment(order=order, payment=payment)
    payment.refresh_from_db()
    status, _ = stripe.send(
        django_deliver(client),
        STRIPE_WEBHOOK,
        "checkout.session.completed",
        stripe.complete(payment.gateway_reference),
    )
    assert status == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def ship(order: Order) -> Order:
    services.change_status(order=order, status=Order.Status.PACKED)
    services.change_status(order=order, status=Order.Status.SHIPPED)
    return order


def return_one_unit(order: Order) -> Return:
    line = order.lines.get()
    return returns.request_return(order=order, items={line.pk: 1}, reason=Return.Reason.WITHDRAWAL)


def accept(ret: Return, capture) -> Return:
    with capture(execute=True):
        returns.accept_return(return_request=ret)
    ret.refresh_from_db()
    return ret


# --- accepted returns ----------------------------------------------------------------------------


def test_an_accepted_return_is_refunded_through_the_gateway_and_closed(
    stripe_paid, stripe, django_capture_on_commit_callbacks
):
    order = ship(stripe_paid)
    ret = accept(return_one_unit(order), django_capture_on_commit_callbacks)

    assert ret.refund_amount == Decimal("61.50")  # one of the two units; shipping stays
    refund = PaymentRefund.objects.get(order=order)
    assert refund.source == PaymentRefund.Source.RETURN and refund.return_request_id == ret.pk
    assert refund.amount == Decimal("61.50") and refund.status == PaymentRefund.Status.SUCCEEDED
    assert [r["amount"] for r in stripe.refunds] == [6150]
    assert ret.status == Return.Status.REFUNDED and ret.refunded_at is not None
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED


def test_the_refund_task_run_again_gives_nothing_back_twice(
    stripe_paid, stripe, django_capture_on_commit_callbacks
):
    ret = accept(return_one_unit(ship(stripe_paid)), django_capture_on_commit_callbacks)
    tasks.refund_return.apply(args=[ret.pk])
    refund_accepted_return(return_request=ret)
    assert len(stripe.refunds) == 1 and PaymentRefund.objects.filter(return_request=ret).count() == 1


def test_a_lost_answer_is_asked_again_with_the_same_reference_and_money_goes_back_once(
    stripe_paid, stripe, settings
):
    settings.ORDERS_AUTO_REFUND_RETURNS = False  # drive the service by hand, step by step
    order = ship(stripe_paid)
    ret = return_one_unit(order)
    returns.accept_return(return_request=ret)
    stripe.lose_answers = 1  # Stripe makes the refund, the answer never arrives

    first = refund_accepted_return(return_request=ret)
    assert (first.retry and "unreachable" in first.error.lower()) or first.retry
    pending = PaymentRefund.objects.get(return_request=ret)
    assert pending.status == PaymentRefund.Status.PENDING and pending.gateway_reference == ""
    assert len(stripe.refunds) == 1  # the money did go

    second = refund_accepted_return(return_request=ret)  # the task's retry
    assert not second.retry
    pending.refresh_from_db()
    assert pending.status == PaymentRefund.Status.SUCCEEDED and pending.gateway_reference.startswith("re_")
    keys = [r.headers["idempotency-key"] for r in stripe.calls("POST", "/v1/refunds")]
    assert keys == [pending.reference, pending.reference]
    assert len(stripe.refunds) == 1  # Stripe replayed its first answer: one refund, not two
    ret.refresh_from_db()
    assert ret.status == Return.Status.REFUNDED


def test_the_task_asks_for_a_retry_while_the_gateway_is_unreachable(stripe_paid, stripe, settings):
    settings.ORDERS_AUTO_REFUND_RETURNS = False
    ret = return_one_unit(ship(stripe_paid))
    returns.accept_return(return_request=ret)
    stripe.lose_answers = 1
    with pytest.raises(Retry):
        tasks.refund_return.apply(args=[ret.pk])
    stripe.fail_with = FakeResponse(503, b'{"error": {"type": "api_error", "message": "down"}}')
    with pytest.raises(Retry):  # the worker's retry; the gateway is still down
        tasks.refund_return.apply(args=[ret.pk])
    stripe.fail_with = None
    assert tasks.refund_return.apply(args=[ret.pk]).get() == "0 refund(s)"  # the first one, confirmed
    refund = PaymentRefund.objects.get(return_request=ret)
    assert refund.status == PaymentRefund.Status.SUCCEEDED and len(stripe.refunds) == 1
    assert len(stripe.calls("POST", "/v1/refunds")) == 3
    ret.refresh_from_db()
    assert ret.status == Return.Status.REFUNDED


def test_a_refund_the_gateway_refuses_is_left_to_staff_with_a_note(
    stripe_paid, stripe, django_capture_on_commit_callbacks
):
    ret = return_one_unit(ship(stripe_paid))
    stripe.fail_with = FakeResponse(
        402,
        b'{"error": {"type": "card_error", "message": "charge disputed"}}',
        {"Content-Type": "application/json"},
    )
    ret = accept(ret, django_capture_on_commit_callbacks)
    refund = PaymentRefund.objects.get(return_request=ret)
    assert refund.status == PaymentRefund.Status.FAILED and ret.status == Return.Status.ACCEPTED
    assert "Automatic refund for return" in ret.order.notes.latest("pk").text
    stripe.fail_with = None
    tasks.sweep_refunds()  # the sweep does not retry a refusal on its own
    assert PaymentRefund.objects.filter(return_request=ret).count() == 1 and not stripe.refunds


def test_a_refund_task_lost_with_the_broker_is_started_by_the_sweep(
    stripe_paid, stripe, monkeypatch, django_capture_on_commit_callbacks
):
    from shop import events

    monkeypatch.setattr(events, "safe_delay", lambda *a, **k: False)  # the broker is down
    ret = accept(return_one_unit(ship(stripe_paid)), django_capture_on_commit_callbacks)
    assert not PaymentRefund.objects.exists()
    assert tasks.sweep_refunds() == 1
    ret.refresh_from_db()
    assert ret.status == Return.Status.REFUNDED and len(stripe.refunds) == 1
    assert tasks.sweep_refunds() == 0 and len(stripe.refunds) == 1


def test_no_automatic_refund_when_the_merchant_turned_it_off(
    stripe_paid, stripe, settings, django_capture_on_commit_callbacks
):
    settings.ORDERS_AUTO_REFUND_RETURNS = False
    ret = accept(return_one_unit(ship(stripe_paid)), django_capture_on_commit_callbacks)
    tasks.sweep_refunds()
    assert ret.status == Return.Status.ACCEPTED and not stripe.refunds


def test_a_return_of_an_order_paid_by_transfer_is_explained_not_attempted(
    store, django_capture_on_commit_callbacks
):
    variant = VariantFactory(store=store, price=Decimal("80.00"), stock=5)
    order = make_order(store=store, lines=[(variant, 1)], payment_provider="bank_transfer")
    Payment.objects.create(
        order=order, provider="bank_transfer", amount=order.total, status=Payment.Status.PAID
    )
    ret = returns.request_return(
        order=order,
        items={order.lines.get().pk: 1},
        reason=Return.Reason.WITHDRAWAL,
        bank_account="PL61109010140000071219812874",
    )
    ret = accept(ret, django_capture_on_commit_callbacks)
    refund_accepted_return(return_request=ret)
    assert not PaymentRefund.objects.exists() and ret.status == Return.Status.ACCEPTED
    note = order.notes.latest("pk").text
    assert "cannot be refunded through a gateway" in note and "PL61109010140000071219812874" in note


# --- cancellations -------------------------------------------------------------------------------


def test_a_paid_order_cancelled_is_refunded_in_full(stripe_paid, stripe, django_capture_on_commit_callbacks):
    order = stripe_paid
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(order=order, status=Order.Status.CANCELLED)
    refund = PaymentRefund.objects.get(order=order)
    assert refund.source == PaymentRefund.Source.CANCELLATION and refund.amount == order.total
    assert [r["amount"] for r in stripe.refunds] == [int(order.total * 100)]
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert "refund started" in order.notes.order_by("pk").first().text


def test_a_cancellation_refund_is_pending_until_payu_confirms(
    store, settings, client, django_capture_on_commit_callbacks
):
    isolate_cache(settings)
    with FakePayU() as payu:
        settings.PAYU_SANDBOX_URL = payu.url
        gateway_account(
            store,
            "payu",
            config={"pos_id": payu.pos_id, "client_id": payu.client_id},
            secrets={"client_secret": payu.client_secret, "second_key": payu.second_key},
        )
        order, payment = place_online_order(store, "payu")
        services.start_payment(order=order, payment=payment)
        payment.refresh_from_db()
        deliver = django_deliver(client)
        assert payu.notify(payment.gateway_reference, "COMPLETED", deliver)[0] == 200
        with django_capture_on_commit_callbacks(execute=True):
            services.change_status(order=order, status=Order.Status.CANCELLED)
        refund = PaymentRefund.objects.get(order=order)
        assert refund.status == PaymentRefund.Status.PENDING and refund.amount == order.total
        assert payu.notify_refund(payment.gateway_reference, deliver)[0] == 200
        refund.refresh_from_db()
        order.refresh_from_db()
        assert refund.status == PaymentRefund.Status.SUCCEEDED
        assert order.payment_status == Order.PaymentStatus.REFUNDED
        tasks.refund_cancelled_order.apply(args=[order.pk])  # again: nothing more
        assert len(payu.calls("POST", "/refunds")) == 1


def test_cancelling_an_unpaid_order_refunds_nothing(store, stripe, django_capture_on_commit_callbacks):
    order, _ = place_online_order(store, "stripe_checkout")
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(order=order, status=Order.Status.CANCELLED)
    assert not PaymentRefund.objects.exists() and not stripe.calls("POST", "/v1/refunds")


# --- the admin's refund page ----------------------------------------------------------------------


@pytest.fixture
def client(client):
    client.cookies["django_language"] = "en"
    return client


def refunder():
    from django.contrib.auth.models import Permission

    user = StaffFactory()
    user.user_permissions.add(
        Permission.objects.get(codename="view_order"),
        Permission.objects.get(codename="change_order"),
        Permission.objects.get(codename="add_paymentrefund"),
    )
    return user


def test_staff_without_the_refund_permission_cannot_refund(stripe_paid, client):
    from django.contrib.auth.models import Permission

    clerk = StaffFactory()
    clerk.user_permissions.add(
        Permission.objects.get(codename="view_order"), Permission.objects.get(codename="change_order")
    )
    client.force_login(clerk)
    url = reverse("admin:orders_order_refund", args=[stripe_paid.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"amount": "10.00"}).status_code == 403
    page = client.get(reverse("admin:orders_order_change", args=[stripe_paid.pk]))
    assert url not in page.content.decode()


def test_a_partial_refund_from_the_admin(stripe_paid, stripe, client):
    client.force_login(refunder())
    change = reverse("admin:orders_order_change", args=[stripe_paid.pk])
    url = reverse("admin:orders_order_refund", args=[stripe_paid.pk])
    assert url in client.get(change).content.decode()
    page = client.get(url)
    assert page.status_code == 200 and str(stripe_paid.total) in page.content.decode()
    response = client.post(url, {"amount": "10.00", "reason": "porysowany"})
    assert response.status_code == 302 and response["Location"] == change
    refund = PaymentRefund.objects.get()
    assert refund.amount == Decimal("10.00") and refund.source == PaymentRefund.Source.MANUAL
    assert refund.reason == "porysowany" and stripe.refunds[0]["amount"] == 1000


@pytest.mark.parametrize(
    "amount, error",
    [
        ("abc", "Enter a number."),
        ("-5", "greater than or equal to 0.01"),
        ("0", "greater than or equal to 0.01"),
        ("1e9", "At most"),
        ("10.001", "no more than 2 decimal places"),
        ("9" * 400, "Ensure that there are no more than"),
    ],
)
def test_bad_amounts_are_refused_with_a_clear_error(stripe_paid, stripe, client, amount, error):
    client.force_login(refunder())
    response = client.post(reverse("admin:orders_order_refund", args=[stripe_paid.pk]), {"amount": amount})
    assert response.status_code == 200 and error in response.content.decode()
    assert not PaymentRefund.objects.exists() and not stripe.refunds


def test_more_than_was_paid_cannot_be_refunded_twice_over(stripe_paid, stripe, client):
    client.force_login(refunder())
    url = reverse("admin:orders_order_refund", args=[stripe_paid.pk])
    assert client.post(url, {}).status_code == 302  # empty amount: everything
    response = client.get(url)
    assert "Nothing on this order can be refunded" in response.content.decode()
    assert client.post(url, {"amount": "1.00"}).status_code == 200
    assert PaymentRefund.objects.count() == 1 and len(stripe.refunds) == 1
