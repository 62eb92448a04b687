"""From validated parameters to a :class:`~reports.exports.Report` (and the sales charts).

One builder per kind. A builder runs the selectors lazily: the main section's rows are an
iterator the writers pull from, and its ``count`` comes from a ``COUNT(*)`` query, so deciding
between "download now" and "background job" costs one cheap query.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from shop import charts
from shop.models import Store
from shop.numbers import format_money, format_number, format_percent

from . import selectors
from .exports.table import BOOL, INT, MONEY, PERCENT, TEXT, Column, Report, Section
from .periods import period_label


def _range_label(date_from, date_to) -> str:
    return f"{date_from:%d.%m.%Y} – {date_to:%d.%m.%Y}"


def _yes_no() -> tuple[str, str]:
    return _("yes"), _("no")


# --- Sales ------------------------------------------------------------------------------------

METRIC_LABELS = {"revenue": "Revenue", "units": "Units sold", "orders": "Orders"}


def _metric_title(metric: str) -> str:
    return {"revenue": _("Revenue"), "units": _("Units sold"), "orders": _("Orders")}[metric]


def _collapse(variants: list[selectors.VariantSeries], metric: str, limit: int) -> list[charts.Series]:
    """One series per variant, the smallest beyond ``limit`` summed as "Other variants"."""
    shown = variants[:limit]
    rest = variants[limit:]
    result = [charts.Series(v.label, list(getattr(v, metric))) for v in shown]
    if rest:
        n = len(rest[0].revenue)
        totals = [
            sum((getattr(v, metric)[i] for v in rest), Decimal(0) if metric == "revenue" else 0)
            for i in range(n)
        ]
        result.append(charts.Series(_("Other variants (%(n)s)") % {"n": len(rest)}, totals))
    return result


def sales_charts(
    overview: selectors.SalesOverview, *, metric: str = "revenue", style: str = "stacked"
) -> dict:
    """SVG strings: ``main`` (the metric over time, per variant, with the previous period),
    ``products`` (top products by revenue) and ``channels`` (revenue per channel)."""
    series = overview.series
    unit = charts.Unit("money", series.currency) if metric == "revenue" else charts.Unit("count")
    categories = series.labels()
    title = _metric_title(metric)
    y_label = f"{title} ({unit.symbol})" if unit.symbol else title
    previous = []
    if overview.previous is not None:
        previous = [
            charts.Series(
                _("Previous period (%(range)s)")
                % {"range": _range_label(overview.previous.date_from, overview.previous.date_to)},
                overview.previous_aligned(metric),
                dashed=True,
            )
        ]
    empty = _("No sales in this period")
    if series.variants:
        split = _collapse(series.variants, metric, settings.REPORTS_MAX_SERIES)
        if metric == "orders" or style == "lines":
            # Orders per variant do not add up (one order may hold several variants): lines.
            total = [charts.Series(_("All selected products"), list(series.orders), color="#1d2330")]
            main = charts.line_chart(
                title=title,
                categories=categories,
                series=[*split, *(total if metric == "orders" else []), *previous],
                unit=unit,
                y_label=y_label,
                empty_message=empty,
            )
        else:
            main = charts.stacked_bar_chart(
                title=title,
                categories=categories,
                series=split,
                overlay=previous,
                unit=unit,
                y_label=y_label,
                empty_message=empty,
            )
    else:
        main = charts.line_chart(
            title=title,
            categories=categories,
            series=[charts.Series(_("Whole store"), list(getattr(series, metric))), *previous],
            unit=unit,
            y_label=y_label,
            empty_message=empty,
        )
    money_unit = charts.Unit("money", series.currency)
    products = charts.bar_chart(
        title=_("Top products by revenue"),
        labels=[p.label for p in overview.products],
        values=[p.revenue for p in overview.products],
        unit=money_unit,
        empty_message=empty,
    )
    channel_rows = [c for c in overview.channels if c.orders]
    channels = charts.bar_chart(
        title=_("Revenue per channel"),
        labels=[c.label for c in channel_rows],
        values=[c.revenue for c in channel_rows],
        unit=money_unit,
        color=charts.PALETTE[2],
        empty_message=empty,
    )
    return {"main": main, "products": products, "channels": channels}


def series_table(overview: selectors.SalesOverview) -> tuple[list[Column], list[dict]]:
    """The table under the chart: one row per period, per-variant revenue columns, totals."""
    series = overview.series
    columns = [Column("period", _("Period"), TEXT, width=24)]
    variant_columns = []
    shown = series.variants[: settings.REPORTS_MAX_SERIES]
    for i, v in enumerate(shown):
        key = f"variant_{i}"
        variant_columns.append((key, v))
        columns.append(Column(key, f"{v.label} ({v.sku})" if v.sku else v.label, MONEY, total=True, width=16))
    columns += [
        Column("orders", _("Orders"), INT, total=True, width=10),
        Column("units", _("Units"), INT, total=True, width=10),
        Column("gross", _("Sales"), MONEY, total=True, width=14),
        Column("refunds", _("Refunds"), MONEY, total=True, width=14),
        Column("revenue", _("Revenue"), MONEY, total=True, width=14),
    ]
    previous = overview.previous_aligned("revenue")
    if overview.previous is not None:
        columns += [
            Column("previous", _("Previous period"), MONEY, total=True, width=14),
            Column("change", _("Change %"), PERCENT, width=10),
        ]
    rows = []
    for i, label in enumerate(series.labels(long=True)):
        row = {
            "period": label,
            "orders": series.orders[i],
            "units": series.units[i],
            "gross": series.gross[i],
            "refunds": series.refunds[i],
            "revenue": series.revenue[i],
        }
        for key, v in variant_columns:
            row[key] = v.revenue[i]
        if overview.previous is not None:
            from shop.numbers import change_percent

            row["previous"] = previous[i]
            row["change"] = change_percent(series.revenue[i], previous[i])
        rows.append(row)
    return columns, rows


def summary_cards(overview: selectors.SalesOverview) -> list[dict]:
    labels = {
        "revenue": _("Revenue (after refunds)"),
        "gross": _("Sales"),
        "refunds": _("Refunds"),
        "orders": _("Orders"),
        "units": _("Units sold"),
        "average_order_value": _("Average order value"),
    }
    currency = overview.series.currency
    cards = []
    for item in overview.comparison:
        is_money = item["key"] not in ("orders", "units")

        def fmt(value, is_money=is_money):
            if value is None:
                return "–"
            return format_money(value, currency) if is_money else format_number(value)

        cards.append(
            {
                "key": item["key"],
                "label": labels[item["key"]],
                "value": fmt(item["current"]),
                "previous": fmt(item["previous"]),
                "change": format_percent(item["change"], signed=True) if item["change"] is not None else "",
                "down": item["change"] is not None and item["change"] < 0,
            }
        )
    return cards


def ranking_columns(kind: str) -> list[Column]:
    first = {"products": _("Product"), "categories": _("Category"), "channels": _("Channel")}[kind]
    columns = [
        Column("label", first, TEXT, width=36),
        Column("orders", _("Orders"), INT, total=kind == "channels", width=10),
        Column("units", _("Units"), INT, total=kind == "channels", width=10),
        Column("gross", _("Sales"), MONEY, total=kind == "channels", width=14),
        Column("refunds", _("Refunds"), MONEY, total=kind == "channels", width=14),
        Column("revenue", _("Revenue"), MONEY, total=kind == "channels", width=14),
    ]
    if kind == "channels":
        columns.append(Column("average_order_value", _("Average order value"), MONEY, width=14))
    return columns


def ranking_rows(items: list[selectors.Ranked]) -> list[dict]:
    return [
        {
            "label": r.label,
            "orders": r.orders,
            "units": r.units,
            "gross": r.gross,
            "refunds": r.refunds,
            "revenue": r.revenue,
            "average_order_value": r.average_order_value,
        }
        for r in items
    ]


def sales_overview_from_form(form, store: Store) -> selectors.SalesOverview:
    data = form.cleaned_data
    return selectors.sales_overview(
        store=store,
        date_from=data["date_from"],
        date_to=data["date_to"],
        granularity=data["granularity"],
        product_ids=[p.pk for p in data["products"]],
        statuses=form.effective_statuses,
        compare=data["compare"],
    )


def build_sales(form, store: Store) -> Report:
    overview = sales_overview_from_form(form, store)
    data = form.cleaned_data
    svgs = sales_charts(overview, metric=data["metric"], style=data["style"])
    columns, rows = series_table(overview)
    total = _("Total")
    sections = [
        Section(_("Sales per period"), columns, rows, count=len(rows), total_label=total),
        Section(
            _("Top products"),
            ranking_columns("products"),
            ranking_rows(overview.products),
            len(overview.products),
        ),
        Section(
            _("Top categories"),
            ranking_columns("categories"),
            ranking_rows(overview.categories),
            len(overview.categories),
        ),
        Section(
            _("Sales per channel"),
            ranking_columns("channels"),
            ranking_rows(overview.channels),
            len(overview.channels),
            total_label=total,
        ),
    ]
    products = ", ".join(p.name for p in data["products"])
    title = _("Sales report") + (f": {products}" if products else "")
    granularity = dict(form.fields["granularity"].choices)[data["granularity"]]
    return Report(
        title=title[:200],
        store_name=store.name,
        range_label=f"{_range_label(data['date_from'], data['date_to'])} · {granularity}",
        currency=store.currency,
        sections=sections,
        charts=[svgs["main"], svgs["products"], svgs["channels"]],
        summary=[(c["label"], f"{c['value']} {c['change']}".strip()) for c in summary_cards(overview)],
        filename_stem="sales",
        yes_no=_yes_no(),
    )


# --- Orders -----------------------------------------------------------------------------------


def order_columns() -> list[Column]:
    return [
        Column("number", _("Number"), TEXT, width=16),
        Column("created_at", _("Placed at"), "datetime", width=17),
        Column("status", _("Status"), TEXT, width=14),
        Column("payment_status", _("Payment"), TEXT, width=14),
        Column("channel", _("Channel"), TEXT, width=12),
        Column("email", _("Email"), TEXT, width=26, in_pdf=False),
        Column("customer", _("Customer"), TEXT, width=24),
        Column("shipping_method", _("Shipping"), TEXT, width=18),
        Column("payment_method", _("Payment method"), TEXT, width=18, in_pdf=False),
        Column("items", _("Items"), INT, total=True, width=8),
        Column("subtotal", _("Products"), MONEY, total=True, width=13, in_pdf=False),
        Column("discount", _("Discount"), MONEY, total=True, width=12, in_pdf=False),
        Column("shipping", _("Shipping cost"), MONEY, total=True, width=12, in_pdf=False),
        Column("total", _("Total"), MONEY, total=True, width=13),
        Column("refunded", _("Refunded"), MONEY, total=True, width=13),
        Column("net", _("After refunds"), MONEY, total=True, width=13),
    ]


def build_orders(form, store: Store) -> Report:
    filters = form.filters()
    count = selectors.order_count(store=store, filters=filters)
    rows = selectors.order_rows(store=store, filters=filters)
    return Report(
        title=_("Orders"),
        store_name=store.name,
        range_label=_range_label(filters.date_from, filters.date_to),
        currency=store.currency,
        sections=[
            Section(
                _("Orders"), order_columns(), rows, count=count, total_label=_("Total (%(n)s)") % {"n": count}
            )
        ],
        landscape=True,
        filename_stem="orders",
        yes_no=_yes_no(),
    )


# --- Stock ------------------------------------------------------------------------------------


def stock_columns() -> list[Column]:
    return [
        Column("sku", _("SKU"), TEXT, width=16),
        Column("product", _("Product"), TEXT, width=30),
        Column("variant", _("Variant"), TEXT, width=16),
        Column("category", _("Category"), TEXT, width=18, in_pdf=False),
        Column("on_hand", _("On hand"), INT, total=True, width=10),
        Column("reserved", _("Reserved"), INT, total=True, width=10),
        Column("available", _("Available"), INT, total=True, width=10),
        Column("threshold", _("Low-stock threshold"), INT, width=10),
        Column("below_threshold", _("Low stock"), BOOL, width=9),
        Column("cost_price", _("Cost (net)"), MONEY, width=12),
        Column("price", _("Price (gross)"), MONEY, width=12),
        Column("value_at_cost", _("Value at cost"), MONEY, total=True, width=14),
        Column("value_at_price", _("Value at price"), MONEY, total=True, width=14),
    ]


def build_stock(form, store: Store) -> Report:
    params = form.to_params()
    kwargs = {"only_below_threshold": params["only_below_threshold"], "warehouse_id": params["warehouse"]}
    count = selectors.stock_count(store=store, **kwargs)
    below = selectors.stock_count(store=store, only_below_threshold=True, warehouse_id=params["warehouse"])
    warehouse = form.cleaned_data.get("warehouse")
    label = warehouse.name if warehouse else _("all active warehouses")
    if params["only_below_threshold"]:
        label += " · " + _("only low stock")
    from django.utils import timezone

    now = timezone.localtime(timezone.now(), store.zone)
    return Report(
        title=_("Stock"),
        store_name=store.name,
        range_label=f"{now:%d.%m.%Y %H:%M} · {label}",
        currency=store.currency,
        sections=[
            Section(
                _("Stock"),
                stock_columns(),
                selectors.stock_rows(store=store, **kwargs),
                count=count,
                total_label=_("Total (%(n)s)") % {"n": count},
            )
        ],
        summary=[(_("Variants at or below their threshold"), format_number(below))],
        landscape=True,
        filename_stem="stock",
        yes_no=_yes_no(),
    )


# --- Recovery ---------------------------------------------------------------------------------


def recovery_columns() -> list[Column]:
    return [
        Column("campaign", _("Campaign"), TEXT, width=28),
        Column("abandoned", _("Abandoned carts"), INT, total=True, width=12),
        Column("reachable", _("Reachable"), INT, total=True, width=11),
        Column("holdout", _("Control group"), INT, total=True, width=11),
        Column("sent", _("Messages sent"), INT, total=True, width=11),
        Column("opened", _("Opened"), INT, total=True, width=10),
        Column("clicked", _("Clicked"), INT, total=True, width=10),
        Column("recovered", _("Recovered carts"), INT, total=True, width=11),
        Column("recovered_revenue", _("Recovered revenue"), MONEY, total=True, width=15),
        Column("recovery_rate", _("Recovery rate"), PERCENT, width=11),
        Column("open_rate", _("Open rate"), PERCENT, width=10),
        Column("click_rate", _("Click rate"), PERCENT, width=10),
        Column("lift", _("Lift vs control (pp)"), PERCENT, width=12),
    ]


def build_recovery(form, store: Store) -> Report:
    data = form.cleaned_data
    rows, total = selectors.recovery_rows(store=store, date_from=data["date_from"], date_to=data["date_to"])
    money_unit = charts.Unit("money", store.currency)
    chart = charts.bar_chart(
        title=_("Recovered revenue per campaign"),
        labels=[r["campaign"] for r in rows],
        values=[r["recovered_revenue"] for r in rows],
        unit=money_unit,
        empty_message=_("No abandoned carts in this period"),
    )
    return Report(
        title=_("Cart recovery"),
        store_name=store.name,
        range_label=_range_label(data["date_from"], data["date_to"]),
        currency=store.currency,
        sections=[Section(_("Campaigns"), recovery_columns(), rows, count=len(rows), total_label=_("Total"))],
        charts=[chart],
        summary=[
            (_("Abandoned carts"), format_number(total["abandoned"])),
            (_("Recovered carts"), format_number(total["recovered"])),
            (_("Recovered revenue"), format_money(total["recovered_revenue"], store.currency)),
            (_("Recovery rate"), format_percent(total["recovery_rate"])),
            (_("Lift vs control (pp)"), format_percent(total["lift"])),
        ],
        landscape=True,
        filename_stem="recovery",
        yes_no=_yes_no(),
    )


BUILDERS = {
    "sales": build_sales,
    "orders": build_orders,
    "stock": build_stock,
    "recovery": build_recovery,
}

__all__ = ["BUILDERS", "period_label", "sales_charts", "series_table", "summary_cards"]
