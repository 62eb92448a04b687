"""Returns ("szybkie zwroty"): asking, validating, refund amounts, accepting (restock, emails,
order closes) and rejecting; the shopper's and the guest's pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from catalog.models import StockItem, StockMovement
from orders import returns
from orders.models import Order, OrderEmail, OrderStatusChange, Return, ReturnLine
from shop.models import Event
from tests.catalog.factories import DigitalVariantFactory, VariantFactory
from tests.orders.factories_after_sales import make_order, use_isolated_cache
from tests.shop.factories import StaffFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    use_isolated_cache(settings)


@pytest.fixture(autouse=True)
def _english():
    """Service messages are checked in English (the msgids); emails follow the order's language."""
    with translation.override("en"):
        yield


@pytest.fixture
def goods(store):
    shirt = VariantFactory(store=store, price=Decimal("100.00"), stock=10, product__name="Koszulka")
    mug = VariantFactory(store=store, price=Decimal("30.00"), stock=10, product__name="Kubek")
    return shirt, mug


def on_hand(variant) -> int:
    return sum(StockItem.objects.filter(variant=variant).values_list("quantity", flat=True))


def items(order, **by_sku):
    lines = {line.sku: line.pk for line in order.lines.all()}
    return {lines[sku]: qty for sku, qty in by_sku.items()}


# --- refund computation --------------------------------------------------------------------------


def test_refund_is_line_value_pro_rata_with_discount(store, goods):
    shirt, mug = goods
    # 2 × 100 + 1 × 30 = 230, voucher 23.00 spread 20.00 / 3.00
    order = make_order(store=store, lines=[(shirt, 2), (mug, 1)], discount=Decimal("23.00"))
    ret = returns.request_return(order=order, items=items(order, **{shirt.sku: 1}), reason="withdrawal")
    assert ret.refund_amount == Decimal("90.00")  # (200 - 20) / 2
    assert ret.lines.get().refund_amount == Decimal("90.00")


def test_last_units_take_the_remainder(store):
    pen = VariantFactory(store=store, price=Decimal("10.00"), stock=10)
    # 3 × 10 = 30 with 10.00 off -> 20.00 for 3 units: 6.67 + 6.67 + 6.66
    order = make_order(store=store, lines=[(pen, 3)], discount=Decimal("10.00"), shipping=Decimal("0"))
    line = order.lines.get()
    refunds = []
    for _ in range(3):
        ret = returns.request_return(order=order, items={line.pk: 1}, reason="withdrawal")
        refunds.append(ret.refund_amount)
    assert refunds == [Decimal("6.67"), Decimal("6.67"), Decimal("6.66")]
    assert sum(refunds) == line.total - line.discount


def test_shipping_is_refunded_only_on_a_full_return(store, goods):
    shirt, mug = goods
    order = make_order(store=store, lines=[(shirt, 1), (mug, 1)], shipping=Decimal("15.00"))
    partial = returns.request_return(order=order, items=items(order, **{shirt.sku: 1}), reason="withdrawal")
    assert partial.refund_amount == Decimal("100.00")
    rest = returns.request_return(order=order, items=items(order, **{mug.sku: 1}), reason="withdrawal")
    assert rest.refund_amount == Decimal("45.00")  # 30 + shipping 15


def test_undistributed_order_discount_is_spread(store, goods):
    shirt, mug = goods
    order = make_order(store=store, lines=[(shirt, 1), (mug, 1)], shipping=Decimal("0"))
    Order.objects.filter(pk=order.pk).update(discount_total=Decimal("13.00"), total=Decimal("117.00"))
    order.refresh_from_db()
    ret = returns.request_return(
        order=order, items=items(order, **{shirt.sku: 1, mug.sku: 1}), reason="other"
    )
    assert ret.refund_amount == Decimal("117.00")
    assert ret.lines.get(order_line__sku=shirt.sku).refund_amount == Decimal("90.00")  # 13 × 100/130 = 10


# --- validation --------------------------------------------------------------------------------------


