"""WCAG 2.x contrast: relative luminance and the ratio of two colours.

AA asks 4.5:1 for body text (3:1 for large text and interface parts). The storefront puts text on
the background, links in the primary colour on the background, and header and button text on
the primary and accent colours; for the last two it picks white or near-black, whichever reads
better (``on_color``), so a light brand colour gets dark text instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext_lazy as _

AA_TEXT = Decimal("4.5")
LIGHT_ON = "#ffffff"
DARK_ON = "#111111"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    color = color.lstrip("#")
    r, g, b = (int(color[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def ratio(first: str, second: str) -> Decimal:
    """The contrast ratio, cut (not rounded) to two decimals so 4.499 never shows as passing."""
    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return Decimal(str((a + 0.05) / (b + 0.05))).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def on_color(background: str) -> str:
    """White or near-black text on ``background``, whichever contrasts more."""
    return LIGHT_ON if ratio(LIGHT_ON, background) >= ratio(DARK_ON, background) else DARK_ON


@dataclass(frozen=True)
class Pair:
    label: str
    foreground: str
    background: str
    ratio: Decimal

    @property
    def passes(self) -> bool:
        return self.ratio >= AA_TEXT


def pairs(*, primary: str, accent: str, text: str, background: str) -> list[Pair]:
    """The colour pairs shoppers read on the storefront, with their ratios."""
    checks = [
        (_("Text on the background"), text, background),
        (_("Links (primary colour) on the background"), primary, background),
        (_("Header text on the primary colour"), on_color(primary), primary),
        (_("Button text on the accent colour"), on_color(accent), accent),
    ]
    return [Pair(str(label), fg, bg, ratio(fg, bg)) for label, fg, bg in checks]
