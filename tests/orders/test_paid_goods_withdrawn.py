"""What a paid order delivered without a parcel goes back when its money does, and a payment
that arrives for goods sold meanwhile never leaves a paid, shippable order without stock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from catalog.downloads import DownloadRefused, use_grant
from catalog.models import DownloadGrant, StockItem, StockReservation
from orders import services
from orders.models import GiftCard, Order, OrderEmail, Payment, PaymentRefund
from orders.payments.refunds import refund_settled
from orders.services.errors import CartError, InvalidTransition
from tests.catalog.factories import DigitalAssetFactory, GiftCardProductFactory, VariantFactory
from tests.orders.factories import ready_cart

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]


@pytest.fixture
def paid_card_and_ebook(store):
    card_variant = VariantFactory(
        product=GiftCardProductFactory(store=store), price=Decimal("100.00"), track_stock=False
    )
    asset = DigitalAssetFactory(variant__store=store)
    order = services.place_order(cart=ready_cart(store, [(card_variant, 1), (asset.variant, 1)]))
    payment = services.open_payment(order)
    assert services.payment_succeeded(payment=payment)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    card = GiftCard.objects.get(order_line__order=order)
    grant = DownloadGrant.objects.get(asset=asset)
    assert card.is_active and card.balance == Decimal("100.00")
    return order, payment, card, grant


def _spend_attempt(store, card):
    other = VariantFactory(store=store, stock=5, price=Decimal("30.00"))
    cart = ready_cart(store, [(other, 1)], email="ktos@example.com")
    return services.apply_code(cart=cart, code=card.code, client_keys=["test:spend"])


def test_cancelling_a_paid_order_deactivates_the_gift_cards_it_bought_and_closes_its_downloads(
    store, paid_card_and_ebook
):
    order, _payment, card, grant = paid_card_and_ebook
    services.change_status(order=order, status=Order.Status.CANCELLED)

    card.refresh_from_db()
    assert not card.is_active
    assert card.balance == Decimal("100.00")  # on record: what was left unspent
    with pytest.raises(CartError):
        _spend_attempt(store, card)
    grant.refresh_from_db()
    with pytest.raises(DownloadRefused):
        use_grant(grant)


def test_a_card_applied_before_the_cancellation_pays_nothing_afterwards(store, paid_card_and_ebook):
    order, _payment, card, _grant = paid_card_and_ebook
    other = VariantFactory(store=store, stock=5, price=Decimal("30.00"))
    cart = ready_cart(store, [(other, 1)], email="ktos@example.com")
    services.apply_code(cart=cart, code=card.code, client_keys=["test:early"])
    services.change_status(order=order, status=Order.Status.CANCELLED)

    placed = services.place_order(cart=cart)
    assert placed.gift_card_total == 0 and placed.amount_due == placed.total
    card.refresh_from_db()
    assert card.balance == Decimal("100.00")


def test_a_paid_order_whose_bought_card_was_used_is_not_cancelled_as_a_whole(store, paid_card_and_ebook):
    order, _payment, card, grant = paid_card_and_ebook
    other = VariantFactory(store=store, stock=5, price=Decimal("30.00"))
    cart = ready_cart(store, [(other, 1)], email="ktos@example.com")
    services.apply_code(cart=cart, code=card.code, client_keys=["test:used"])
    services.place_order(cart=cart)
    card.refresh_from_db()
    assert card.balance < Decimal("100.00")

    with pytest.raises(InvalidTransition, match="already been used"):
        services.change_status(order=order, status=Order.Status.CANCELLED)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    grant.refresh_from_db()
    assert use_grant(grant).grant.downloads_left == 2  # nothing was taken back


def test_a_full_refund_deactivates_the_bought_cards_and_closes_the_downloads(store, paid_card_and_ebook):
    order, payment, card, grant = paid_card_and_ebook
    payment.refresh_from_db()
    refund = PaymentRefund.objects.create(
        payment=payment, order=order, amount=payment.amount, currency=payment.currency, reason="full"
    )
    assert refund_settled(refund=refund, ok=True)

    order.refresh_from_db()
    assert order.payment_status == Order.PaymentStatus.REFUNDED
    card.refresh_from_db()
    assert not card.is_active
    grant.refresh_from_db()
    with pytest.raises(DownloadRefused):
        use_grant(grant)


def test_a_partial_refund_leaves_cards_and_downloads_alone(store, paid_card_and_ebook):
    order, payment, card, grant = paid_card_and_ebook
    refund = PaymentRefund.objects.create(
        payment=payment, order=order, amount=Decimal("10.00"), currency=payment.currency, reason="part"
    )
    assert refund_settled(refund=refund, ok=True)
    card.refresh_from_db()
    assert card.is_active
    assert use_grant(grant).grant.downloads_left == 2


# --- Paid after the hold expired and the goods were sold meanwhile --------------------------------


@pytest.fixture
def late_payment(store, settings):
    settings.ORDERS_AUTO_REFUND_CANCELLATIONS = True
    variant = VariantFactory(store=store, stock=1, price=Decimal("80.00"))
    order = services.place_order(cart=ready_cart(store, [(variant, 1)], email="spozniona@example.com"))
    payment = services.open_payment(order)
    return variant, order, payment


def _after_the_hold(order):
    """Past the order's hold (time stays there for the rest of the test: it never runs back)."""
    minutes = (order.reservation_expires_at - timezone.now()).total_seconds() / 60
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes + 1), tick=False)