def test_cannot_return_more_than_bought_or_twice(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 2)])
    line = order.lines.get()
    with pytest.raises(returns.ReturnError, match="at most 2"):
        returns.request_return(order=order, items={line.pk: 3}, reason="withdrawal")
    returns.request_return(order=order, items={line.pk: 2}, reason="withdrawal")
    # The same form submitted again: a clear error, nothing new.
    with pytest.raises(returns.ReturnError, match="already asked"):
        returns.request_return(order=order, items={line.pk: 2}, reason="withdrawal")
    assert Return.objects.count() == 1


def test_rejected_units_can_be_asked_for_again(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    line = order.lines.get()
    first = returns.request_return(order=order, items={line.pk: 1}, reason="damaged")
    returns.reject_return(return_request=first, note="Brak zdjęć uszkodzenia.")
    second = returns.request_return(
        order=order, items={line.pk: 1}, reason="damaged", comment="Zdjęcia w załączniku"
    )
    assert second.status == Return.Status.REQUESTED


def test_line_of_another_order_is_refused(store, goods):
    shirt, mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    other = make_order(store=store, lines=[(mug, 1)])
    with pytest.raises(returns.ReturnError, match="not part of this order"):
        returns.request_return(order=order, items={other.lines.get().pk: 1}, reason="withdrawal")


@pytest.mark.parametrize(
    "status", [Order.Status.NEW, Order.Status.PAID, Order.Status.PACKED, Order.Status.CANCELLED]
)
def test_only_shipped_or_delivered_orders(store, goods, status):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], status=status)
    with pytest.raises(returns.ReturnError, match="shipped or delivered"):
        returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")


def test_shipped_order_within_window_is_returnable(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], status=Order.Status.SHIPPED)
    assert returns.can_request_return(order)


def test_outside_the_window(store, goods, settings):
    settings.RETURN_WINDOW_DAYS = 14
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], delivered_days_ago=15)
    assert not returns.can_request_return(order)
    with pytest.raises(returns.ReturnError, match="14-day"):
        returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    settings.RETURN_WINDOW_DAYS = 30
    assert returns.can_request_return(order)


@pytest.mark.parametrize(
    ("payload", "message"),
    [({}, "at least one"), ({"x": 1}, "whole numbers"), (None, "at least one")],
)
def test_bad_quantities(store, goods, payload, message):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    with pytest.raises(returns.ReturnError, match=message):
        returns.request_return(order=order, items=payload, reason="withdrawal")


def test_negative_quantity_and_bad_reason(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    line = order.lines.get()
    with pytest.raises(returns.ReturnError, match="negative"):
        returns.request_return(order=order, items={line.pk: -1}, reason="withdrawal")
    with pytest.raises(returns.ReturnError, match="reason"):
        returns.request_return(order=order, items={line.pk: 1}, reason="because")


def test_digital_goods_are_not_returnable(store, goods):
    shirt, _mug = goods
    ebook = DigitalVariantFactory(store=store)
    order = make_order(store=store, lines=[(shirt, 1), (ebook, 1)])
    assert [r.line.sku for r in returns.returnable_lines(order)] == [shirt.sku]
    with pytest.raises(returns.ReturnError, match="Digital"):
        returns.request_return(order=order, items=items(order, **{ebook.sku: 1}), reason="withdrawal")
    # Returning every physical item is a full return (shipping refunded) and closes the order.
    ret = returns.request_return(order=order, items=items(order, **{shirt.sku: 1}), reason="withdrawal")
    assert ret.refund_amount == Decimal("115.00")


# --- request side effects ----------------------------------------------------------------------------


def test_request_publishes_event_and_plans_email(
    store, goods, django_capture_on_commit_callbacks, mailoutbox
):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], language="en")
    with django_capture_on_commit_callbacks(execute=True):
        ret = returns.request_return(order=order, items=items(order, **{shirt.sku: 1}), reason="withdrawal")
    event = Event.objects.get(type="return.requested")
    assert event.payload["return_id"] == ret.pk
    assert event.payload["order_number"] == order.number
    email = OrderEmail.objects.get(kind=OrderEmail.Kind.RETURN)
    assert email.key == f"{ret.pk}:requested"
    assert email.sent_at is not None, email.last_error
    message = mailoutbox[-1]
    assert message.to == [order.email]
    assert f"return request no. {ret.pk}" in message.body
    assert "Koszulka" in message.body
    html = message.alternatives[0][0]
    assert "Koszulka" in html


