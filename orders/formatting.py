"""Money as shoppers read it: ``1 234,50 zł``. The shop's one formatter lives in
:mod:`shop.money`; this module keeps the name the orders code imports."""

from __future__ import annotations

from shop.money import CURRENCY_SYMBOLS, format_money

__all__ = ["CURRENCY_SYMBOLS", "format_money"]