def _sell_the_last_unit_to_someone_else(store, variant):
    other = services.place_order(
        cart=ready_cart(store, [(variant, 1)], payment="cod", email="inny@example.com")
    )
    assert other.stock_committed


def test_a_payment_for_goods_sold_meanwhile_cancels_refunds_and_tells_the_shopper(store, late_payment):
    variant, order, payment = late_payment
    with _after_the_hold(order):
        _sell_the_last_unit_to_someone_else(store, variant)
        assert services.payment_succeeded(payment=payment)

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.payment_status == Order.PaymentStatus.PAID and payment.status == Payment.Status.PAID
    assert not order.stock_committed
    assert StockItem.objects.get(variant=variant).quantity == 0  # the other buyer's unit stays sold
    assert order.status_changes.filter(to_status="cancelled", note__contains="sold meanwhile").exists()
    email = order.emails.get(kind=OrderEmail.Kind.CANCELLED)
    assert email.context == {"reason": "sold_out"}
    from orders.emails import render_email

    message = render_email(email)  # in the shopper's language
    assert "towar został w międzyczasie sprzedany" in message.body
    assert "Zwrócimy Ci pieniądze." in message.body


def test_a_late_payment_whose_goods_are_still_there_takes_them_again(store, late_payment):
    variant, order, payment = late_payment
    with _after_the_hold(order):
        assert services.payment_succeeded(payment=payment)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.stock_committed
    assert StockItem.objects.get(variant=variant).quantity == 0
    assert not StockReservation.objects.filter(reference=order.reservation_reference).exists()


def test_an_order_marked_paid_without_stock_cannot_be_packed_until_stock_arrives(store, late_payment):
    from catalog.stock import adjust_stock

    variant, order, _payment = late_payment
    with _after_the_hold(order):
        _sell_the_last_unit_to_someone_else(store, variant)
        # A clerk marks it paid by hand (a bank transfer seen on the statement).
        services.change_status(order=order, status=Order.Status.PAID)
        order.refresh_from_db()
        assert order.status == Order.Status.PAID and not order.stock_committed

        with pytest.raises(InvalidTransition, match="No stock is allocated"):
            services.change_status(order=order, status=Order.Status.PACKED)
        order.refresh_from_db()
        assert order.status == Order.Status.PAID

        item = StockItem.objects.get(variant=variant)
        adjust_stock(variant=variant, warehouse=item.warehouse, delta=1)
        services.change_status(order=order, status=Order.Status.PACKED)
    order.refresh_from_db()
    assert order.status == Order.Status.PACKED and order.stock_committed
    assert StockItem.objects.get(variant=variant).quantity == 0
