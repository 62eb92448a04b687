"""Report numbers (``1 234,50 zł`` with no-break spaces): the one copy lives in
:mod:`shop.numbers`, beside the chart renderer that uses it; this module keeps the name the
reports code imports."""

from __future__ import annotations

from shop.numbers import (
    CURRENCY_SYMBOLS,
    NBSP,
    change_percent,
    currency_symbol,
    format_money,
    format_number,
    format_percent,
)

__all__ = [
    "CURRENCY_SYMBOLS",
    "NBSP",
    "change_percent",
    "currency_symbol",
    "format_money",
    "format_number",
    "format_percent",
]
