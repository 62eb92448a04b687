"""The SVG renderer: well-formed, accessible, with axes, units, legend and Polish numbers."""

import xml.etree.ElementTree as ET
from decimal import Decimal

from shop import charts
from shop.numbers import NBSP, change_percent, format_money, format_number, format_percent

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def texts(root) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def groups(root, cls: str) -> list[ET.Element]:
    return [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == cls]


def test_polish_number_and_money_formatting():
    assert format_money(Decimal("1234.5")) == f"1{NBSP}234,50{NBSP}zł"
    assert format_money(Decimal("1234.5")).replace(NBSP, " ") == "1 234,50 zł"
    assert format_money(Decimal("-1234567.891"), "EUR") == f"-1{NBSP}234{NBSP}567,89{NBSP}€"
    assert format_number(0) == "0" and format_number(Decimal("-0.001"), 2) == "0,00"
    assert format_money(None) == "" and format_money("garbage") == ""
    assert format_percent(Decimal("12.345")) == "12,3%"
    assert format_percent(Decimal("5"), signed=True) == "+5,0%"
    assert change_percent(Decimal("305"), Decimal("100")) == Decimal("205.0")
    assert change_percent(1, 0) is None


def test_nice_ticks():
    assert charts.nice_ticks(0, 1234.5) == [0, 250, 500, 750, 1000, 1250]
    assert charts.nice_ticks(0, 7, integer=True) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert charts.nice_ticks(0, 0)[0] == 0 and charts.nice_ticks(0, 0)[-1] == 1
    assert charts.nice_ticks(-30, 100)[0] < 0 < charts.nice_ticks(-30, 100)[-1]
    ticks = charts.nice_ticks(0, 0.3)
    assert ticks[-1] >= 0.3 and len(ticks) <= 8


def test_line_chart_structure():
    svg = charts.line_chart(
        title="Przychód",
        categories=["14.01", "15.01", "16.01"],
        series=[
            charts.Series("Cały sklep", [Decimal("215"), Decimal("90"), Decimal("0")]),
            charts.Series("Poprzedni okres", [0, 100, 0], dashed=True),
        ],
        unit=charts.Unit("money", "PLN"),
        y_label="Przychód (zł)",
    )
    root = parse(svg)
    assert root.get("width") == "800" and root.get("height") == "400"
    assert root.get("role") == "img"
    title = root.find("s:title", NS)
    desc = root.find("s:desc", NS)
    assert title.text == "Przychód"
    assert "Cały sklep: 305" in desc.text.replace(NBSP, " ")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert len(groups(root, "line-series")) == 2
    legend = groups(root, "legend")[0]
    assert [t.text for t in legend.iter("{http://www.w3.org/2000/svg}text")] == [
        "Cały sklep",
        "Poprzedni okres",
    ]
    labels = [t.replace(NBSP, " ") for t in texts(groups(root, "axis y-axis")[0])]
    assert "0 zł" in labels and "250 zł" in labels and "Przychód (zł)" in labels
    x_labels = texts(groups(root, "axis x-axis")[0])
    assert x_labels == ["14.01", "15.01", "16.01"]
    assert 'stroke-dasharray="6 4"' in svg  # the previous period is dashed


def test_stacked_bars_with_overlay_and_many_labels():
    categories = [f"{d:02d}.01" for d in range(1, 32)]
    svg = charts.stacked_bar_chart(
        title="Units",
        categories=categories,
        series=[charts.Series("M", list(range(31))), charts.Series("L", [1] * 31)],
        overlay=[charts.Series("Previous", [5] * 31, dashed=True)],
        unit=charts.Unit("count"),
    )
    root = parse(svg)
    bars = groups(root, "bar-series")
    assert len(bars) == 2
    assert len(list(bars[1].iter("{http://www.w3.org/2000/svg}rect"))) == 31
    assert len(groups(root, "line-series")) == 1
    shown = texts(groups(root, "axis x-axis")[0])
    assert 0 < len(shown) < 31  # thinned so labels never overlap
    # the tallest stack (30 + 1) fits under the top tick
    assert max(float(t.replace(NBSP, "")) for t in texts(groups(root, "axis y-axis")[0]) if t) >= 31


def test_bar_chart_escapes_and_truncates_names():
    svg = charts.bar_chart(
        title="Top <products>",
        labels=[
            "Kubek & spodek",
            "A very long product name that would never fit the left margin of the chart",
        ],
        values=[Decimal("30"), Decimal("1234.5")],
        unit=charts.Unit("money", "PLN"),
    )
    root = parse(svg)  # would raise on unescaped & or <
    assert root.find("s:title", NS).text == "Top <products>"
    all_text = " ".join(texts(root)).replace(NBSP, " ")
    assert "Kubek & spodek" in all_text and "1 234,50 zł" in all_text and "…" in all_text


def test_empty_chart_says_so():
    svg = charts.line_chart(
        title="Revenue", categories=["a", "b"], series=[charts.Series("x", [0, 0])], empty_message="No sales"
    )
    assert "No sales" in texts(parse(svg))
