"""Numbers as a Polish merchant reads them in reports and charts: ``1 234,50 zł``, ``12,5%``.

Grouping uses a no-break space (U+00A0) so an amount never wraps inside a chart label, a PDF
cell or an email; every group of three digits is separated, as the brief asks (``1 234``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .money import CURRENCY_SYMBOLS

NBSP = "\u00a0"


def currency_symbol(currency: str) -> str:
    code = (currency or "PLN").upper()
    return CURRENCY_SYMBOLS.get(code, code)


def _to_decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def format_number(value, decimals: int = 0) -> str:
    """``1234.5`` -> ``1 234,50`` (with ``decimals=2``); ``None`` -> ``""``."""
    amount = _to_decimal(value)
    if amount is None:
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    amount = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    if amount == 0:
        amount = abs(amount)  # no "-0,00"
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    result = sign + NBSP.join(groups)
    return f"{result},{fraction}" if decimals else result


def format_money(value, currency: str = "PLN", decimals: int = 2) -> str:
    text = format_number(value, decimals)
    return f"{text}{NBSP}{currency_symbol(currency)}" if text else ""


def format_percent(value, decimals: int = 1, signed: bool = False) -> str:
    """``12.345`` -> ``12,3%``; ``signed`` adds ``+`` to growth. ``None`` -> ``–`` (no base)."""
    amount = _to_decimal(value)
    if amount is None:
        return "–"
    text = format_number(amount, decimals)
    if signed and amount > 0:
        text = "+" + text
    return f"{text}%"


def change_percent(current, previous) -> Decimal | None:
    """Growth of ``current`` over ``previous`` in percent; None when there is nothing to compare."""
    current, previous = _to_decimal(current), _to_decimal(previous)
    if current is None or previous is None or previous == 0:
        return None
    return ((current - previous) * 100 / abs(previous)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
