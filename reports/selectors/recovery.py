"""The cart-recovery report: per campaign and for the whole store, the recovery app's own figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from shop.models import Store
from shop.money import round_to

from ..periods import bounds
from .common import ZERO

RECOVERY_COUNTS = ("abandoned", "reachable", "treated", "holdout", "sent", "opened", "clicked", "recovered")


def _percent(value) -> Decimal | None:
    return None if value is None else round_to(Decimal(str(value)) * 100, "0.1")


def _recovery_row(label: str, d) -> dict:
    return {
        "campaign": label,
        **{key: getattr(d, key) for key in RECOVERY_COUNTS},
        "recovered_revenue": d.recovered_revenue,
        "recovery_rate": _percent(d.recovery_rate),
        "open_rate": _percent(d.open_rate),
        "click_rate": _percent(d.click_rate),
        "lift": _percent(d.lift),
    }


def recovery_rows(*, store: Store, date_from: date, date_to: date) -> tuple[list[dict], dict]:
    """Cart recovery per campaign for carts abandoned in the range, and the whole-store row.

    The figures are the recovery app's own (``recovery.selectors.dashboard``: the same numbers
    as its dashboard), one call per campaign that had abandoned carts in the range; carts no
    campaign picked up are the difference to the whole-store figures. Rates are percentages:
    recovered / reachable, opened and clicked / sent; ``lift`` is the treated minus the control
    group's conversion rate (percentage points).
    """
    from recovery.models import Campaign, TrackedCart
    from recovery.selectors import dashboard

    start, end = bounds(date_from, date_to, store.zone)
    total = dashboard(store=store, start=date_from, end=date_to)
    campaign_ids = (
        TrackedCart.objects.filter(
            store=store, abandoned_at__gte=start, abandoned_at__lt=end, campaign__isnull=False
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    rows = []
    for campaign in Campaign.objects.filter(pk__in=list(campaign_ids)).order_by("name", "pk"):
        rows.append(
            _recovery_row(
                campaign.name, dashboard(store=store, start=date_from, end=date_to, campaign=campaign)
            )
        )
    rest = {key: getattr(total, key) - sum(r[key] for r in rows) for key in RECOVERY_COUNTS}
    if rest["abandoned"] > 0:
        revenue = total.recovered_revenue - sum((r["recovered_revenue"] for r in rows), ZERO)
        rows.append(
            {
                "campaign": _("(no campaign)"),
                **rest,
                "recovered_revenue": revenue,
                "recovery_rate": _percent(rest["recovered"] / rest["reachable"])
                if rest["reachable"]
                else None,
                "open_rate": _percent(rest["opened"] / rest["sent"]) if rest["sent"] else None,
                "click_rate": _percent(rest["clicked"] / rest["sent"]) if rest["sent"] else None,
                "lift": None,
            }
        )
    rows.sort(key=lambda r: (-r["recovered_revenue"], r["campaign"]))
    return rows, _recovery_row(_("Whole store"), total)


def recovery_totals(*, stores, days: int = 30, now=None) -> dict[str, object]:
    """Cart recovery of ``stores`` over the last ``days`` local days (each store's own wall
    clock), per currency: a ``recovery.selectors.Dashboard`` holding the cart figures of the
    recovery dashboard (abandoned, reachable, recovered, recovered revenue, holdout and lift).
    Costs 1 query, whatever the number of stores."""
    from collections import defaultdict
    from datetime import timedelta
    from functools import reduce
    from operator import or_

    from django.db.models import Q
    from django.utils import timezone

    from recovery.models import TrackedCart
    from recovery.selectors import CART_COUNTS, Dashboard, fill_cart_counts

    if not stores:
        return {}
    now = now or timezone.now()
    zones: dict[str, list] = defaultdict(list)
    for store in stores:
        zones[store.timezone].append(store)
    conditions = []
    for group in zones.values():
        today = timezone.localdate(now, timezone=group[0].zone)
        start, end = bounds(today - timedelta(days=days - 1), today, group[0].zone)
        conditions.append(Q(store__in=[s.pk for s in group], abandoned_at__gte=start, abandoned_at__lt=end))
    rows = {
        row["store__currency"]: row
        for row in TrackedCart.objects.filter(reduce(or_, conditions))
        .values("store__currency")
        .annotate(**CART_COUNTS)
        .order_by()
    }
    result = {}
    for currency in sorted({s.currency for s in stores}):
        today = timezone.localdate(now)
        d = Dashboard(start=today - timedelta(days=days - 1), end=today)
        result[currency] = fill_cart_counts(d, rows.get(currency, {}))
    return result
