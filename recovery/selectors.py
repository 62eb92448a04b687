"""Read queries of recovery: the dashboard's figures, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from shop.money import round_money

from .models import Campaign, Reminder, TrackedCart
from .stats import ZTest, rate, two_proportion_z_test

CONVERTED = [TrackedCart.State.RECOVERED, TrackedCart.State.ORDERED]


@dataclass
class StepRow:
    campaign: str
    position: int
    channel: str
    sent: int
    opened: int
    clicked: int
    recovered: int
    revenue: Decimal

    @property
    def channel_label(self) -> str:
        """The channel's name ("e-mail", "SMS"), never its code."""
        from .models.campaigns import Channel

        return str(Channel(self.channel).label) if self.channel in Channel.values else self.channel

    @property
    def open_rate(self):
        return rate(self.opened, self.sent)

    @property
    def click_rate(self):
        return rate(self.clicked, self.sent)


@dataclass
class VariantRow:
    step: str
    name: str
    sent: int
    opened: int
    clicked: int
    recovered: int
    revenue: Decimal
    test: ZTest | None = None
    is_control: bool = False

    @property
    def recovery_rate(self):
        return rate(self.recovered, self.sent)

    @property
    def click_rate(self):
        return rate(self.clicked, self.sent)


@dataclass
class Dashboard:
    start: date
    end: date
    abandoned: int = 0
    reachable: int = 0
    treated: int = 0
    holdout: int = 0
    treated_converted: int = 0
    holdout_converted: int = 0
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    via_link: int = 0
    via_link_revenue: Decimal = Decimal("0")
    after_click: int = 0
    after_click_revenue: Decimal = Decimal("0")
    steps: list[StepRow] = field(default_factory=list)
    variants: list[VariantRow] = field(default_factory=list)
    days: list[tuple[date, int, int]] = field(default_factory=list)
    lift_test: ZTest | None = None
    # Messages lost when a worker died after the hand-off (status "unknown"), whatever the range:
    # each waits for the merchant to resend it or write it off.
    lost_messages: int = 0

    @property
    def recovered(self) -> int:
        return self.via_link + self.after_click

    @property
    def recovered_revenue(self) -> Decimal:
        return self.via_link_revenue + self.after_click_revenue

    @property
    def recovery_rate(self):
        return rate(self.recovered, self.reachable)

    @property
    def open_rate(self):
        return rate(self.opened, self.sent)

    @property
    def click_rate(self):
        return rate(self.clicked, self.sent)

    @property
    def treated_rate(self):
        return rate(self.treated_converted, self.treated)

    @property
    def holdout_rate(self):
        return rate(self.holdout_converted, self.holdout)

    @property
    def lift(self):
        if self.treated_rate is None or self.holdout_rate is None:
            return None
        return self.treated_rate - self.holdout_rate


def _money(value) -> Decimal:
    return round_money(value or 0)


def _bounds(start: date, end: date, zone) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


#: The dashboard's cart figures as aggregates over tracked carts (abandoned, reachable, treated
#: and holdout groups with their conversions, recovered carts and revenue per attribution).
CART_COUNTS = {
    "abandoned": Count("pk"),
    "reachable": Count("pk", filter=Q(is_reachable=True)),
    "treated": Count("pk", filter=Q(is_reachable=True, is_holdout=False)),
    "holdout": Count("pk", filter=Q(is_reachable=True, is_holdout=True)),
    "treated_converted": Count("pk", filter=Q(is_reachable=True, is_holdout=False, state__in=CONVERTED)),
    "holdout_converted": Count("pk", filter=Q(is_reachable=True, is_holdout=True, state__in=CONVERTED)),
    "via_link": Count("pk", filter=Q(state="recovered", recovered_via="via_link")),
    "via_link_revenue": Sum("recovered_revenue", filter=Q(state="recovered", recovered_via="via_link")),
    "after_click": Count("pk", filter=Q(state="recovered", recovered_via="after_click")),
    "after_click_revenue": Sum("recovered_revenue", filter=Q(state="recovered", recovered_via="after_click")),
}


