"""Numbers as a Polish merchant reads them in reports and charts: ``1 234``, ``12,5%``.

Grouping uses a no-break space (U+00A0) so a number never wraps inside a chart label, a PDF cell
or an e-mail. Money is :func:`shop.money.format_money` (re-exported here for the reports); this
module adds plain numbers and percentages with the same grouping.
"""

from __future__ import annotations

from decimal import Decimal

from .money import NBSP, currency_symbol, format_money, group_digits, round_to, to_decimal

__all__ = ["NBSP", "change_percent", "currency_symbol", "format_money", "format_number", "format_percent"]


def format_number(value, decimals: int = 0) -> str:
    """``1234.5`` -> ``1 234,50`` (with ``decimals=2``); ``None`` -> ``""``."""
    amount = to_decimal(value)
    return "" if amount is None else group_digits(amount, decimals)


def format_percent(value, decimals: int = 1, signed: bool = False) -> str:
    """``12.345`` -> ``12,3%``; ``signed`` adds ``+`` to growth. ``None`` -> ``–`` (no base)."""
    amount = to_decimal(value)
    if amount is None:
        return "–"
    text = format_number(amount, decimals)
    if signed and amount > 0:
        text = "+" + text
    return f"{text}%"


def change_percent(current, previous) -> Decimal | None:
    """Growth of ``current`` over ``previous`` in percent; None when there is nothing to compare."""
    current, previous = to_decimal(current), to_decimal(previous)
    if current is None or previous is None or previous == 0:
        return None
    return round_to((current - previous) * 100 / abs(previous), "0.1")
