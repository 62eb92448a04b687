"""Orders, lines and refunds built directly as rows (no checkout), for hand-computed reports.

order = make_order(store, at=datetime(2025, 1, 14, 22, 30, tzinfo=UTC), lines=[(variant, 2)])
refund(order.lines.first(), quantity=1, amount=Decimal("100.00"))
"""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import Permission

from orders.models import Address, Order, OrderLine, Return, ReturnLine, ShippingMethod
from tests.shop.factories import StaffFactory

_numbers = itertools.count(1)


def make_order(
    store,
    *,
    at: datetime,
    lines: list[tuple],
    status: str = Order.Status.PAID,
    payment_status: str | None = None,
    channel: str = Order.Channel.STOREFRONT,
    shipping: Decimal = Decimal("0.00"),
    shipping_method: ShippingMethod | None = None,
    discount: Decimal = Decimal("0.00"),
    customer: tuple[str, str] = ("Zofia", "Żółkiewska"),
    company: str = "",
) -> Order:
    """``lines``: ``(variant, quantity)`` or ``(variant, quantity, unit_price)`` tuples."""
    if payment_status is None:
        paid = status not in (Order.Status.NEW, Order.Status.AWAITING_PAYMENT, Order.Status.CANCELLED)
        payment_status = Order.PaymentStatus.PAID if paid else Order.PaymentStatus.UNPAID
    address = Address.objects.create(first_name=customer[0], last_name=customer[1], company_name=company)
    order = Order.objects.create(
        store=store,
        number=f"KS-T{next(_numbers):06d}",
        email=f"{customer[0].lower()}@example.com",
        status=status,
        payment_status=payment_status,
        channel=channel,
        currency=store.currency,
        billing_address=address,
        shipping_method=shipping_method,
        shipping_method_name=shipping_method.name if shipping_method else "",
        payment_method_name="Przelew",
        created_at=at,
        paid_at=at if payment_status != Order.PaymentStatus.UNPAID else None,
    )
    subtotal = Decimal("0.00")
    for position, spec in enumerate(lines):
        variant, quantity = spec[0], spec[1]
        unit_price = spec[2] if len(spec) > 2 else variant.price
        total = unit_price * quantity
        OrderLine.objects.create(
            order=order,
            variant=variant,
            product_name=variant.product.name,
            variant_name=variant.name,
            sku=variant.sku,
            quantity=quantity,
            unit_price=unit_price,
            total=total,
            position=position,
        )
        subtotal += total
    order.subtotal = subtotal
    order.discount_total = discount
    order.shipping_total = shipping
    order.total = subtotal - discount + shipping
    order.save()
    return order


def refund(
    line: OrderLine, *, quantity: int, amount: Decimal, status: str = Return.Status.REFUNDED
) -> Return:
    ret = Return.objects.create(order=line.order, status=status, refund_amount=amount)
    ReturnLine.objects.create(return_request=ret, order_line=line, quantity=quantity, refund_amount=amount)
    return ret


def shipping_method(store, name="Kurier DPD", code="dpd") -> ShippingMethod:
    return ShippingMethod.objects.create(store=store, name=name, code=code)


def staff_with(*codenames: str, **kwargs):
    """A member of staff holding ``reports.<codename>`` permissions (none: plain staff)."""
    user = StaffFactory(**kwargs)
    if codenames:
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="reports", codename__in=codenames)
        )
    return user
