"""Template helpers of the orders pages and emails."""

from __future__ import annotations

from django import template

from shop.money import format_money

register = template.Library()


@register.filter
def money(value, currency: str = "PLN") -> str:
    """``Decimal("23.4")|money:"PLN"`` -> ``"23,40 zł"``."""
    return format_money(value, currency)
