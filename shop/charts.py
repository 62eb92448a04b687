"""The shop's one server-side SVG chart renderer: line, stacked bar and horizontal bar charts,
used by the reports (admin pages, PDF, e-mail) and the cart-recovery dashboard.

The same SVG string goes into the admin page, the PDF (WeasyPrint renders inline SVG) and an
email, so charts look the same everywhere and need no JavaScript. Charts are sized for 800×400,
carry a ``<title>`` and a ``<desc>`` (read by screen readers and shown as a tooltip), axes with
"nice" ticks (1, 2, 2.5 or 5 × 10ⁿ), units, a legend, and Polish number formatting.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

from django.utils.safestring import SafeString, mark_safe

from .numbers import currency_symbol, format_money, format_number

# Okabe–Ito: distinguishable with the common forms of colour blindness, and in greyscale print.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D1F", "#000000"]
COMPARISON_COLOR = "#5b6475"
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
CHAR_WIDTH = 6.6  # average advance of a 12px sans-serif glyph, for layout without a font engine

_ids = itertools.count(1)
# Characters XML 1.0 does not allow (C0 controls but tab and newlines, lone surrogates, U+FFFE/F):
# a product or campaign name holding one would make the whole SVG unreadable for an XML parser
# (WeasyPrint, an e-mail client), so they are dropped from every label.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text) -> str:
    """Text content: XML-escaped, without characters XML cannot carry."""
    return _xml_escape(_NOT_XML.sub("", str(text)))


def quoteattr(text) -> str:
    """An attribute value with its quotes, XML-escaped, without characters XML cannot carry."""
    return _xml_quoteattr(_NOT_XML.sub("", str(text)))


@dataclass
class Series:
    label: str
    values: Sequence[int | float | Decimal]
    dashed: bool = False
    color: str | None = None


@dataclass(frozen=True)
class Unit:
    """How axis and value labels read: ``money`` (with a currency) or ``count``."""

    kind: str = "count"
    currency: str = "PLN"

    def format(self, value, step: float | None = None) -> str:
        if self.kind == "money":
            decimals = 0 if step is None or step >= 1 else 2
            if step is None and Decimal(str(value)) != Decimal(str(value)).to_integral_value():
                decimals = 2
            return format_money(value, self.currency, decimals)
        decimals = 0 if step is None or step >= 1 else 1
        return format_number(value, decimals)

    @property
    def symbol(self) -> str:
        return currency_symbol(self.currency) if self.kind == "money" else ""


def _nice(value: float, round_: bool) -> float:
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    rounded = ((1.5, 1), (2.25, 2), (3.5, 2.5), (7.5, 5))
    steps = rounded if round_ else ((1, 1), (2, 2), (2.5, 2.5), (5, 5))
    for limit, nice in steps:
        if (fraction < limit) if round_ else (fraction <= limit):
            return nice * 10**exponent
    return 10 * 10**exponent


def nice_ticks(low: float, high: float, max_ticks: int = 6, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high], always including 0 when the data touches it.

    ``integer`` keeps the step at 1 or more (units and orders are never fractional).
    """
    low, high = float(min(low, 0)), float(max(high, 0))
    if high == low:
        high = low + (1 if integer else 1.0)
    step = _nice((high - low) / max(1, max_ticks - 1), round_=True)
    if integer:
        step = max(1.0, math.ceil(step))
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    count = round((stop - start) / step)
    return [round(start + i * step, 10) for i in range(count + 1)]


def _text_width(text: str, size: float = 12) -> float:
    return len(text) * CHAR_WIDTH * size / 12


def _truncate(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def _num(value) -> float:
    return float(value or 0)


class _Canvas:
    def __init__(self, width: int, height: int, title: str, desc: str):
        self.width, self.height = width, height
        self.uid = f"chart{next(_ids)}"
        self.parts: list[str] = []
        self.title, self.desc = title, desc

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def text(self, x, y, content, *, size=12, anchor="start", weight="normal", fill="#1d2330", extra=""):
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{extra}>{escape(str(content))}</text>'
        )

    def render(self) -> SafeString:
        uid = self.uid
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-labelledby="{uid}-title {uid}-desc" font-family={quoteattr(FONT)} class="report-chart">'
            f'<title id="{uid}-title">{escape(self.title)}</title>'
            f'<desc id="{uid}-desc">{escape(self.desc)}</desc>'
            f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>'
        )
        # Every label and title went through escape()/quoteattr() above: the markup is safe.
        return mark_safe(head + "".join(self.parts) + "</svg>")