def test_email_in_polish_for_polish_orders(store, goods, django_capture_on_commit_callbacks, mailoutbox):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], language="pl")
    with django_capture_on_commit_callbacks(execute=True):
        ret = returns.request_return(order=order, items=items(order, **{shirt.sku: 1}), reason="withdrawal")
    assert f"zwrotu nr {ret.pk}" in mailoutbox[-1].body


# --- accepting and rejecting -------------------------------------------------------------------------


def test_accept_restocks_and_closes_fully_returned_order(
    store, goods, django_capture_on_commit_callbacks, mailoutbox
):
    shirt, mug = goods
    staff = StaffFactory()
    order = make_order(store=store, lines=[(shirt, 2), (mug, 1)])
    assert on_hand(shirt) == 8
    ret = returns.request_return(
        order=order, items=items(order, **{shirt.sku: 2, mug.sku: 1}), reason="withdrawal"
    )
    with django_capture_on_commit_callbacks(execute=True):
        ret = returns.accept_return(return_request=ret, user=staff, note="Towar sprawdzony.")
    assert ret.status == Return.Status.ACCEPTED
    assert ret.restocked
    assert ret.decided_by == staff
    assert ret.refund_amount == Decimal("245.00")  # 200 + 30 + shipping 15
    assert on_hand(shirt) == 10
    assert on_hand(mug) == 10
    movements = StockMovement.objects.filter(reason=StockMovement.Reason.RETURN)
    assert sorted(m.delta for m in movements) == [1, 2]
    assert {m.reference for m in movements} == {order.reservation_reference}
    order.refresh_from_db()
    assert order.status == Order.Status.RETURNED
    change = OrderStatusChange.objects.filter(order=order).last()
    assert change.to_status == Order.Status.RETURNED and change.user == staff
    assert OrderEmail.objects.filter(kind=OrderEmail.Kind.RETURN, key=f"{ret.pk}:accepted").exists()
    assert "Towar sprawdzony." in mailoutbox[-1].body
    assert Event.objects.filter(type="return.accepted").exists()


def test_partial_accept_keeps_order_status(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 2)])
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    returns.accept_return(return_request=ret)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert on_hand(shirt) == 9


def test_accepting_twice_does_not_restock_twice(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    returns.accept_return(return_request=ret)
    with pytest.raises(returns.ReturnError, match="already"):
        returns.accept_return(return_request=ret)
    with pytest.raises(returns.ReturnError, match="already"):
        returns.reject_return(return_request=ret)
    assert on_hand(shirt) == 10


def test_reject_sends_reason_and_keeps_stock(store, goods, django_capture_on_commit_callbacks, mailoutbox):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], language="en")
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="damaged")
    with django_capture_on_commit_callbacks(execute=True):
        returns.reject_return(return_request=ret, note="No damage visible on the photos.")
    ret.refresh_from_db()
    assert ret.status == Return.Status.REJECTED
    assert ret.refund_amount == Decimal("0")
    assert on_hand(shirt) == 9
    assert "No damage visible" in mailoutbox[-1].body
    assert "has not been accepted" in mailoutbox[-1].body


def test_mark_refunded_updates_payment_state(store, goods):
    shirt, mug = goods
    order = make_order(store=store, lines=[(shirt, 1), (mug, 1)])
    ret = returns.request_return(order=order, items=items(order, **{mug.sku: 1}), reason="withdrawal")
    with pytest.raises(returns.ReturnError):
        returns.mark_refunded(return_request=ret)
    returns.accept_return(return_request=ret)
    returns.mark_refunded(return_request=ret)
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.PARTIALLY_REFUNDED
    rest = returns.request_return(order=order, items=items(order, **{shirt.sku: 1}), reason="withdrawal")
    returns.accept_return(return_request=rest)
    returns.mark_refunded(return_request=rest)
    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    assert ReturnLine.objects.filter(return_request__order=order).count() == 2


