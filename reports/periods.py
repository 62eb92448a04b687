"""Date ranges and periods (day, week, month) in the store's time zone.

A range is two *local* dates, both included; it covers ``[from 00:00, to + 1 day 00:00)`` on the
store's wall clock, which :func:`bounds` turns into aware datetimes (so a DST day is 23 or 25
hours long, as it is for the merchant). Weeks start on Monday (ISO, as in Poland).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY, WEEK, MONTH = "day", "week", "month"
GRANULARITIES = (DAY, WEEK, MONTH)


def bounds(date_from: date, date_to: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Aware [start, end) of the local dates ``date_from`` .. ``date_to`` (both included)."""
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def period_start(day: date, granularity: str) -> date:
    if granularity == DAY:
        return day
    if granularity == WEEK:
        return day - timedelta(days=day.weekday())
    if granularity == MONTH:
        return day.replace(day=1)
    raise ValueError(f"unknown granularity {granularity!r}")


def next_period(start: date, granularity: str) -> date:
    if granularity == DAY:
        return start + timedelta(days=1)
    if granularity == WEEK:
        return start + timedelta(days=7)
    return add_months(start, 1)


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def period_starts(date_from: date, date_to: date, granularity: str) -> list[date]:
    """Start of every period touching the range, in order: the buckets of a chart."""
    starts, current = [], period_start(date_from, granularity)
    while current <= date_to:
        starts.append(current)
        current = next_period(current, granularity)
    return starts


def previous_range(date_from: date, date_to: date, granularity: str) -> tuple[date, date]:
    """The range just before, shaped so its buckets line up with this range's buckets.

    Days: the same number of days. Weeks: shifted by whole weeks. Months: shifted by whole
    months (1–31 March compares with 1–28 February, a full month with a full month).
    """
    if granularity == MONTH:
        months = len(period_starts(date_from, date_to, MONTH))
        prev_to = add_months(date_to, -months)
        if date_to == _month_end(date_to):
            prev_to = _month_end(prev_to)
        return add_months(date_from, -months), prev_to
    days = (date_to - date_from).days + 1
    if granularity == WEEK:
        days = -(-days // 7) * 7
    shift = timedelta(days=days)
    return date_from - shift, date_to - shift


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def period_label(start: date, granularity: str, *, long: bool = False) -> str:
    """Chart axis (short) or table (long) label of a period."""
    if granularity == MONTH:
        return start.strftime("%Y-%m") if long else start.strftime("%m.%Y")
    if granularity == WEEK:
        end = start + timedelta(days=6)
        if long:
            return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"
        return start.strftime("%d.%m")
    return start.isoformat() if long else start.strftime("%d.%m")
