"""The orders report: which orders a filter matches, streamed one dict per order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import Order, OrderLine, ShippingMethod
from orders.models.common import money
from shop.models import Store

from ..periods import bounds
from .common import ZERO, refunded_expression


@dataclass(frozen=True)
class OrderFilters:
    """What an order report lists: orders placed in [date_from, date_to] (local dates) that match
    every non-empty filter (an empty tuple means "any")."""

    date_from: date
    date_to: date
    statuses: tuple[str, ...] = ()
    payment_statuses: tuple[str, ...] = ()
    shipping_method_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()


def orders_queryset(*, store: Store, filters: OrderFilters):
    start, end = bounds(filters.date_from, filters.date_to, store.zone)
    qs = Order.objects.filter(store=store, created_at__gte=start, created_at__lt=end)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.payment_statuses:
        qs = qs.filter(payment_status__in=filters.payment_statuses)
    if filters.shipping_method_ids:
        qs = qs.filter(shipping_method_id__in=filters.shipping_method_ids)
    if filters.channels:
        qs = qs.filter(channel__in=filters.channels)
    return qs


def order_count(*, store: Store, filters: OrderFilters) -> int:
    return orders_queryset(store=store, filters=filters).count()


ORDER_ROW_FIELDS = (
    "number",
    "created_at",
    "status",
    "payment_status",
    "channel",
    "email",
    "customer",
    "shipping_method",
    "payment_method",
    "items",
    "subtotal",
    "discount",
    "shipping",
    "total",
    "refunded",
    "net",
    "currency",
)


def order_rows(*, store: Store, filters: OrderFilters, chunk_size: int | None = None) -> Iterator[dict]:
    """One dict per order (keys: :data:`ORDER_ROW_FIELDS`), oldest first, streamed from the
    database in chunks (``.values()`` + ``iterator``): memory stays flat for 100,000 orders.

    ``created_at`` is aware, in the store's zone; money is ``Decimal``; ``refunded`` sums the
    order's completed refunds (gateway refunds of any origin and returns refunded outside the
    gateway, :func:`.common.completed_refunds`) and ``net = total - refunded``.
    """
    zone = store.zone
    items = (
        OrderLine.objects.filter(order=OuterRef("pk")).values("order").annotate(s=Sum("quantity")).values("s")
    )
    qs = (
        orders_queryset(store=store, filters=filters)
        .annotate(
            items_sum=Coalesce(Subquery(items, output_field=IntegerField()), Value(0)),
            refunded_sum=refunded_expression(),
        )
        .order_by("created_at", "pk")
        .values(
            "number",
            "created_at",
            "status",
            "payment_status",
            "channel",
            "email",
            "billing_address__first_name",
            "billing_address__last_name",
            "billing_address__company_name",
            "shipping_address__first_name",
            "shipping_address__last_name",
            "shipping_method_name",
            "payment_method_name",
            "items_sum",
            "subtotal",
            "discount_total",
            "shipping_total",
            "total",
            "refunded_sum",
            "currency",
        )
    )
    status_labels = dict(Order.Status.choices)
    payment_labels = dict(Order.PaymentStatus.choices)
    channel_labels = dict(Order.Channel.choices)
    for row in qs.iterator(chunk_size=chunk_size or settings.REPORTS_CHUNK_SIZE):
        name = " ".join(
            p for p in (row["billing_address__first_name"], row["billing_address__last_name"]) if p
        ) or " ".join(
            p for p in (row["shipping_address__first_name"], row["shipping_address__last_name"]) if p
        )
        company = row["billing_address__company_name"]
        refunded_sum = row["refunded_sum"] or ZERO
        yield {
            "number": row["number"],
            "created_at": timezone.localtime(row["created_at"], zone),
            "status": str(status_labels.get(row["status"], row["status"])),
            "payment_status": str(payment_labels.get(row["payment_status"], row["payment_status"])),
            "channel": str(channel_labels.get(row["channel"], row["channel"])),
            "email": row["email"],
            "customer": f"{name} ({company})" if company and name else (company or name),
            "shipping_method": row["shipping_method_name"],
            "payment_method": row["payment_method_name"],
            "items": row["items_sum"] or 0,
            "subtotal": row["subtotal"],
            "discount": row["discount_total"],
            "shipping": row["shipping_total"],
            "total": row["total"],
            "refunded": money(refunded_sum),
            "net": money(row["total"] - refunded_sum),
            "currency": row["currency"],
        }


def shipping_methods(*, store: Store):
    return ShippingMethod.objects.filter(store=store).order_by("position", "name")


#: The orders that wait for the merchant, per step: new (to confirm), to pay, to pack, to ship.
TO_HANDLE = {
    "new": Order.Status.NEW,
    "to_pay": Order.Status.AWAITING_PAYMENT,
    "to_pack": Order.Status.PAID,
    "to_ship": Order.Status.PACKED,
}


def orders_to_handle(*, store_ids) -> dict[str, int]:
    """How many orders wait in each step of :data:`TO_HANDLE`, and ``returns``: return requests
    waiting for a decision. ``store_ids`` ``None`` means every store. Costs 2 queries."""
    from orders.models import Return

    orders = Order.objects.filter(status__in=list(TO_HANDLE.values()))
    returns = Return.objects.filter(status=Return.Status.REQUESTED)
    if store_ids is not None:
        orders = orders.filter(store__in=store_ids)
        returns = returns.filter(order__store__in=store_ids)
    counts = dict(orders.values_list("status").annotate(n=Count("id")).order_by())
    result = {key: counts.get(str(status), 0) for key, status in TO_HANDLE.items()}
    result["returns"] = returns.count()
    return result


def latest_orders(*, store_ids, limit: int = 8):
    """The newest orders of the stores (``None``: every store), with their store."""
    orders = Order.objects.select_related("store").order_by("-created_at", "-pk")
    if store_ids is not None:
        orders = orders.filter(store__in=store_ids)
    return list(orders[:limit])