# --- pages ---------------------------------------------------------------------------------------------


def test_shopper_return_page_flow(store, goods, client):
    shirt, mug = goods
    user = UserFactory()
    order = make_order(store=store, lines=[(shirt, 2), (mug, 1)], user=user)
    client.force_login(user)
    detail = client.get(reverse("orders:account:order", kwargs={"number": order.number}))
    assert b'data-testid="return-button"' in detail.content
    url = reverse("orders:account:return_request", kwargs={"number": order.number})
    page = client.get(url)
    assert page.status_code == 200
    shirt_line = order.lines.get(sku=shirt.sku)
    response = client.post(url, {f"line_{shirt_line.pk}": "1", "reason": "withdrawal", "comment": "Za mała"})
    ret = Return.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:account:return", kwargs={"pk": ret.pk})
    assert ret.comment == "Za mała"
    # Double submission of the same form: clear error, no second return.
    client.post(url, {f"line_{shirt_line.pk}": "1", "reason": "withdrawal"})
    again = client.post(url, {f"line_{shirt_line.pk}": "2", "reason": "withdrawal"})
    assert again.status_code == 400
    assert b'data-testid="return-errors"' in again.content
    assert Return.objects.count() == 2  # the 2nd post asked for the 2nd unit, the 3rd was refused
    returns_page = client.get(reverse("orders:account:returns"))
    assert str(ret.pk).encode() in returns_page.content
    assert client.get(reverse("orders:account:return", kwargs={"pk": ret.pk})).status_code == 200


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("61 1090 1014 0000 0712 1981 2874", "PL61109010140000071219812874"),  # an NRB: 26 digits
        ("pl61-1090-1014-0000-0712-1981-2874", "PL61109010140000071219812874"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),  # a foreign IBAN
        ("", ""),
    ],
)
def test_a_refund_account_is_validated_and_kept_as_an_iban(store, goods, typed, stored):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    ret = returns.request_return(
        order=order, items={order.lines.get().pk: 1}, reason="withdrawal", bank_account=typed
    )
    assert ret.bank_account == stored


@pytest.mark.parametrize(
    "typed",
    [
        "62 1090 1014 0000 0712 1981 2874",  # one check digit off
        "1090 1014 0000 0712 1981 2874",  # 24 digits
        "PL00 0000",
        "<script>alert(1)</script>",
        "9" * 5000,
    ],
)
def test_a_wrong_refund_account_is_refused_before_anything_is_recorded(store, goods, typed):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    with pytest.raises(returns.ReturnError) as caught:
        returns.request_return(
            order=order, items={order.lines.get().pk: 1}, reason="withdrawal", bank_account=typed
        )
    assert caught.value.field == "bank_account" and "account" in caught.value.message
    assert not Return.objects.exists()


def test_the_return_form_names_a_wrong_account_in_polish(store, goods, client):
    shirt, _mug = goods
    user = UserFactory()
    order = make_order(store=store, lines=[(shirt, 1)], user=user)
    client.force_login(user)
    url = reverse("orders:account:return_request", kwargs={"number": order.number})
    line = order.lines.get()
    with translation.override("pl"):
        page = client.post(
            url,
            {
                f"line_{line.pk}": "1",
                "reason": "withdrawal",
                "bank_account": "62 1090 1014 0000 0712 1981 2874",
            },
        )
    assert page.status_code in (200, 400)
    assert "To nie jest poprawny numer rachunku" in page.content.decode()
    assert not Return.objects.exists()
    client.post(
        url, {f"line_{line.pk}": "1", "reason": "withdrawal", "bank_account": "61109010140000071219812874"}
    )
    assert Return.objects.get().bank_account == "PL61109010140000071219812874"


