"""Read queries behind every report, one module per report. They return plain data
(dataclasses, dicts, Decimals) so the admin pages, the exports, the API and the tests share one
source of numbers.

* :mod:`.sales`: sales per period, rankings of products, categories and channels, the overview;
* :mod:`.orders`: the orders a filter matches, streamed;
* :mod:`.stock`: counted variants with their stock and its value;
* :mod:`.recovery`: cart recovery per campaign;
* :mod:`.common`: what they share (paid statuses, period truncation, the default range).

The rules every number follows (docs/reports.md):

* An order belongs to the period of its ``created_at`` (when it was placed), cut into days,
  weeks and months on the store's wall clock (``TruncDay(..., tzinfo=store.zone)``).
* Only orders in ``statuses`` count; by default the paid ones (:data:`PAID_STATUSES`).
* Refunds are every completed refund (:func:`.common.completed_refunds`: gateway refunds from the
  refund page, returns and cancellations, and returns refunded outside the gateway), each once,
  subtracted in the period of their order: a report on March shows what March's orders are
  worth today. Per product they are the refunded returned lines (a refund without lines names
  no product).
* Whole-store figures use order totals (products, shipping and fees, after discounts); figures
  per product or variant use line totals after discount, net of their returned lines.

Callers import from this package (``from reports import selectors``); the names below are the
public ones.
"""

from .common import MONEY_FIELD, PAID_STATUSES, ZERO, default_range
from .orders import ORDER_ROW_FIELDS, OrderFilters, order_count, order_rows, orders_queryset, shipping_methods
from .recovery import RECOVERY_COUNTS, recovery_rows
from .sales import (
    Ranked,
    SalesOverview,
    SalesSeries,
    VariantSeries,
    sales_by_channel,
    sales_overview,
    sales_series,
    top_categories,
    top_products,
)
from .stock import stock_count, stock_queryset, stock_rows

__all__ = [
    "MONEY_FIELD",
    "ORDER_ROW_FIELDS",
    "PAID_STATUSES",
    "RECOVERY_COUNTS",
    "ZERO",
    "OrderFilters",
    "Ranked",
    "SalesOverview",
    "SalesSeries",
    "VariantSeries",
    "default_range",
    "order_count",
    "order_rows",
    "orders_queryset",
    "recovery_rows",
    "sales_by_channel",
    "sales_overview",
    "sales_series",
    "shipping_methods",
    "stock_count",
    "stock_queryset",
    "stock_rows",
    "top_categories",
    "top_products",
]
