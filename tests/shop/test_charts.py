"""The one SVG chart module (shop/charts.py): well-formed XML whatever the labels hold."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils.safestring import SafeString

from shop import charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    'Tom & Jerry\'s "best"',
    "]]><!--",
    "nul\x00 and bell\x07 and vt\x0b",
    "surrogate \ud800 half",
    "ż" * 500,
    "",
]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is well-formed


def _all_text(root: ET.Element) -> str:
    return " ".join("".join(e.itertext()) for e in root.iter())


def _every_chart(label: str):
    series = [charts.Series(label, [1, Decimal("2.5"), 0]), charts.Series(label, [0, 1, 3], dashed=True)]
    yield charts.line_chart(title=label, categories=[label, "b", "c"], series=series, y_label=label)
    yield charts.stacked_bar_chart(
        title=label, categories=[label, "b", "c"], series=series[:1], overlay=series[1:], y_label=label
    )
    yield charts.bar_chart(title=label, labels=[label, "b"], values=[3, -1], unit=charts.Unit("money", "PLN"))


@pytest.mark.parametrize("label", HOSTILE)
def test_every_chart_is_well_formed_and_escapes_its_labels(label):
    for svg in _every_chart(label):
        assert isinstance(svg, SafeString)
        root = _parse(svg)  # raises on any markup a label could have injected
        assert root.tag == f"{SVG}svg"
        assert not list(root.iter(f"{SVG}script"))
        assert [e for e in root.iter() if e.tag == f"{SVG}svg"] == [root]  # no nested <svg> smuggled in
        assert not any(k.startswith("on") for e in root.iter() for k in e.attrib)
        if label == "<script>alert(1)</script>":
            assert "<script>alert(1)</script>" in _all_text(root)  # shown as text, not run
            assert "<script>" not in svg


def test_a_chart_has_an_accessible_title_and_description():
    svg = charts.line_chart(
        title="Sprzedaż", categories=["1.03", "2.03"], series=[charts.Series("Sklep", [1, 2])]
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id and root.find(f"{SVG}title").text == "Sprzedaż"
    assert root.find(f"{SVG}desc").get("id") == desc_id and "Sklep: 3" in root.find(f"{SVG}desc").text


def test_an_empty_chart_says_so_and_stays_well_formed():
    svg = charts.bar_chart(title="Kroki", labels=[], values=[], empty_message="Nic nie wysłano.")
    assert "Nic nie wysłano." in _all_text(_parse(svg))
    line = charts.line_chart(title="Dni", categories=[], series=[], empty_message="Brak danych.")
    assert "Brak danych." in _all_text(_parse(line))
