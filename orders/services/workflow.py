"""The order status workflow: allowed transitions, history, side effects and shopper emails.

    new -> awaiting_payment -> paid -> packed -> shipped -> delivered
                                     (cash on delivery: new -> packed)
    cancelled from new, awaiting payment, paid, packed;  returned from shipped or delivered

Every change goes through :func:`change_status`, which records an :class:`OrderStatusChange`,
plans the shopper's email (sent by Celery after commit), publishes ``order.status_changed``
(and ``order.paid``), and does what the status means for stock, vouchers and gift cards.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import stock
from shop import events

from ..models import Order, OrderEmail, OrderLine, OrderNote, OrderStatusChange, Payment, PaymentMethod
from .errors import InvalidTransition

log = logging.getLogger(__name__)

S = Order.Status

TRANSITIONS: dict[str, set[str]] = {
    S.NEW: {S.AWAITING_PAYMENT, S.PAID, S.PACKED, S.CANCELLED},
    S.AWAITING_PAYMENT: {S.PAID, S.CANCELLED},
    S.PAID: {S.PACKED, S.DELIVERED, S.CANCELLED},
    S.PACKED: {S.SHIPPED, S.CANCELLED},
    S.SHIPPED: {S.DELIVERED, S.RETURNED},
    S.DELIVERED: {S.RETURNED},
    S.CANCELLED: set(),
    S.RETURNED: set(),
}

# The statuses a shopper hears about, and the email that tells them.
EMAIL_FOR_STATUS = {
    S.PAID: OrderEmail.Kind.PAID,
    S.SHIPPED: OrderEmail.Kind.SHIPPED,
    S.DELIVERED: OrderEmail.Kind.DELIVERED,
    S.CANCELLED: OrderEmail.Kind.CANCELLED,
}


def allowed_transitions(order: Order) -> list[str]:
    """The statuses ``order`` may move to now (for the admin's buttons)."""
    return [s for s in S.values if _transition_problem(order, s) is None]


def _transition_problem(order: Order, status: str) -> str | None:
    if status not in TRANSITIONS.get(order.status, set()):
        return _("An order cannot go from “%(from)s” to “%(to)s”.") % {
            "from": S(order.status).label,
            "to": S(status).label if status in S.values else status,
        }
    is_cod = order.payment_provider == PaymentMethod.Provider.CASH_ON_DELIVERY
    if order.status == S.NEW and status == S.PACKED and not is_cod and order.amount_due > 0:
        return _("Only cash-on-delivery orders can be packed before they are paid.")
    if order.status == S.NEW and status == S.PAID and is_cod:
        return _("Cash-on-delivery orders are paid on delivery.")
    if order.status == S.PAID and status == S.DELIVERED and order.shipping_method_id is not None:
        return _("Orders with a parcel are delivered after they were shipped.")
    return None


def plan_email(order: Order, kind: str, *, key: str = "", context: dict | None = None) -> OrderEmail:
    """Plan one email to the shopper, sent after commit (and by the resend task if the broker is
    down). Planning the same (order, kind, key) twice returns the first plan."""
    email, created = OrderEmail.objects.get_or_create(
        order=order,
        kind=kind,
        key=key,
        defaults={"recipient": order.email, "language": order.language, "context": context or {}},
    )
    if created:
        _send_after_commit(email.pk)
    return email


def _send_after_commit(email_id: int) -> None:
    from ..tasks import send_order_email

    transaction.on_commit(lambda: events.safe_delay(send_order_email, email_id))


def add_note(*, order: Order, text: str, user=None) -> OrderNote:
    """An internal note on an order (never shown to the shopper)."""
    return OrderNote.objects.create(order=order, text=text, user=user)


def order_lines(order: Order) -> list[OrderLine]:
    """The order's lines with variants and products, loaded once per order object."""
    if not hasattr(order, "_loaded_lines"):
        order._loaded_lines = list(order.lines.select_related("variant__product"))
    return order._loaded_lines


def _stock_lines(order: Order) -> list[tuple]:
    """What the order takes from the shelves: gift cards are not stock."""
    return [
        (line.variant, line.quantity)
        for line in order_lines(order)
        if line.variant_id is not None and not line.is_gift_card
    ]


@transaction.atomic
def change_status(*, order: Order, status: str, user=None, note: str = "") -> Order:
    """Move ``order`` to ``status`` if the workflow allows it; raises :class:`InvalidTransition`.

    Locks the order row, so two clerks (or a clerk and the payment webhook) cannot both move it.
    """
    locked = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
    if locked.status == status:
        raise InvalidTransition(_("The order is already “%(status)s”.") % {"status": S(status).label})
    problem = _transition_problem(locked, status)
    if problem:
        raise InvalidTransition(problem)
    previous = locked.status
    now = timezone.now()
    fields = ["status", "updated_at"]
    if status == S.CANCELLED and locked.payment_status == Order.PaymentStatus.PAID:
        _refuse_if_bought_cards_spent(locked)
    if status in GOODS_LEAVE and _stock_lines(locked):
        fields += _allocate_before_shipping(locked, user=user)
    locked.status = status
    handler = _SIDE_EFFECTS.get(status)
    if handler:
        fields += handler(locked, user=user, now=now)
    locked.save(update_fields=sorted(set(fields)))
    OrderStatusChange.objects.create(
        order=locked, from_status=previous, to_status=status, user=user, note=note[:500]
    )
    if status in EMAIL_FOR_STATUS:
        plan_email(locked, EMAIL_FOR_STATUS[status])
    events.publish(
        type="order.status_changed",
        payload={
            "order_id": locked.pk,
            "number": locked.number,
            "store_id": locked.store_id,
            "from": previous,
            "to": status,
        },
        store=locked.store,
    )
    # Keep the caller's object current.
    for name in [*fields, "status"]:
        setattr(order, name, getattr(locked, name))
    return order


def _refuse_if_bought_cards_spent(order: Order) -> None:
    from .codes import bought_cards_spent

    spent = bought_cards_spent(order=order)
    if spent > 0:
        raise InvalidTransition(
            _(
                "A gift card bought with this order has already been used (%(spent)s spent), so the "
                "order cannot be cancelled as a whole: refund what is left on the refund page."
            )
            % {"spent": spent}
        )


def withdraw_paid_goods(order: Order) -> None:
    """A cancelled or fully refunded order takes back what it delivered without a parcel: the
    gift cards it bought stop working and its download links close."""
    from catalog.downloads import revoke_downloads

    from .codes import withdraw_bought_gift_cards

    withdraw_bought_gift_cards(order=order)
    digital = [f"order-line:{line.pk}" for line in order_lines(order) if line.is_digital]
    if digital:
        revoke_downloads(references=digital)


# The statuses in which goods leave (or have left) the warehouse: never without their stock.
GOODS_LEAVE = {S.PACKED, S.SHIPPED, S.DELIVERED}


def _allocate_before_shipping(order: Order, *, user) -> list[str]:
    """Take the order's stock now if it was never taken (paid after its hold expired, marked
    paid by hand), and the units it was owed (sold on backorder or pre-order: allocated when
    stock arrived, ``catalog.stock.take_owed``); refuse the step while the goods are not on the
    shelves."""
    try:
        with transaction.atomic():
            if not order.stock_committed:
                stock.commit_sale(
                    reference=order.reservation_reference,
                    lines=_stock_lines(order),
                    user=user,
                    store=order.store,
                )
            stock.take_owed(reference=order.reservation_reference, user=user, store=order.store)
    except stock.InsufficientStock as exc:
        raise InvalidTransition(
            _(
                "No stock is allocated to this order and the goods are not in stock (%(items)s): "
                "restock them, or cancel the order and refund it."
            )
            % {"items": ", ".join(str(v) for v in exc.shortages)}
        ) from exc
    order.stock_committed = True
    return ["stock_committed"]


# --- What each status means ----------------------------------------------------------------------


def _on_paid(order: Order, *, user, now) -> list[str]:
    # Lock order (orders/locking.py): the order's payments before any stock row.
    Payment.objects.filter(order=order, status=Payment.Status.PENDING).exclude(
        provider=Payment.GIFT_CARD
    ).update(status=Payment.Status.PAID, paid_at=now)
    fields = []
    if not order.stock_committed and _stock_lines(order):
        try:
            stock.commit_sale(
                reference=order.reservation_reference, lines=_stock_lines(order), user=user, store=order.store
            )
        except stock.InsufficientStock:
            # The hold expired and the units were sold meanwhile: the money arrived for goods we
            # no longer have. Tell the merchant; the order stays paid so it is refunded or
            # fulfilled from a delivery, never silently lost.
            add_note(
                order=order,
                text=_(
                    "Paid after the stock hold expired and the goods are no longer in stock: "
                    "restock or refund."
                ),
            )
        else:
            order.stock_committed = True
            fields.append("stock_committed")
    order.payment_status = Order.PaymentStatus.PAID
    order.paid_at = order.paid_at or now
    order.reservation_expires_at = None
    fields += ["payment_status", "paid_at", "reservation_expires_at"]
    deliver_paid_goods(order)
    return fields


def deliver_paid_goods(order: Order) -> None:
    """Once the money is in: create bought gift cards, grant downloads, email them, and
    publish ``order.paid``."""
    from .codes import issue_gift_cards

    cards = issue_gift_cards(order=order)
    if cards:
        plan_email(order, OrderEmail.Kind.GIFT_CARDS, context={"gift_card_ids": [c.pk for c in cards]})
    links = _grant_downloads(order)
    if links:
        plan_email(order, OrderEmail.Kind.DOWNLOADS, context={"downloads": links})
    events.publish(
        type="order.paid",
        payload={
            "order_id": order.pk,
            "number": order.number,
            "store_id": order.store_id,
            "cart_id": order.cart_id,
            "email": order.email,
            "total": str(order.total),
            "currency": order.currency,
        },
        store=order.store,
    )


def _grant_downloads(order: Order) -> list[dict]:
    digital = [line for line in order_lines(order) if line.is_digital and line.variant_id]
    if not digital:
        return []
    from catalog.downloads import download_url, grant_downloads

    links = []
    for line in digital:
        for grant in grant_downloads(
            variant=line.variant, email=order.email, reference=f"order-line:{line.pk}"
        ):
            links.append(
                {
                    "product": line.name,
                    "title": grant.asset.title,
                    "url": download_url(grant),
                    "expires_at": grant.expires_at.isoformat(),
                    "downloads": grant.downloads_left,
                }
            )
    return links


def _on_packed(order: Order, *, user, now) -> list[str]:
    return []


def _on_shipped(order: Order, *, user, now) -> list[str]:
    order.shipped_at = now
    return ["shipped_at"]


def _on_delivered(order: Order, *, user, now) -> list[str]:
    order.delivered_at = now
    fields = ["delivered_at"]
    if order.payment_status == Order.PaymentStatus.UNPAID and order.payment_provider == (
        PaymentMethod.Provider.CASH_ON_DELIVERY
    ):
        # The courier collected the money.
        Payment.objects.filter(order=order, status=Payment.Status.PENDING).update(
            status=Payment.Status.PAID, paid_at=now
        )
        order.payment_status = Order.PaymentStatus.PAID
        order.paid_at = now
        fields += ["payment_status", "paid_at"]
        deliver_paid_goods(order)
    return fields


def _on_cancelled(order: Order, *, user, now) -> list[str]:
    from .codes import refund_gift_cards, release_voucher

    # Lock order (orders/locking.py): Order → Payment → Voucher → GiftCard → Variant → StockItem,
    # the order checkout takes them in, so a cancellation and a checkout never deadlock.
    list(Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk").values_list("pk"))
    Payment.objects.filter(order=order, status=Payment.Status.PENDING).update(status=Payment.Status.CANCELLED)
    release_voucher(order=order)
    refunded = refund_gift_cards(order=order)
    if refunded:
        Payment.objects.filter(order=order, provider=Payment.GIFT_CARD, status=Payment.Status.PAID).update(
            status=Payment.Status.REFUNDED
        )
    withdraw_paid_goods(order)  # bought gift cards (after the spent ones: pk order), downloads
    if order.stock_committed and _stock_lines(order):
        stock.restock(
            reference=order.reservation_reference, lines=_stock_lines(order), user=user, store=order.store
        )
        order.stock_committed = False
    else:
        stock.release_reservation(reference=order.reservation_reference)
    if order.payment_status == Order.PaymentStatus.PAID and order.amount_due > 0:
        from ..payments.refunds import online_payments

        if settings.ORDERS_AUTO_REFUND_CANCELLATIONS and online_payments(order):
            add_note(
                order=order,
                user=user,
                text=_("Cancelled after payment: %(amount)s goes back to the shopper (refund started).")
                % {"amount": order.amount_due},
            )
            order_id = order.pk
            transaction.on_commit(lambda: _enqueue_cancellation_refund(order_id))
        else:
            add_note(
                order=order,
                user=user,
                text=_("Cancelled after payment: refund %(amount)s to the shopper.")
                % {"amount": order.amount_due},
            )
    order.cancelled_at = now
    order.reservation_expires_at = None
    return ["cancelled_at", "reservation_expires_at", "stock_committed"]


def _enqueue_cancellation_refund(order_id: int) -> None:
    from ..tasks import refund_cancelled_order

    events.safe_delay(refund_cancelled_order, order_id)


def _on_returned(order: Order, *, user, now) -> list[str]:
    # Stock and refunds of returns are handled per return request (accepted lines restock).
    return []


_SIDE_EFFECTS = {
    S.PAID: _on_paid,
    S.PACKED: _on_packed,
    S.SHIPPED: _on_shipped,
    S.DELIVERED: _on_delivered,
    S.CANCELLED: _on_cancelled,
    S.RETURNED: _on_returned,
}
