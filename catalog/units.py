"""Unit prices ("cena jednostkowa"): the price per kilogram, litre, metre, square metre or piece.

The Polish act on price information (ustawa z 9 maja 2014 o informowaniu o cenach towarów i usług)
and the regulation of 19 December 2022 on showing prices ask a seller to show, next to the selling
price, the price per unit of measure of goods sold by weight, volume, length or area. A variant
carries its net quantity (``Variant.net_quantity``) and its unit (``Variant.unit``); this module is
the one rule that turns them into the price per base unit, rounded by :func:`shop.money.round_money`
and written with :func:`shop.money.format_money` (pages, cards, cart), and into Google's
``unit_pricing_measure`` / ``unit_pricing_base_measure`` (feeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from shop.money import NBSP, format_money, round_money

# unit -> (base unit, how many base units one unit is)
BASE_UNITS: dict[str, tuple[str, Decimal]] = {
    "g": ("kg", Decimal("0.001")),
    "kg": ("kg", Decimal("1")),
    "ml": ("l", Decimal("0.001")),
    "l": ("l", Decimal("1")),
    "cm": ("m", Decimal("0.01")),
    "m": ("m", Decimal("1")),
    "m2": ("m2", Decimal("1")),
    "szt": ("szt", Decimal("1")),
}

# How a base unit is written after the price ("12,99 zł / 1 kg").
BASE_LABELS = {"kg": _("kg"), "l": _("l"), "m": _("m"), "m2": _("m²"), "szt": _("pcs")}

# Google Merchant Center's unit names (unit_pricing_measure): "szt" is Google's "ct" (count).
GOOGLE_UNITS = {"g": "g", "kg": "kg", "ml": "ml", "l": "l", "cm": "cm", "m": "m", "m2": "sqm", "szt": "ct"}


@dataclass(frozen=True)
class UnitPrice:
    amount: Decimal
    base_unit: str  # kg | l | m | m2 | szt

    def label(self, currency: str) -> str:
        """``12,99 zł / 1 kg`` (no-break spaces: the price never wraps inside)."""
        return f"{format_money(self.amount, currency)}{NBSP}/{NBSP}1{NBSP}{BASE_LABELS[self.base_unit]}"


def unit_price(price, net_quantity, unit: str) -> UnitPrice | None:
    """The price per base unit, or None when the variant has no unit or quantity, or when the
    unit price is the selling price itself (one kilogram, one piece: nothing to add)."""
    if not unit or unit not in BASE_UNITS or net_quantity in (None, "") or price in (None, ""):
        return None
    try:
        quantity, price = Decimal(net_quantity), Decimal(price)
    except (InvalidOperation, TypeError, ValueError):
        return None
    base_unit, factor = BASE_UNITS[unit]
    in_base = quantity * factor
    if quantity <= 0 or in_base == 1:
        return None
    return UnitPrice(amount=round_money(price / in_base), base_unit=base_unit)


def google_measures(net_quantity, unit: str) -> tuple[str, str] | None:
    """(``unit_pricing_measure``, ``unit_pricing_base_measure``) for Google: ``("500g", "1kg")``."""
    if not unit or unit not in GOOGLE_UNITS or net_quantity is None or Decimal(net_quantity) <= 0:
        return None
    quantity = Decimal(net_quantity).normalize()
    text = f"{quantity:f}"
    base_unit = BASE_UNITS[unit][0]
    return f"{text}{GOOGLE_UNITS[unit]}", f"1{GOOGLE_UNITS[base_unit]}"