def test_return_page_for_order_out_of_window(store, goods, client):
    shirt, _mug = goods
    user = UserFactory()
    order = make_order(store=store, lines=[(shirt, 1)], user=user, delivered_days_ago=40)
    client.force_login(user)
    url = reverse("orders:account:return_request", kwargs={"number": order.number})
    page = client.get(url)
    assert b'data-testid="return-refusal"' in page.content
    response = client.post(url, {f"line_{order.lines.get().pk}": "1", "reason": "withdrawal"})
    assert response.status_code == 400
    assert not Return.objects.exists()


def test_tampered_return_post(store, goods, client):
    shirt, mug = goods
    user = UserFactory()
    order = make_order(store=store, lines=[(shirt, 1)], user=user)
    other = make_order(store=store, lines=[(mug, 1)])
    client.force_login(user)
    url = reverse("orders:account:return_request", kwargs={"number": order.number})
    line = order.lines.get()
    for data in (
        {f"line_{line.pk}": "99", "reason": "withdrawal"},
        {f"line_{line.pk}": "-1", "reason": "withdrawal"},
        {f"line_{line.pk}": "abc", "reason": "withdrawal"},
        {f"line_{line.pk}": "1", "reason": "nope"},
        {f"line_{other.lines.get().pk}": "1", "reason": "withdrawal"},
        {"reason": "withdrawal"},
    ):
        assert client.post(url, data).status_code == 400
    assert not Return.objects.exists()


def test_guest_returns_with_order_token(store, goods, client):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    url = reverse("orders:account:guest_return_request", kwargs={"token": order.token})
    assert client.get(url).status_code == 200
    response = client.post(url, {f"line_{order.lines.get().pk}": "1", "reason": "wrong_item"})
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert Return.objects.get().order == order
    bad = reverse("orders:account:guest_return_request", kwargs={"token": "nieznany-token"})
    assert client.get(bad).status_code == 404


def test_guest_cannot_use_token_of_another_store(goods, client, store):
    other = StoreFactory()
    variant = VariantFactory(store=other, stock=2)
    order = make_order(store=other, lines=[(variant, 1)])
    url = reverse("orders:account:guest_return_request", kwargs={"token": order.token})
    assert client.get(url).status_code == 404


def test_return_of_another_users_order_is_404(store, goods, client):
    shirt, _mug = goods
    owner = UserFactory()
    order = make_order(store=store, lines=[(shirt, 1)], user=owner)
    ret = returns.request_return(order=order, items={order.lines.get().pk: 1}, reason="withdrawal")
    client.force_login(UserFactory())
    assert client.get(reverse("orders:account:return", kwargs={"pk": ret.pk})).status_code == 404
    url = reverse("orders:account:return_request", kwargs={"number": order.number})
    assert client.get(url).status_code == 404
    assert client.post(url, {f"line_{order.lines.get().pk}": "1", "reason": "withdrawal"}).status_code == 404


def test_deadline_uses_shipping_date_until_delivered(store, goods):
    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)], status=Order.Status.SHIPPED)
    assert returns.return_deadline(order) == order.shipped_at + timedelta(days=returns.window_days())
    order.delivered_at = timezone.now()
    assert returns.return_deadline(order) == order.delivered_at + timedelta(days=returns.window_days())


def test_guest_order_page_links_to_the_return_form_and_the_invoice(store, goods, client):
    from orders import invoices

    shirt, _mug = goods
    order = make_order(store=store, lines=[(shirt, 1)])
    page = client.get(reverse("orders:order", kwargs={"token": order.token})).content.decode()
    assert reverse("orders:account:guest_return_request", kwargs={"token": order.token}) in page
    invoice = invoices.issue_invoice(order=order)
    page = client.get(reverse("orders:order", kwargs={"token": order.token})).content.decode()
    assert reverse("orders:account:guest_invoice", kwargs={"token": order.token}) in page
    assert invoice.number in page
