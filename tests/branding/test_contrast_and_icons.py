"""WCAG contrast maths and the icons drawn from a logo."""

import io
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from branding import contrast, icons
from branding.selectors import free_shipping_progress
from tests.branding.factories import png_bytes


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast.ratio("#000000", "#ffffff") == Decimal("21.00")
    assert contrast.ratio("#ffffff", "#ffffff") == Decimal("1.00")
    # #767676 on white is the classic just-passing grey (4.54:1); #777777 fails (4.47:1).
    assert contrast.ratio("#767676", "#ffffff") == Decimal("4.54")
    assert contrast.ratio("#777777", "#ffffff") == Decimal("4.47")
    assert contrast.ratio("#ffffff", "#767676") == contrast.ratio("#767676", "#ffffff")


def test_the_ratio_is_cut_not_rounded_so_a_failing_pair_never_shows_4_5():
    # 4.4999 must not display as 4.50 and pass.
    pair = contrast.Pair("x", "#777777", "#ffffff", contrast.ratio("#777777", "#ffffff"))
    assert not pair.passes


def test_text_on_brand_colours_is_white_or_dark_whichever_reads_better():
    assert contrast.on_color("#123c5a") == "#ffffff"
    assert contrast.on_color("#ffd43b") == "#111111"  # white on yellow would be 1.5:1


def test_pairs_report_each_failure():
    pairs = contrast.pairs(primary="#1f4e79", accent="#c2410c", text="#999999", background="#ffffff")
    failing = [(p.foreground, p.background, p.ratio) for p in pairs if not p.passes]
    assert failing == [("#999999", "#ffffff", Decimal("2.84"))]


@pytest.mark.parametrize(
    ("goods", "threshold", "percent"),
    [
        ("0", "200", "0.00"),
        ("66.99", "200.00", "33.50"),  # 33.495 half-up
        ("199.99", "200", "99.99"),  # 99.995 would round to 100: full only once reached
        ("200", "200", "100.00"),
        ("350", "200", "100.00"),
        ("-5", "200", "0.00"),
        ("10", "30", "33.33"),
    ],
)
def test_free_shipping_progress_is_decimal_percent(goods, threshold, percent):
    result = free_shipping_progress(Decimal(goods), Decimal(threshold))
    assert result == Decimal(percent) and isinstance(result, Decimal)


def test_no_threshold_no_progress():
    assert free_shipping_progress(Decimal("50"), None) is None
    assert free_shipping_progress(Decimal("50"), Decimal("0")) is None


@pytest.mark.django_db
def test_icons_have_the_sizes_browsers_and_pwa_ask_for(settings, tmp_path):
    key = icons.generate(store_id=7, logo=png_bytes((600, 300)), background="#123c5a")
    directory = icons.icon_dir(7, key)
    expected = {
        "favicon-16.png": 16,
        "favicon-32.png": 32,
        "apple-touch-icon.png": 180,
        "icon-192.png": 192,
        "icon-512.png": 512,
        "icon-maskable-512.png": 512,
    }
    for name, size in expected.items():
        with default_storage.open(f"{directory}/{name}") as fh, Image.open(fh) as image:
            assert image.format == "PNG" and image.size == (size, size), name
    with default_storage.open(f"{directory}/icon-maskable-512.png") as fh, Image.open(fh) as image:
        image = image.convert("RGB")
        # The maskable icon keeps the logo inside the 80 % safe zone: the edge is the fill colour.
        assert image.getpixel((0, 0)) == (0x12, 0x3C, 0x5A)
        assert image.getpixel((256, 256)) == (200, 40, 40)
    with default_storage.open(f"{directory}/apple-touch-icon.png") as fh, Image.open(fh) as image:
        assert image.mode == "RGB"  # iOS paints transparency black: the touch icon is opaque
    with default_storage.open(f"{directory}/favicon.ico") as fh:
        data = fh.read()
    ico = Image.open(io.BytesIO(data))
    assert ico.format == "ICO" and {(16, 16), (32, 32), (48, 48)} <= set(ico.info["sizes"])


def test_a_new_logo_or_colour_gets_new_icon_addresses():
    a = icons.icons_key(png_bytes(), "#123c5a")
    assert a != icons.icons_key(png_bytes(color=(0, 0, 0, 255)), "#123c5a")
    assert a != icons.icons_key(png_bytes(), "#000000")