def _legend_layout(labels: list[str], width: float, left: float) -> list[tuple[float, int]]:
    """(x, row) of every legend entry, flowing left to right into as many rows as needed."""
    positions, x, row = [], left, 0
    for label in labels:
        item = 22 + _text_width(_truncate(label, 60)) + 18
        if x + item > width - 10 and x > left:
            x, row = left, row + 1
        positions.append((x, row))
        x += item
    return positions


def _draw_legend(canvas: _Canvas, series: list[Series], colors: list[str], top: float, left: float) -> None:
    canvas.add('<g class="legend">')
    for s, color, (x, row) in zip(
        series, colors, _legend_layout([s.label for s in series], canvas.width, left), strict=True
    ):
        y = top + row * 18
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        canvas.add(
            f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 16:.1f}" y2="{y - 4:.1f}" stroke="{color}" '
            f'stroke-width="3"{dash}/>'
        )
        canvas.text(x + 22, y, _truncate(s.label, 60), size=12)
    canvas.add("</g>")


def _legend_height(series: list[Series], width: float, left: float) -> float:
    if not series:
        return 0
    rows = max(row for _, row in _legend_layout([s.label for s in series], width, left)) + 1
    return rows * 18 + 8


def _colors(series: list[Series]) -> list[str]:
    palette = itertools.cycle(PALETTE)
    return [s.color or (COMPARISON_COLOR if s.dashed else next(palette)) for s in series]


class _XYFrame:
    """Axes, grid and tick labels shared by the line and stacked bar charts."""

    def __init__(
        self,
        canvas: _Canvas,
        *,
        categories: list[str],
        low: float,
        high: float,
        unit: Unit,
        y_label: str,
        legend_series: list[Series],
    ):
        self.canvas, self.categories, self.unit = canvas, categories, unit
        self.ticks = nice_ticks(low, high, integer=unit.kind == "count")
        step = self.ticks[1] - self.ticks[0] if len(self.ticks) > 1 else 1
        self.tick_labels = [unit.format(t, step) for t in self.ticks]
        label_width = max(_text_width(t) for t in self.tick_labels)
        self.left = 18 + 8 + label_width + 8
        self.right = canvas.width - 16
        self.top = 40
        legend = _legend_height(legend_series, canvas.width, self.left)
        self.bottom = canvas.height - 34 - legend
        self.legend_top = self.bottom + 44
        self.y_label = y_label
        self.step = step

    def y(self, value: float) -> float:
        lo, hi = self.ticks[0], self.ticks[-1]
        return self.bottom - (value - lo) / (hi - lo) * (self.bottom - self.top)

    @property
    def slot(self) -> float:
        return (self.right - self.left) / max(1, len(self.categories))

    def x_center(self, index: int) -> float:
        return self.left + self.slot * (index + 0.5)

    def draw(self) -> None:
        c = self.canvas
        c.add('<g class="axis y-axis">')
        for tick, label in zip(self.ticks, self.tick_labels, strict=True):
            y = self.y(tick)
            stroke = "#8a93a3" if tick == 0 else "#e3e7ee"
            c.add(
                f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.right:.1f}" y2="{y:.1f}" stroke="{stroke}"/>'
            )
            c.text(self.left - 8, y + 4, label, anchor="end", fill="#3c4454")
        middle = (self.top + self.bottom) / 2
        c.text(
            14,
            middle,
            self.y_label,
            anchor="middle",
            fill="#3c4454",
            extra=f' transform="rotate(-90 14 {middle:.1f})"',
        )
        c.add("</g>")
        c.add('<g class="axis x-axis">')
        c.add(
            f'<line x1="{self.left:.1f}" y1="{self.bottom:.1f}" x2="{self.right:.1f}" '
            f'y2="{self.bottom:.1f}" stroke="#8a93a3"/>'
        )
        widest = max((_text_width(label) for label in self.categories), default=0) + 10
        every = max(1, math.ceil(widest / max(self.slot, 1)))
        for i, label in enumerate(self.categories):
            x = self.x_center(i)
            c.add(
                f'<line x1="{x:.1f}" y1="{self.bottom:.1f}" x2="{x:.1f}" y2="{self.bottom + 4:.1f}" '
                f'stroke="#8a93a3"/>'
            )
            if i % every == 0:
                c.text(x, self.bottom + 18, label, anchor="middle", fill="#3c4454")
        c.add("</g>")


