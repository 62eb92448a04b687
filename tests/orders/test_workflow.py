"""The status workflow: transitions, history, emails (Polish and English), events and what each
status does to stock, vouchers and gift cards."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import StockItem, StockReservation
from orders import services, tasks
from orders.models import GiftCard, Order, OrderEmail, Payment, Voucher
from shop.models import Event
from tests.catalog.factories import VariantFactory
from tests.orders.factories import GiftCardFactory, VoucherFactory, ready_cart
from tests.shop.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("en")]
D = Decimal
S = Order.Status


def on_hand(v):
    return StockItem.objects.get(variant=v).quantity


def place(store, payment="test_gateway", quantity=1, stock=5, **kw):
    v = VariantFactory(store=store, stock=stock)
    return services.place_order(cart=ready_cart(store, [(v, quantity)], payment=payment, **kw)), v


def test_full_prepaid_journey_with_history_emails_and_events(store, django_capture_on_commit_callbacks):
    staff = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order, v = place(store, payment="bank_transfer", quantity=2)
    assert mail.outbox[-1].subject == f"Dziękujemy za zamówienie {order.number}"  # the order's language: pl
    assert "Please transfer" not in mail.outbox[-1].body and "tytułem" in mail.outbox[-1].body.lower()
    for status in (S.PAID, S.PACKED, S.SHIPPED, S.DELIVERED):
        with django_capture_on_commit_callbacks(execute=True):
            services.change_status(order=order, status=status, user=staff, note="ok")
    history = list(order.status_changes.values_list("from_status", "to_status", "user"))
    assert history == [
        ("", "awaiting_payment", None),
        ("awaiting_payment", "paid", staff.pk),
        ("paid", "packed", staff.pk),
        ("packed", "shipped", staff.pk),
        ("shipped", "delivered", staff.pk),
    ]
    assert on_hand(v) == 3 and not StockReservation.objects.exists()
    kinds = list(order.emails.values_list("kind", flat=True))
    assert kinds == ["placed", "paid", "shipped", "delivered"]  # nothing for "packed"
    assert all(e.sent_at for e in order.emails.all()) and len(mail.outbox) == 4
    assert Event.objects.filter(type="order.status_changed").count() == 4
    assert Event.objects.filter(type="order.paid").get().payload["order_id"] == order.pk
    order.refresh_from_db()
    assert order.paid_at and order.shipped_at and order.delivered_at and order.payment_status == "paid"


def test_emails_are_in_the_orders_language(store, django_capture_on_commit_callbacks):
    v = VariantFactory(store=store, stock=5)
    cart = ready_cart(store, [(v, 1)], payment="cod")
    cart.language = "en"
    cart.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        order = services.place_order(cart=cart)
    message = mail.outbox[-1]
    assert message.subject == f"Thank you for your order {order.number}"
    assert "You pay" in message.body and "when you collect the parcel" in message.body
    html = message.alternatives[0][0]
    assert order.number in html and "Sklep Testowy" in html


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], S.SHIPPED),
        ([S.PAID], S.AWAITING_PAYMENT),
        ([S.CANCELLED], S.PAID),
        ([S.PAID, S.PACKED, S.SHIPPED], S.CANCELLED),
        ([S.PAID], S.DELIVERED),  # a parcel must be shipped first
    ],
)
def test_disallowed_transitions_are_refused(store, path, refused):
    order, _ = place(store)
    for status in path:
        services.change_status(order=order, status=status)
    with pytest.raises(services.InvalidTransition):
        services.change_status(order=order, status=refused)
    with pytest.raises(services.InvalidTransition, match="already"):
        services.change_status(order=order, status=order.status)


def test_cash_on_delivery_is_packed_unpaid_and_paid_on_delivery(store):
    order, v = place(store, payment="cod")
    assert on_hand(v) == 4
    with pytest.raises(services.InvalidTransition, match="paid on delivery"):
        services.change_status(order=order, status=S.PAID)
    assert set(services.allowed_transitions(order)) == {S.PACKED, S.CANCELLED, S.AWAITING_PAYMENT}
    for status in (S.PACKED, S.SHIPPED, S.DELIVERED):
        services.change_status(order=order, status=status)
    order.refresh_from_db()
    assert order.payment_status == "paid" and order.payments.get().status == "paid"
    assert Event.objects.filter(type="order.paid").exists()
    assert on_hand(v) == 4  # taken once, at placement


def test_prepaid_order_cannot_be_packed_before_payment(store):
    order, _ = place(store)
    with pytest.raises(services.InvalidTransition, match="cannot go from"):
        services.change_status(order=Order.objects.get(pk=order.pk), status=S.PACKED)
    Order.objects.filter(pk=order.pk).update(status=S.NEW)  # e.g. an imported marketplace order
    with pytest.raises(services.InvalidTransition, match="cash-on-delivery"):
        services.change_status(order=order, status=S.PACKED)


def test_cancelling_gives_back_stock_voucher_and_gift_card(store, django_capture_on_commit_callbacks):
    v = VariantFactory(store=store, stock=5, price=D("100"))
    voucher = VoucherFactory(store=store, kind=Voucher.Kind.FIXED, value=D("10"), usage_limit=1)
    card = GiftCardFactory(store=store, initial_balance=D("30"))
    cart = ready_cart(store, [(v, 2)], payment="cod")
    services.apply_code(cart=cart, code=voucher.code, client_keys=["t"])
    services.apply_code(cart=cart, code=card.code, client_keys=["t"])
    order = services.place_order(cart=type(cart).objects.get(pk=cart.pk))
    assert on_hand(v) == 3
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(order=order, status=S.CANCELLED, note="shopper asked")
    assert on_hand(v) == 5
    voucher.refresh_from_db()
    card.refresh_from_db()
    assert voucher.used_count == 0 and not voucher.redemptions.exists()
    assert card.balance == D("30")
    assert dict(order.payments.values_list("provider", "status")) == {
        "gift_card": "refunded",
        "cod": "cancelled",
    }
    assert order.emails.filter(kind=OrderEmail.Kind.CANCELLED, sent_at__isnull=False).exists()
    # giving back twice gives nothing more
    assert services.refund_gift_cards(order=order) == 0


def test_cancelling_an_online_order_releases_its_hold(store):
    order, v = place(store, quantity=3)
    services.change_status(order=order, status=S.CANCELLED)
    assert not StockReservation.objects.exists() and on_hand(v) == 5


def test_cancelling_a_paid_order_leaves_a_refund_note(store):
    order, v = place(store, quantity=2)
    services.change_status(order=order, status=S.PAID)
    services.change_status(order=order, status=S.CANCELLED)
    assert on_hand(v) == 5
    assert "refund" in order.notes.get().text


def test_paid_gift_card_purchase_creates_cards_and_emails_the_codes(
    store, django_capture_on_commit_callbacks
):
    from tests.catalog.factories import GiftCardProductFactory

    card_variant = VariantFactory(product=GiftCardProductFactory(store=store), price=D("150.00"))
    cart = ready_cart(store, [(card_variant, 2)], payment="bank_transfer", email="giver@example.com")
    order = services.place_order(cart=cart)
    assert order.shipping_method is None and order.shipping_total == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(order=order, status=S.PAID)
    cards = list(GiftCard.objects.order_by("pk"))
    assert [(c.initial_balance, c.balance, c.recipient_email) for c in cards] == [
        (D("150.00"), D("150.00"), "giver@example.com")
    ] * 2
    message = next(m for m in mail.outbox if "karta" in m.subject.lower() or "gift" in m.subject.lower())
    for card in cards:
        assert services.format_gift_card_code(card.code) in message.body
    # paying again never creates more cards
    assert len(services.issue_gift_cards(order=order)) == 2 and GiftCard.objects.count() == 2


def test_paid_digital_order_grants_downloads_and_emails_links(store, django_capture_on_commit_callbacks):
    from catalog.models import DownloadGrant
    from tests.catalog.factories import DigitalAssetFactory, DigitalVariantFactory

    ebook = DigitalVariantFactory(store=store)
    DigitalAssetFactory(variant=ebook, title="Rozdział 1")
    cart = ready_cart(store, [(ebook, 1)], payment="test_gateway", email="reader@example.com")
    order = services.place_order(cart=cart)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(order=order, status=S.PAID)
    grant = DownloadGrant.objects.get()
    assert grant.email == "reader@example.com"
    message = next(m for m in mail.outbox if "Rozdział 1" in m.body)
    assert "/pobierz/" in message.body or "http" in message.body


def test_expired_unpaid_orders_are_cancelled_and_their_stock_freed(store, settings):
    order, v = place(store, quantity=2)
    assert tasks.expire_unpaid_orders() == 0
    Order.objects.filter(pk=order.pk).update(reservation_expires_at=timezone.now() - timedelta(seconds=1))
    StockReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.expire_unpaid_orders() == 1
    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.payments.get().status == Payment.Status.EXPIRED
    assert order.status_changes.last().note == "Not paid in time"
    assert not StockReservation.objects.exists() and on_hand(v) == 5
    assert tasks.sweep_reservations() == 0


def test_order_email_failures_are_recorded_and_retried(store, settings, monkeypatch):
    settings.ORDER_EMAIL_RESEND_AFTER_SECONDS = 0
    order, _ = place(store)
    email = order.emails.get()
    from django.core.mail import EmailMultiAlternatives

    monkeypatch.setattr(
        EmailMultiAlternatives, "send", lambda self: (_ for _ in ()).throw(OSError("smtp down"))
    )
    assert tasks.send_order_email(email.pk) is False
    email.refresh_from_db()
    assert email.attempts == 1 and "smtp down" in email.last_error and email.sent_at is None
    monkeypatch.undo()
    assert tasks.resend_unsent_order_emails() == 1
    assert tasks.send_order_email(email.pk) is False  # sent already: never twice
    assert len(mail.outbox) == 1


def test_notes(store):
    order, _ = place(store)
    note = services.add_note(order=order, text="Klient prosi o szybką wysyłkę")
    assert order.notes.get() == note
