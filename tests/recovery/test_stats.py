import math

from recovery.stats import rate, two_proportion_z_test
from shop import charts


def test_two_proportion_z_test_matches_the_textbook():
    # 200/1000 vs 250/1000: z = 2.677..., p = 0.0074...
    test = two_proportion_z_test(200, 1000, 250, 1000)
    assert math.isclose(test.z, 2.6774, abs_tol=1e-3)
    assert math.isclose(test.p_value, 0.0074, abs_tol=2e-4)
    assert test.significant
    small = two_proportion_z_test(1, 10, 2, 10)
    assert not small.significant
    assert two_proportion_z_test(0, 0, 1, 10) is None
    assert two_proportion_z_test(0, 10, 0, 10) is None
    assert rate(1, 4) == 0.25 and rate(1, 0) is None


def test_svg_charts_escape_labels():
    # The dashboard's charts come from the shop's one renderer (shop.charts).
    svg = charts.line_chart(categories=["<b>"], series=[charts.Series("a&b", [3], color="#000")], title="t<")
    assert svg.startswith("<svg") and "<b>" not in svg and "&lt;b&gt;" in svg and "a&amp;b" in svg
    bars = charts.bar_chart(labels=["step 1", "step 2"], values=[5, 0], title="x")
    assert bars.count("<rect") == 1 + 2  # the background, then one bar per row
