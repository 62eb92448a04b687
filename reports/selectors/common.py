"""What every report shares: the paid statuses a sales figure counts by default, money zero,
period truncation on the store's wall clock, the default date range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    DecimalField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from orders.models import Order, PaymentRefund, Return
from shop.models import Store

ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)

#: Orders whose money came in and that were not cancelled: the default of every sales figure.
PAID_STATUSES = (
    Order.Status.PAID,
    Order.Status.PACKED,
    Order.Status.SHIPPED,
    Order.Status.DELIVERED,
    Order.Status.RETURNED,
)

TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def period_key(value, zone) -> date:
    """The local start date of a truncated value (a date, or an aware datetime)."""
    if hasattr(value, "astimezone"):
        return value.astimezone(zone).date()
    return value


def trunc(field_name: str, granularity: str, zone):
    return TRUNC[granularity](field_name, tzinfo=zone)


def counted_statuses(statuses: Sequence[str] | None) -> list[str]:
    return list(statuses) if statuses else [str(s) for s in PAID_STATUSES]


def default_range(*, store: Store, days: int = 30) -> tuple[date, date]:
    """The last ``days`` local days up to today, in the store's zone."""
    today = timezone.localdate(timezone=store.zone)
    return today - timedelta(days=days - 1), today


def completed_refunds(**order_filter) -> list[tuple[QuerySet, str]]:
    """Every completed refund of the orders ``order_filter`` picks (``order__in=orders`` or
    ``order=OuterRef("pk")``), each once, as (queryset with an ``order`` FK, amount field):

    * gateway refunds that succeeded, whatever started them: the admin's refund page, an accepted
      return, a cancelled paid order;
    * returns marked refunded without a succeeded gateway refund (money sent back by bank
      transfer or in cash): their ``refund_amount``. A return refunded through the gateway is
      counted by its gateway refunds, so it is left out here.
    """
    return [
        (PaymentRefund.objects.filter(status=PaymentRefund.Status.SUCCEEDED, **order_filter), "amount"),
        (
            Return.objects.filter(status=Return.Status.REFUNDED, **order_filter).exclude(
                payment_refunds__status=PaymentRefund.Status.SUCCEEDED
            ),
            "refund_amount",
        ),
    ]


def refunded_expression():
    """What :func:`completed_refunds` gives back per order, as an expression on ``Order`` rows."""
    total = Value(ZERO, output_field=MONEY_FIELD)
    for queryset, field in completed_refunds(order=OuterRef("pk")):
        per_order = queryset.values("order").annotate(s=Sum(field)).values("s")
        total = total + Coalesce(Subquery(per_order, output_field=MONEY_FIELD), Value(ZERO))
    return total
