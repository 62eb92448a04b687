"""Small shared pieces of the orders data model."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MONEY = {"max_digits": 12, "decimal_places": 2}
CENT = Decimal("0.01")


def money(value) -> Decimal:
    """Round half-up to 0.01 -- the house rule, applied once at the line total."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