def _title(canvas: _Canvas, title: str) -> None:
    canvas.text(16, 24, title, size=16, weight="bold")


def _titled_frame(
    canvas: _Canvas,
    title: str,
    categories: list[str],
    span: tuple[float, float],
    unit: Unit,
    y_label: str,
    legend: list[Series],
) -> _XYFrame:
    """The title, then the axes and grid (covering ``span``) of a line or stacked bar chart."""
    low, high = span
    xy = _XYFrame(
        canvas, categories=categories, low=low, high=high, unit=unit, y_label=y_label, legend_series=legend
    )
    _title(canvas, title)
    xy.draw()
    return xy


def _finish(canvas: _Canvas, frame: _XYFrame, series: list[Series], colors: list[str], empty: str):
    """Close the series group; the empty message when every value is 0; the legend; the SVG."""
    canvas.add("</g>")
    if not any(_num(v) for s in series for v in s.values) and empty:
        _empty_message(canvas, frame, empty)
    _draw_legend(canvas, series, colors, frame.legend_top, frame.left)
    return canvas.render()


def _empty_message(canvas: _Canvas, frame: _XYFrame, message: str) -> None:
    canvas.text(
        (frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2, message, anchor="middle", size=14
    )


def _auto_desc(title: str, categories: list[str], series: list[Series], unit: Unit) -> str:
    if not categories:
        return title
    parts = [f"{s.label}: {unit.format(sum(Decimal(str(v or 0)) for v in s.values))}" for s in series]
    return f"{title}. {categories[0]} – {categories[-1]}. " + "; ".join(parts)


def line_chart(
    *,
    title: str,
    categories: list[str],
    series: list[Series],
    unit: Unit = Unit(),
    y_label: str = "",
    desc: str = "",
    width: int = 800,
    height: int = 400,
    empty_message: str = "",
) -> SafeString:
    """One line per series (dashed series: e.g. the previous period), dots where few points."""
    canvas = _Canvas(width, height, title, desc or _auto_desc(title, categories, series, unit))
    values = [_num(v) for s in series for v in s.values] or [0]
    frame = _titled_frame(canvas, title, categories, (min(values), max(values)), unit, y_label, series)
    colors = _colors(series)
    canvas.add('<g class="series">')
    for s, color in zip(series, colors, strict=True):
        points = [(frame.x_center(i), frame.y(_num(v))) for i, v in enumerate(s.values)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        label = quoteattr(s.label)
        canvas.add(f'<g class="line-series" data-label={label}>')
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            canvas.add(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5" '
                f'stroke-linejoin="round"{dash}/>'
            )
        if len(points) <= 45:
            for (x, y), v in zip(points, s.values, strict=True):
                canvas.add(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                    f"<title>{escape(s.label)}: {escape(unit.format(v))}</title></circle>"
                )
        canvas.add("</g>")
    return _finish(canvas, frame, series, colors, empty_message)


def stacked_bar_chart(
    *,
    title: str,
    categories: list[str],
    series: list[Series],
    overlay: list[Series] = (),
    unit: Unit = Unit(),
    y_label: str = "",
    desc: str = "",
    width: int = 800,
    height: int = 400,
    empty_message: str = "",
) -> SafeString:
    """Bars stacked per category (positives up, negatives down), with optional overlay lines."""
    overlay = list(overlay)
    all_series = [*series, *overlay]
    canvas = _Canvas(width, height, title, desc or _auto_desc(title, categories, all_series, unit))
    highs, lows = [0.0], [0.0]
    for i in range(len(categories)):
        highs.append(sum(max(0.0, _num(s.values[i])) for s in series))
        lows.append(sum(min(0.0, _num(s.values[i])) for s in series))
    for s in overlay:
        highs.extend(_num(v) for v in s.values)
        lows.extend(_num(v) for v in s.values)
    frame = _titled_frame(canvas, title, categories, (min(lows), max(highs)), unit, y_label, all_series)
    colors = _colors(all_series)
    bar_width = max(1.0, frame.slot * 0.7)
    canvas.add('<g class="series">')
    up = [0.0] * len(categories)
    down = [0.0] * len(categories)
    for s, color in zip(series, colors[: len(series)], strict=True):
        canvas.add(f'<g class="bar-series" data-label={quoteattr(s.label)} fill="{color}">')
        for i, raw in enumerate(s.values):
            value = _num(raw)
            if value == 0:
                continue
            base = up[i] if value > 0 else down[i]
            y0, y1 = frame.y(base), frame.y(base + value)
            if value > 0:
                up[i] += value
            else:
                down[i] += value
            x = frame.x_center(i) - bar_width / 2
            canvas.add(
                f'<rect x="{x:.1f}" y="{min(y0, y1):.1f}" width="{bar_width:.1f}" '
                f'height="{abs(y1 - y0):.1f}"><title>{escape(categories[i])} · {escape(s.label)}: '
                f"{escape(unit.format(raw))}</title></rect>"
            )
        canvas.add("</g>")
    for s, color in zip(overlay, colors[len(series) :], strict=True):
        points = " ".join(f"{frame.x_center(i):.1f},{frame.y(_num(v)):.1f}" for i, v in enumerate(s.values))
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        canvas.add(
            f'<g class="line-series" data-label={quoteattr(s.label)}><polyline points="{points}" '
            f'fill="none" stroke="{color}" stroke-width="2.5"{dash}/></g>'
        )
    return _finish(canvas, frame, all_series, colors, empty_message)


def bar_chart(
    *,
    title: str,
    labels: list[str],
    values: Sequence[int | float | Decimal],
    unit: Unit = Unit(),
    desc: str = "",
    width: int = 800,
    height: int | None = None,
    color: str = PALETTE[0],
    empty_message: str = "",
) -> SafeString:
    """Horizontal bars, one per label (top products, channels): long names stay readable."""
    row = 28
    height = height or max(140, 60 + row * max(1, len(labels)) + 30)
    desc = desc or f"{title}. " + "; ".join(
        f"{label}: {unit.format(v)}" for label, v in zip(labels, values, strict=True)
    )
    canvas = _Canvas(width, height, title, desc)
    _title(canvas, title)
    shown = [_truncate(label, 34) for label in labels]
    left = 16 + max((_text_width(s) for s in shown), default=0) + 10
    value_labels = [unit.format(v) for v in values]
    right = width - 16 - max((_text_width(v) for v in value_labels), default=0) - 8
    top = 44
    nums = [_num(v) for v in values]
    ticks = nice_ticks(min(nums, default=0), max(nums, default=0), integer=unit.kind == "count")
    lo, hi = ticks[0], ticks[-1]

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * (right - left)

    bottom = top + row * max(1, len(labels))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    canvas.add('<g class="axis x-axis">')
    for tick in ticks:
        canvas.add(
            f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" y2="{bottom}" '
            f'stroke="{"#8a93a3" if tick == 0 else "#e3e7ee"}"/>'
        )
        canvas.text(x(tick), bottom + 16, unit.format(tick, step), anchor="middle", fill="#3c4454", size=11)
    canvas.add("</g>")
    canvas.add(f'<g class="bar-series" fill="{color}">')
    for i, (label, value, value_label) in enumerate(zip(shown, nums, value_labels, strict=True)):
        y = top + i * row
        x0, x1 = x(0), x(value)
        canvas.add(
            f'<rect x="{min(x0, x1):.1f}" y="{y + 4}" width="{max(abs(x1 - x0), 0.5):.1f}" height="{row - 8}">'
            f"<title>{escape(labels[i])}: {escape(value_label)}</title></rect>"
        )
        canvas.text(left - 8, y + row / 2 + 4, label, anchor="end")
        canvas.text(max(x0, x1) + 6, y + row / 2 + 4, value_label, fill="#3c4454")
    canvas.add("</g>")
    if not labels and empty_message:
        canvas.text(width / 2, top + 20, empty_message, anchor="middle", size=14)
    return canvas.render()
