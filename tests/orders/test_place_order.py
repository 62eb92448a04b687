"""place_order: totals, numbering, idempotency, stock, tampering, faults and query counts."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import StockItem, StockReservation, Variant
from orders import services
from orders.models import Address, Cart, Order, OrderEmail, Payment, Voucher
from orders.services.recording import next_order_number
from shop.models import Event
from tests.catalog.factories import PreorderVariantFactory, VariantFactory, make_set
from tests.orders.factories import GiftCardFactory, ShippingMethodFactory, VoucherFactory, ready_cart
from tests.shop.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal


def on_hand(v):
    return StockItem.objects.get(variant=v).quantity


def test_online_order_is_priced_server_side_numbered_and_holds_stock(store, settings):
    settings.RESERVATION_MINUTES = 15
    a = VariantFactory(store=store, stock=5, price=D("49.99"), weight_grams=400)
    b = VariantFactory(store=store, stock=5, price=D("10.00"))
    cart = ready_cart(
        store,
        [(a, 2), (b, 1)],
        answers={
            "wants_invoice": True,
            "company_name": "ACME sp. z o.o.",
            "tax_id": "5260001246",
            "billing_street": "Prosta 1",
            "billing_postal_code": "00-001",
            "billing_city": "Warszawa",
        },
    )
    order = services.place_order(cart=cart)
    assert re.fullmatch(r"KS-\d{4}-00001", order.number)
    assert order.status == Order.Status.AWAITING_PAYMENT and order.payment_provider == "test_gateway"
    assert (order.subtotal, order.shipping_total, order.total) == (D("109.98"), D("14.99"), D("124.97"))
    assert order.total_net == sum(line.total_net for line in order.lines.all()) + D("12.19")
    assert [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        (a.sku, 2, D("49.99")),
        (b.sku, 1, D("10.00")),
    ]
    assert order.billing_address.tax_id == "5260001246" and order.shipping_address.city == "Warszawa"
    holds = StockReservation.objects.filter(reference=order.reservation_reference)
    assert sum(h.quantity for h in holds) == 3
    assert abs((order.reservation_expires_at - holds[0].expires_at).total_seconds()) < 2
    assert Payment.objects.get(order=order).amount == D("124.97")
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ORDERED
    event = Event.objects.get(type="order.created")
    assert event.payload["order_id"] == order.pk and event.payload["cart_id"] == cart.pk
    assert order.status_changes.get().to_status == "awaiting_payment"
    assert order.emails.get().kind == OrderEmail.Kind.PLACED


def test_order_numbers_are_per_store_and_month_without_gaps(store):
    other = StoreFactory()
    now = timezone.now()
    numbers = [next_order_number(store, now) for _ in range(3)] + [next_order_number(other, now)]
    period = timezone.localtime(now, store.zone).strftime("%y%m")
    assert numbers == [f"KS-{period}-00001", f"KS-{period}-00002", f"KS-{period}-00003", f"KS-{period}-00001"]
    next_month = now + timedelta(days=40)
    assert next_order_number(store, next_month).endswith("-00001")


def test_a_failed_checkout_gives_its_number_back(store):
    v = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(v, 1)])
    failing = mock.patch("orders.services.checkout._lines", side_effect=RuntimeError("disk full"))
    with failing, pytest.raises(RuntimeError):
        services.place_order(cart=cart)
    assert not Order.objects.exists() and not StockReservation.objects.exists()
    assert services.place_order(cart=cart).number.endswith("-00001")


def test_double_submit_returns_the_same_order(store):
    v = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(v, 1)])
    token = services.issue_checkout_token(cart=cart)
    first = services.place_order(cart=cart, checkout_token=token)
    second = services.place_order(cart=cart, checkout_token=token)
    assert first.pk == second.pk and Order.objects.count() == 1
    assert StockReservation.objects.get().quantity == 1
    assert first.idempotency_key == token


def test_a_stale_checkout_token_asks_to_review(store):
    v = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(v, 1)])
    token = services.issue_checkout_token(cart=cart)
    services.add_to_cart(cart=cart, variant_id=v.pk)  # the cart changed after the summary
    with pytest.raises(services.CheckoutError, match="changed"):
        services.place_order(cart=cart, checkout_token=token)
    assert not Order.objects.exists()


def test_tampered_totals_never_set_a_price(store):
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    cart = ready_cart(store, [(v, 1)])
    with pytest.raises(services.TotalChanged, match="114,99"):
        services.place_order(cart=cart, expected_total="0.01")
    with pytest.raises(services.TotalChanged):
        services.place_order(cart=cart, expected_total="not-a-number")
    order = services.place_order(cart=cart, expected_total="114.99")
    assert order.total == D("114.99")


def test_price_change_after_the_summary_is_confirmed_again(store):
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    cart = ready_cart(store, [(v, 1)])
    Variant.objects.filter(pk=v.pk).update(price=D("120.00"))
    with pytest.raises(services.TotalChanged):
        services.place_order(cart=cart, expected_total="114.99")
    assert services.place_order(cart=cart, expected_total="134.99").subtotal == D("120.00")


def test_out_of_stock_says_someone_just_bought_the_last_one(store):
    v = VariantFactory(store=store, stock=1)
    services.place_order(cart=ready_cart(store, [(v, 1)]))
    cart = services.get_or_create_cart(store=store)
    from orders.models import CartLine

    CartLine.objects.create(
        cart=cart, variant=v, quantity=1, price_when_added=v.price
    )  # added before it sold
    cart = ready_cart(store, [], email="late@example.com") if False else cart
    services.save_checkout_email(cart=cart, email="late@example.com", marketing_consent=False)
    first = Order.objects.get()
    services.set_checkout_choices(
        cart=cart,
        shipping_method=first.shipping_method,
        payment_method=first.payment_method,
        answers=Cart.objects.get(pk=first.cart_id).checkout,
    )
    with pytest.raises(services.OutOfStock, match="someone has just bought the last one") as err:
        services.place_order(cart=cart)
    assert list(err.value.shortages.values()) == [0]
    assert Order.objects.count() == 1


def test_missing_steps_are_reported(store):
    v = VariantFactory(store=store, stock=5)
    cart = services.get_or_create_cart(store=store)
    with pytest.raises(services.CheckoutError, match="empty"):
        services.place_order(cart=cart)
    services.add_to_cart(cart=cart, variant_id=v.pk)
    with pytest.raises(services.CheckoutError, match="email"):
        services.place_order(cart=cart)
    services.save_checkout_email(cart=cart, email="a@example.com", marketing_consent=False)
    with pytest.raises(services.CheckoutError, match="delivery method") as err:
        services.place_order(cart=cart)
    assert err.value.field == "delivery"
    locker = ShippingMethodFactory(store=store, code="paczkomat", kind="parcel_locker", cash_on_delivery="no")
    from tests.orders.factories import ADDRESS, PaymentMethodFactory

    services.set_checkout_choices(
        cart=cart,
        shipping_method=locker,
        payment_method=PaymentMethodFactory(store=store),
        answers={**ADDRESS, "pickup_point": "nope!"},
    )
    with pytest.raises(services.CheckoutError, match="parcel locker code"):
        services.place_order(cart=cart)
    cod = PaymentMethodFactory(store=store, provider="cod")
    services.set_checkout_choices(
        cart=cart, shipping_method=locker, payment_method=cod, answers={**ADDRESS, "pickup_point": "KRA01M"}
    )
    with pytest.raises(services.CheckoutError, match="Cash on delivery is not available"):
        services.place_order(cart=cart)
    services.set_checkout_choices(
        cart=cart,
        shipping_method=locker,
        payment_method=PaymentMethodFactory(store=store),
        answers={
            **ADDRESS,
            "pickup_point": "kra01m",
            "wants_invoice": True,
            "company_name": "X",
            "tax_id": "1234567890",
        },
    )
    with pytest.raises(services.CheckoutError, match="NIP"):
        services.place_order(cart=cart)


def test_unpublished_line_blocks_the_order(store):
    v = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(v, 1)])
    Variant.objects.filter(pk=v.pk).update(is_active=False)
    with pytest.raises(services.CheckoutError, match="no longer available"):
        services.place_order(cart=cart)


def test_voucher_and_gift_card_are_used_once_and_safely(store):
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("20"), usage_limit=1)
    card = GiftCardFactory(store=store, initial_balance=D("50"))
    cart = ready_cart(store, [(v, 1)])
    services.apply_code(cart=cart, code=voucher.code.lower(), client_keys=["t"])
    services.apply_code(cart=cart, code=card.code, client_keys=["t"])
    cart.refresh_from_db()
    order = services.place_order(cart=cart)
    assert (order.discount_total, order.total, order.gift_card_total) == (D("20"), D("94.99"), D("50"))
    voucher.refresh_from_db()
    card.refresh_from_db()
    assert voucher.used_count == 1 and card.balance == 0
    assert sorted(order.payments.values_list("provider", "amount", "status")) == [
        ("gift_card", D("50.00"), "paid"),
        ("test_gateway", D("44.99"), "pending"),
    ]
    # The next shopper cannot use the used-up voucher or the empty card.
    other = ready_cart(store, [(v, 1)], email="b@example.com")
    with pytest.raises(services.CartError, match="already been used"):
        services.apply_code(cart=other, code=voucher.code, client_keys=["t"])
    with pytest.raises(services.CartError, match="used up"):
        services.apply_code(cart=other, code=card.code, client_keys=["t"])


def test_voucher_limit_is_checked_again_when_placing(store):
    v = VariantFactory(store=store, stock=5)
    voucher = VoucherFactory(store=store, usage_limit_per_customer=1)
    first = ready_cart(store, [(v, 1)], email="same@example.com")
    second = ready_cart(store, [(v, 1)], email="SAME@example.com")
    services.apply_code(cart=first, code=voucher.code, client_keys=["t"])
    services.apply_code(cart=second, code=voucher.code, client_keys=["t"])
    services.place_order(cart=Cart.objects.get(pk=first.pk))
    with pytest.raises(services.CheckoutError, match="already used"):
        services.place_order(cart=Cart.objects.get(pk=second.pk))


def test_gift_card_balance_changed_meanwhile(store):
    v = VariantFactory(store=store, stock=5, price=D("100.00"))
    card = GiftCardFactory(store=store, initial_balance=D("80"))
    cart = ready_cart(store, [(v, 1)])
    services.apply_code(cart=cart, code=card.code, client_keys=["t"])
    from orders.models import GiftCard

    GiftCard.objects.filter(pk=card.pk).update(balance=D("30"))  # spent elsewhere in between
    order = services.place_order(cart=Cart.objects.get(pk=cart.pk))
    card.refresh_from_db()
    assert order.gift_card_total == D("30") and card.balance == 0


def test_gift_card_covering_everything_pays_the_order_at_once(store):
    v = VariantFactory(store=store, stock=5, price=D("20.00"))
    card = GiftCardFactory(store=store, initial_balance=D("200"))
    cart = ready_cart(store, [(v, 2)], payment=None)
    services.apply_code(cart=cart, code=card.code, client_keys=["t"])
    order = services.place_order(cart=Cart.objects.get(pk=cart.pk))
    assert order.status == Order.Status.PAID and order.payment_status == "paid"
    assert on_hand(v) == 3
    card.refresh_from_db()
    assert card.balance == D("145.01")


def test_cash_on_delivery_takes_stock_at_once_and_bank_transfer_holds_for_days(store, settings):
    settings.BANK_TRANSFER_RESERVATION_DAYS = 3
    v = VariantFactory(store=store, stock=5)
    cod = services.place_order(cart=ready_cart(store, [(v, 2)], payment="cod"))
    assert cod.status == Order.Status.NEW and cod.stock_committed and on_hand(v) == 3
    assert cod.reservation_expires_at is None
    transfer = services.place_order(
        cart=ready_cart(store, [(v, 1)], payment="bank_transfer", email="b@example.com")
    )
    assert transfer.status == Order.Status.AWAITING_PAYMENT and not transfer.stock_committed
    assert transfer.reservation_expires_at > timezone.now() + timedelta(days=2, hours=23)
    assert on_hand(v) == 3


def test_preorder_set_and_digital_lines(store):
    a, b = VariantFactory(store=store, stock=5), VariantFactory(store=store, stock=5)
    bundle = make_set(store=store, components=[(a, 1), (b, 2)], price=D("150"))
    pre = PreorderVariantFactory(store=store, preorder_limit=3)
    order = services.place_order(cart=ready_cart(store, [(bundle, 1), (pre, 2)]))
    lines = {line.sku: line for line in order.lines.all()}
    assert lines[bundle.sku].components == [
        {"sku": a.sku, "name": str(a), "quantity": 1},
        {"sku": b.sku, "name": str(b), "quantity": 2},
    ]
    assert lines[pre.sku].is_preorder and lines[pre.sku].ships_on == pre.release_date
    assert order.ships_on == pre.release_date
    held = dict(StockReservation.objects.values_list("variant_id", "quantity"))
    assert held == {a.pk: 1, b.pk: 2, pre.pk: 2}


def test_logged_in_shopper_gets_the_order_on_the_account(store):
    user = UserFactory()
    v = VariantFactory(store=store, stock=5)
    order = services.place_order(cart=ready_cart(store, [(v, 1)], user=user, email=user.email), user=user)
    assert order.user == user


def test_broker_down_checkout_completes_and_email_waits_for_the_resend(
    store, settings, django_capture_on_commit_callbacks
):
    from orders import tasks

    settings.ORDER_EMAIL_RESEND_AFTER_SECONDS = 0
    v = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(v, 1)])
    broker_down = mock.patch.object(tasks.send_order_email, "apply_async", side_effect=OSError("broker down"))
    with broker_down, django_capture_on_commit_callbacks(execute=True):
        order = services.place_order(cart=cart)
    email = order.emails.get()
    assert email.sent_at is None and not mail.outbox
    assert tasks.resend_unsent_order_emails() == 1
    email.refresh_from_db()
    assert email.sent_at is not None and len(mail.outbox) == 1
    assert order.number in mail.outbox[0].subject
    assert tasks.resend_unsent_order_emails() == 0  # never twice


@pytest.mark.parametrize("lines", [1, 20])
def test_placing_an_order_costs_at_most_40_queries(store, lines, django_assert_max_num_queries):
    variants = [VariantFactory(store=store, stock=5) for _ in range(lines)]
    cart = ready_cart(store, [(v, 1) for v in variants])
    with django_assert_max_num_queries(28):
        services.place_order(cart=cart)


@pytest.mark.parametrize("lines", [1, 20])
def test_worst_case_cod_with_voucher_gift_card_set_and_preorder_within_40(
    store, lines, django_assert_max_num_queries
):
    variants = [VariantFactory(store=store, stock=5) for _ in range(lines - 1)]
    a = VariantFactory(store=store, stock=5)
    variants.append(make_set(store=store, components=[(a, 1)]))
    variants.append(PreorderVariantFactory(store=store))
    cart = ready_cart(store, [(v, 1) for v in variants], payment="cod")
    services.apply_code(cart=cart, code=VoucherFactory(store=store).code, client_keys=["t"])
    services.apply_code(
        cart=cart, code=GiftCardFactory(store=store, initial_balance=D("10")).code, client_keys=["t"]
    )
    cart = Cart.objects.get(pk=cart.pk)
    with django_assert_max_num_queries(40):
        order = services.place_order(cart=cart)
    assert order.stock_committed and order.discount_total > 0 and order.gift_card_total == D("10")
    assert Address.objects.count() == 1
