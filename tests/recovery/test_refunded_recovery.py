"""A recovered order that is later refunded counts its revenue net of every completed refund
(zero when fully refunded) in the dashboard and the recovery report; the cart stays recovered.
Handled from the ``order.refunded`` event, idempotent and independent of the events' order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Payment, PaymentRefund, Return
from orders.payments.refunds import refund_settled
from recovery import services
from recovery.models import TrackedCart
from shop.models import Event
from tests.recovery.factories import make_order
from tests.recovery.test_attribution import deliver_events, figures, reminded

pytestmark = pytest.mark.django_db
D = Decimal


def recovered(store, total="150.00"):
    _cart, tracked, reminder = reminded(store)
    services.record_click(reminder_id=reminder.pk)
    order = make_order(store, email="anna@example.com", total=total, status="paid")
    payment = Payment.objects.create(order=order, provider="test_gateway", amount=order.total, status="paid")
    return tracked, order, payment


def settle(payment, amount):
    refund = PaymentRefund.objects.create(
        payment=payment, order=payment.order, amount=D(amount), currency="PLN", source="manual"
    )
    assert refund_settled(refund=refund, ok=True)
    return refund


def test_refunds_make_recovered_revenue_net_and_a_full_refund_leaves_none(store):
    tracked, order, payment = recovered(store)
    assert services.attribution.handle_order_placed(order_id=order.pk) == "after_click"
    settle(payment, "50.00")  # from the admin's refund page
    deliver_events()
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_revenue) == ("recovered", D("100.00"))
    d, total = figures(store)
    assert d.after_click_revenue == D("100.00") and total["recovered_revenue"] == D("100.00")
    # The rest comes back as a return refunded by bank transfer (no gateway refund).
    Return.objects.create(order=order, status=Return.Status.ACCEPTED, refund_amount=D("100.00"))
    from orders.returns import mark_refunded

    mark_refunded(return_request=Return.objects.get(order=order))
    deliver_events()
    tracked.refresh_from_db()
    assert (tracked.state, tracked.recovered_revenue) == ("recovered", D("0.00"))
    d, total = figures(store)
    assert (d.recovered, d.after_click_revenue, total["recovered_revenue"]) == (1, D("0.00"), D("0.00"))
    # Delivered again: nothing changes.
    assert services.attribution.handle_order_refunded(order_id=order.pk) == 0


def test_a_refund_handled_before_the_attribution_ends_the_same(store):
    tracked, order, payment = recovered(store)
    settle(payment, "30.00")
    refunded = Event.objects.get(type="order.refunded", payload__order_id=order.pk)
    from shop.events import deliver

    deliver(refunded.pk)  # nothing attributed yet: nothing to change
    assert services.attribution.handle_order_placed(order_id=order.pk) == "after_click"
    tracked.refresh_from_db()
    assert tracked.recovered_revenue == D("120.00")


def test_pending_or_failed_refunds_do_not_reduce_recovered_revenue(store):
    tracked, order, payment = recovered(store)
    services.attribution.handle_order_placed(order_id=order.pk)
    PaymentRefund.objects.create(payment=payment, order=order, amount=D("20.00"), currency="PLN")
    failed = PaymentRefund.objects.create(payment=payment, order=order, amount=D("10.00"), currency="PLN")
    refund_settled(refund=failed, ok=False)
    assert services.attribution.handle_order_refunded(order_id=order.pk) == 0
    assert TrackedCart.objects.get(pk=tracked.pk).recovered_revenue == D("150.00")
