"""Charts drawn on the server as SVG strings (no JavaScript, no chart library)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def grouped_bars(
    *,
    labels: list[str],
    series: list[tuple[str, str, list[float]]],
    title: str,
    width: int = 720,
    height: int = 240,
) -> SafeString:
    """Vertical grouped bars: one group per label, one bar per series (name, colour, values)."""
    pad_left, pad_bottom, pad_top = 40, 40, 24
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = max([v for _n, _c, values in series for v in values] + [1])
    groups = max(1, len(labels))
    group_w = plot_w / groups
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 10}" y2="{pad_top + plot_h}" stroke="#98a2b3"/>',
        f'<text x="{pad_left - 6}" y="{pad_top + 4}" text-anchor="end" font-size="10">{top:g}</text>',
        f'<text x="{pad_left - 6}" y="{pad_top + plot_h}" text-anchor="end" font-size="10">0</text>',
    ]
    step = max(1, groups // 12)
    for g, label in enumerate(labels):
        x0 = pad_left + g * group_w + group_w * 0.1
        for s, (name, colour, values) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = plot_h * value / top
            x = x0 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{pad_top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(label)} · {escape(name)}: {value:g}</title></rect>'
            )
        if g % step == 0:
            parts.append(
                f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - pad_bottom + 14}" text-anchor="middle" '
                f'font-size="10">{escape(label)}</text>'
            )
    for s, (name, colour, _values) in enumerate(series):
        parts.append(
            f'<rect x="{pad_left + s * 140}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{pad_left + s * 140 + 14}" y="{height - 5}" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def horizontal_bars(
    *, rows: list[tuple[str, float]], title: str, width: int = 720, colour: str = "#1f4e79"
) -> SafeString:
    row_h, label_w = 22, 220
    height = max(1, len(rows)) * row_h + 10
    top = max([v for _l, v in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        w = (width - label_w - 60) * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="11">{value:g}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
