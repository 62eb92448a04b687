"""Money as shoppers read it: ``1 234,50 zł`` (Polish grouping and a decimal comma), the same
format as catalog's ``money`` filter."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCY_SYMBOLS = {"PLN": "zł", "EUR": "€", "USD": "$", "GBP": "£", "CZK": "Kč"}


def format_money(value, currency: str = "PLN") -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return ""
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    symbol = CURRENCY_SYMBOLS.get((currency or "PLN").upper(), (currency or "").upper())
    return f"{sign}{' '.join(groups)},{cents} {symbol}"
