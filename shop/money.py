"""Money as shoppers read it: ``1 234,50 zł`` (Polish grouping and a decimal comma).

The one formatter of the storefront (catalog's ``money`` filter), the order pages and e-mails
(``orders.formatting``, ``orders_tags``) and the cart reminders (``recovery.templating``). It lives
in ``shop``, the app every other one may import. Reports keep their own variant with no-break
spaces for PDF and spreadsheet cells and charts (``shop.numbers``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def round_money(value) -> Decimal:
    """Round half-up to 0.01: the one rounding rule for money (prices, line totals, refunds).
    ``catalog.services.money`` and ``orders.models.money`` are this function."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


CURRENCY_SYMBOLS = {"PLN": "zł", "EUR": "€", "USD": "$", "GBP": "£", "CZK": "Kč"}


def format_money(value, currency: str = "PLN") -> str:
    """``Decimal("1234.5")`` -> ``"1 234,50 zł"``; ``None``, ``""`` or garbage -> ``""``."""
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