def fill_cart_counts(d: Dashboard, row: dict) -> Dashboard:
    """Copy one row of :data:`CART_COUNTS` aggregates onto ``d`` (money rounded, None as 0)."""
    for key in CART_COUNTS:
        value = row.get(key)
        setattr(d, key, _money(value) if key.endswith("revenue") else value or 0)
    return d


def dashboard(*, store, start: date, end: date, campaign: Campaign | None = None) -> Dashboard:
    since, until = _bounds(start, end, store.zone)
    tracked = TrackedCart.objects.filter(store=store, abandoned_at__gte=since, abandoned_at__lt=until)
    if campaign is not None:
        tracked = tracked.filter(campaign=campaign)
    d = Dashboard(start=start, end=end)
    fill_cart_counts(d, tracked.aggregate(**CART_COUNTS))
    reminders = Reminder.objects.filter(tracked__in=tracked, status=Reminder.Status.SENT)
    step_rows = (
        reminders.values("step__campaign__name", "step__position", "channel")
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            recovered=Count("pk", filter=Q(tracked__state="recovered", clicked_at__isnull=False)),
            revenue=Sum(
                "tracked__recovered_revenue", filter=Q(tracked__state="recovered", clicked_at__isnull=False)
            ),
        )
        .order_by("step__campaign__name", "step__position", "channel")
    )
    for row in step_rows:
        d.steps.append(
            StepRow(
                campaign=row["step__campaign__name"],
                position=row["step__position"],
                channel=row["channel"],
                sent=row["sent"],
                opened=row["opened"],
                clicked=row["clicked"],
                recovered=row["recovered"],
                revenue=_money(row["revenue"]),
            )
        )
        d.sent += row["sent"]
        d.opened += row["opened"]
        d.clicked += row["clicked"]
    variant_rows = (
        reminders.filter(variant__isnull=False)
        .values("step_id", "step__campaign__name", "step__position", "variant_id", "variant__name")
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            recovered=Count("pk", filter=Q(tracked__state="recovered")),
            revenue=Sum("tracked__recovered_revenue", filter=Q(tracked__state="recovered")),
        )
        .order_by("step_id", "variant_id")
    )
    control: dict[int, VariantRow] = {}
    for row in variant_rows:
        v = VariantRow(
            step=f"{row['step__campaign__name']} · {row['step__position']}",
            name=row["variant__name"],
            sent=row["sent"],
            opened=row["opened"],
            clicked=row["clicked"],
            recovered=row["recovered"],
            revenue=_money(row["revenue"]),
        )
        base = control.get(row["step_id"])
        if base is None:
            control[row["step_id"]] = v
            v.is_control = True
        else:
            v.test = two_proportion_z_test(base.recovered, base.sent, v.recovered, v.sent)
        d.variants.append(v)
    lost = lost_messages(store=store)
    if campaign is not None:
        lost = lost.filter(step__campaign=campaign)
    d.lost_messages = lost.count()
    d.lift_test = two_proportion_z_test(d.holdout_converted, d.holdout, d.treated_converted, d.treated)
    per_day = {
        row["day"]: row
        for row in tracked.annotate(day=TruncDate("abandoned_at", tzinfo=store.zone))
        .values("day")
        .annotate(n=Count("pk"), rec=Count("pk", filter=Q(state="recovered")))
    }
    day = start
    while day <= end:
        row = per_day.get(day)
        d.days.append((day, row["n"] if row else 0, row["rec"] if row else 0))
        day += timedelta(days=1)
    return d


def lost_messages(*, store):
    """Reminders of ``store`` lost after the hand-off (status ``unknown``), newest first: the
    worker died after giving them to a provider that cannot say whether it took them."""
    return (
        Reminder.objects.filter(store=store, status=Reminder.Status.UNKNOWN)
        .select_related("tracked", "step__campaign")
        .order_by("-handoff_at", "-pk")
    )


def default_range(store) -> tuple[date, date]:
    today = timezone.now().astimezone(store.zone).date()
    return today - timedelta(days=29), today
