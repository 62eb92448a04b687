"""The shape every report takes before it is written: titled sections of typed columns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from shop.numbers import format_money, format_number, format_percent

TEXT, INT, MONEY, DATE, DATETIME, PERCENT, BOOL = (
    "text",
    "int",
    "money",
    "date",
    "datetime",
    "percent",
    "bool",
)
Progress = Callable[[int], None]


@dataclass
class Column:
    key: str
    title: str
    kind: str = TEXT
    total: bool = False
    width: float = 14
    in_pdf: bool = True


@dataclass
class Section:
    title: str
    columns: list[Column]
    rows: Iterable[dict]
    count: int | None = None
    total_label: str = ""

    @property
    def has_totals(self) -> bool:
        return any(c.total for c in self.columns)


@dataclass
class Report:
    """A report ready to be written: ``sections[0]`` is the main (possibly huge) table."""

    title: str
    store_name: str
    range_label: str
    currency: str
    sections: list[Section]
    charts: list[str] = field(default_factory=list)
    summary: list[tuple[str, str]] = field(default_factory=list)
    landscape: bool = False
    filename_stem: str = "report"
    generated_at: datetime = field(default_factory=timezone.now)
    yes_no: tuple[str, str] = ("yes", "no")

    @property
    def row_count(self) -> int:
        return sum(s.count or 0 for s in self.sections)


class Totals:
    """Sums of the ``total`` columns, accumulated while rows stream past."""

    def __init__(self, columns: list[Column]):
        self.columns = [c for c in columns if c.total]
        self.sums: dict[str, Decimal | int] = {
            c.key: (Decimal("0.00") if c.kind == MONEY else 0) for c in self.columns
        }

    def add(self, row: dict) -> None:
        for c in self.columns:
            value = row.get(c.key)
            if value is not None:
                self.sums[c.key] += value

    def row(self, columns: list[Column], label: str) -> dict:
        result = {c.key: self.sums.get(c.key) for c in columns}
        result[columns[0].key] = label
        return result


def counted(rows: Iterable[dict], progress: Progress | None, every: int) -> Iterator[dict]:
    """Yield rows, calling ``progress(n)`` every ``every`` rows (and once at the end)."""
    n = 0
    for n, row in enumerate(rows, 1):
        yield row
        if progress and n % every == 0:
            progress(n)
    if progress:
        progress(n)


def display(value, column: Column, currency: str, yes_no: tuple[str, str] = ("yes", "no")) -> str:
    """A cell as people read it (PDF, HTML): Polish numbers, local dates."""
    if value is None or value == "":
        return ""
    kind = column.kind
    if kind == MONEY:
        return format_money(value, currency)
    if kind == INT:
        return format_number(value)
    if kind == PERCENT:
        return format_percent(value)
    if kind == BOOL:
        return yes_no[0] if value else yes_no[1]
    if kind == DATETIME and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if kind in (DATE, DATETIME) and isinstance(value, date):
        return value.isoformat()
    return str(value)
