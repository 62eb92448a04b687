"""The admin home page, "the day at a glance", for the stores the signed-in member of staff works
on (``user_store_ids``; superusers: every store).

Every figure comes from a report selector (``reports.selectors``: sales, orders to handle, stock,
recovery, failures) and links to the admin list holding exactly the rows it counts (the admin's
store scoping narrows those lists the same way). A figure whose list the user may not open is
not shown. The page costs a fixed number of queries, whatever the number of orders or stores.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .admin_mixins import scope_to_stores, user_store_ids
from .money import round_to
from .numbers import change_percent, format_money, format_number, format_percent

#: Windows of whole local days counted back from today: (first day, last day).
WINDOWS = {
    "today": (0, 0),
    "yesterday": (1, 1),
    "week": (6, 0),
    "prev_week": (13, 7),
    "month": (29, 0),
    "prev_month": (59, 30),
}
#: (window, the window it is compared with, title, comparison label)
SALES_CARDS = [
    ("today", "yesterday", gettext_lazy("Today"), gettext_lazy("yesterday")),
    ("week", "prev_week", gettext_lazy("Last 7 days"), gettext_lazy("the 7 days before")),
    ("month", "prev_month", gettext_lazy("Last 30 days"), gettext_lazy("the 30 days before")),
]
RECOVERY_DAYS = 30
LATEST_ORDERS = 8


def _url(name: str, params: dict | None = None, *args) -> str | None:
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return None
    return f"{url}?{urlencode(params)}" if params else url


def _iso(moment) -> str:
    return moment.isoformat()


def _change(current, previous) -> dict:
    change = change_percent(current, previous)
    return {
        "text": format_percent(change, signed=True) if change is not None else "",
        "direction": "" if change is None else ("up" if change > 0 else "down" if change < 0 else "flat"),
    }


def sales_section(stores) -> list[dict]:
    from reports.selectors import PAID_STATUSES
    from reports.selectors.sales import sales_totals

    groups = sales_totals(stores=stores, windows=WINDOWS)
    statuses = ",".join(str(s) for s in PAID_STATUSES)
    result = []
    for group in groups:
        cards = []
        for key, previous_key, title, versus in SALES_CARDS:
            now, before = group.figures[key], group.figures[previous_key]
            link = None
            if group.bounds is not None:
                start, end = group.bounds[key]
                params = {"status__in": statuses, "created_at__gte": _iso(start), "created_at__lt": _iso(end)}
                if len(groups) > 1:
                    params["store__id__in"] = ",".join(str(pk) for pk in group.store_ids)
                link = _url("admin:orders_order_changelist", params)
            cards.append(
                {
                    "key": key,
                    "title": str(title),
                    "value": format_money(now["revenue"], group.currency),
                    "orders": now["orders"],
                    "orders_text": ngettext("%(n)s order", "%(n)s orders", now["orders"])
                    % {"n": format_number(now["orders"])},
                    "previous": format_money(before["revenue"], group.currency),
                    "versus": str(versus),
                    "change": _change(now["revenue"], before["revenue"]),
                    "url": link,
                }
            )
        result.append({"currency": group.currency, "cards": cards})
    return result


def work_section(user, store_ids) -> list[dict]:
    from reports.selectors.orders import TO_HANDLE, orders_to_handle

    rows = []
    show_orders = user.has_perm("orders.view_order")
    show_returns = user.has_perm("orders.view_return")
    if not (show_orders or show_returns):
        return rows
    counts = orders_to_handle(store_ids=store_ids)
    labels = {
        "new": _("New, to confirm"),
        "to_pay": _("Waiting for payment"),
        "to_pack": _("Paid, to pack"),
        "to_ship": _("Packed, to ship"),
    }
    if show_orders:
        for key, status in TO_HANDLE.items():
            rows.append(
                {
                    "key": key,
                    "label": labels[key],
                    "count": counts[key],
                    "url": _url("admin:orders_order_changelist", {"status__exact": str(status)}),
                }
            )
    if show_returns:
        rows.append(
            {
                "key": "returns",
                "label": _("Returns to decide"),
                "count": counts["returns"],
                "url": _url("admin:orders_return_changelist", {"status__exact": "requested"}),
            }
        )
    return rows


def stock_section(user, stores, store_ids) -> list[dict]:
    from reports.models import KIND_PERMISSIONS, ReportKind
    from reports.selectors.stock import stock_alerts

    if not user.has_perm(KIND_PERMISSIONS[ReportKind.STOCK]):
        return []
    alerts = stock_alerts(store_ids=store_ids)
    rows = []
    for store in stores:
        figures = alerts.get(store.pk, {"below": 0, "out": 0})
        rows.append(
            {
                "store": store.name,
                "below": figures["below"],
                "low": figures["below"] - figures["out"],
                "out": figures["out"],
                "url": _url(
                    "admin:reports_reportjob_stock",
                    {"store": store.pk, "only_below_threshold": "on", "delimiter": ";"},
                ),
            }
        )
    return rows


def recovery_section(user, stores) -> list[dict]:
    from reports.selectors.recovery import recovery_totals

    if not user.has_perm("recovery.view_trackedcart"):
        return []
    totals = recovery_totals(stores=stores, days=RECOVERY_DAYS)
    zones = {s.timezone for s in stores}
    params = {}
    if len(zones) == 1:
        from reports.periods import bounds

        zone = stores[0].zone
        today = timezone.localdate(timezone=zone)
        start, end = bounds(today - timedelta(days=RECOVERY_DAYS - 1), today, zone)
        params = {"abandoned_at__gte": _iso(start), "abandoned_at__lt": _iso(end)}
    result = []
    for currency, d in totals.items():
        extra = {"store__id__in": ",".join(str(s.pk) for s in stores if s.currency == currency)}
        if len(totals) == 1:
            extra = {}
        link = _url("admin:recovery_trackedcart_changelist", {**params, **extra}) if params else None
        recovered_link = (
            _url(
                "admin:recovery_trackedcart_changelist",
                {**params, **extra, "state__exact": "recovered", "recovered_via__in": "via_link,after_click"},
            )
            if params
            else None
        )
        result.append(
            {
                "currency": currency,
                "abandoned": d.abandoned,
                "abandoned_url": link,
                "recovered": d.recovered,
                "recovered_url": recovered_link,
                "revenue": format_money(d.recovered_revenue, currency),
                "rate": format_percent(d.recovery_rate * 100) if d.recovery_rate is not None else "",
                "holdout": d.holdout,
                "lift": _points(d.lift) if d.holdout and d.lift is not None else None,
                "dashboard_url": _url("admin:recovery_dashboard")
                if user.has_perm("recovery.view_recovery_dashboard")
                else None,
            }
        )
    return result


def _points(lift: float) -> str:
    """A difference of two rates in percentage points, signed: ``+3,2``."""
    value = round_to(Decimal(str(lift)) * 100, "0.1")
    return ("+" if value > 0 else "") + format_number(value, 1)


FAILURE_VIEWS = {
    # key: (label, changelist, permission, GET parameters of the list filter)
    "sync_runs": (
        gettext_lazy("Failed integration runs (7 days)"),
        "admin:integrations_syncrun_changelist",
        "integrations.view_syncrun",
    ),
    "ksef": (
        gettext_lazy("Invoices rejected by KSeF"),
        "admin:orders_ksefsubmission_changelist",
        "orders.view_ksefsubmission",
    ),
    "emails": (
        gettext_lazy("Order e-mails not sent"),
        "admin:orders_orderemail_changelist",
        "orders.view_orderemail",
    ),
    "deliveries": (
        gettext_lazy("Failed event deliveries"),
        "admin:shop_eventdelivery_changelist",
        "shop.view_eventdelivery",
    ),
}


def _failure_params(lookups: dict) -> dict:
    params = {}
    for key, value in lookups.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, bool):
            value = "1" if value else "0"
        params[key if "__" in key else f"{key}__exact"] = str(value)
    return params


def failures_section(user, store_ids) -> list[dict]:
    from reports.selectors.attention import failure_lookups, failures

    from .roles import is_operator

    now = timezone.now()
    keys = [k for k, (_label, _name, perm) in FAILURE_VIEWS.items() if user.has_perm(perm)]
    if "deliveries" in keys and not is_operator(user):
        keys.remove("deliveries")  # the outbox is in System, shown to operators only
    counts = failures(store_ids=store_ids, keys=keys, now=now)
    rows = []
    for key in keys:
        label, name, _perm = FAILURE_VIEWS[key]
        rows.append(
            {
                "key": key,
                "label": str(label),
                "count": counts[key],
                "url": _url(name, _failure_params(failure_lookups(key, now=now))),
            }
        )
    return rows


def latest_orders_section(user, store_ids) -> list[dict]:
    from orders.models import Order
    from reports.selectors.orders import latest_orders

    if not user.has_perm("orders.view_order"):
        return []
    labels = dict(Order.Status.choices)
    return [
        {
            "number": order.number,
            "url": _url("admin:orders_order_change", None, order.pk),
            "store": order.store.name,
            "email": order.email,
            "created_at": order.created_at,
            "status": str(labels.get(order.status, "")),
            "status_key": order.status,
            "total": format_money(order.total, order.currency),
        }
        for order in latest_orders(store_ids=store_ids, limit=LATEST_ORDERS)
    ]


def checklist_section(request, stores) -> dict | None:
    """The first steps of the store the page is about (the request's, else the default one)."""
    from . import setup_checklist

    if not request.user.has_perm("shop.change_store") or not stores:
        return None
    current = getattr(request, "store", None)
    store = next((s for s in stores if current is not None and s.pk == current.pk), None)
    store = store or next((s for s in stores if s.is_default), None) or stores[0]
    steps = setup_checklist.checklist(store)
    done = sum(1 for s in steps if s.done)
    complete = done == len(steps)
    return {
        "store": store.name,
        "steps": steps,
        "done": done,
        "total": len(steps),
        "complete": complete,
        "open": not complete or request.GET.get("setup") == "1",
    }


def home_context(request) -> dict:
    from .models import Store

    user = request.user
    store_ids = user_store_ids(user)
    stores = list(scope_to_stores(Store.objects.order_by("name", "pk"), user))
    if not stores:
        return {"dashboard": {"no_store": True}}
    return {
        "dashboard": {
            "stores": [s.name for s in stores],
            "sales": sales_section(stores) if user.has_perm("orders.view_order") else [],
            "work": work_section(user, store_ids),
            "stock": stock_section(user, stores, store_ids),
            "recovery": recovery_section(user, stores),
            "failures": failures_section(user, store_ids),
            "latest": latest_orders_section(user, store_ids),
            "checklist": checklist_section(request, stores),
        }
    }
