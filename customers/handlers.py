"""Domain events that change a customer's row (registered in ``CustomersConfig.ready``)."""

from __future__ import annotations

from orders.models import Cart, Order

from . import directory


def _refresh_order(order_id) -> None:
    order = Order.objects.filter(pk=order_id).values("store_id", "email").first()
    if order is not None:
        directory.refresh(store_id=order["store_id"], emails=[order["email"]])


def handle_order_event(event) -> None:
    """order.created / order.paid / order.status_changed / order.refunded / return.*"""
    order_id = event.payload.get("order_id")
    if order_id:
        _refresh_order(int(order_id))


def handle_cart_updated(event) -> None:
    """A cart with an address (and the consent answers saved with it) makes a customer."""
    cart_id = event.payload.get("cart_id")
    if not cart_id:
        return
    cart = Cart.objects.filter(pk=int(cart_id)).values("store_id", "email", "user__email").first()
    if cart is not None:
        emails = [e for e in (cart["email"], cart["user__email"]) if e]
        if emails:
            directory.refresh(store_id=cart["store_id"], emails=emails)


def handle_account_registered(event) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=event.payload.get("user_id")).first()
    if user is not None and event.store_id:
        directory.register_account(store_id=event.store_id, user=user)
