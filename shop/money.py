"""Money: the shop's one module that rounds, splits, converts and formats amounts.

- :func:`round_money` -- half-up to the grosz (0.01), the one rounding rule for money (prices,
  line totals, VAT, refunds). Nothing else in the code calls ``Decimal.quantize`` on money
  (``tests/shop/test_money.py`` greps for it).
- :func:`allocate` -- split an amount over weights to the grosz (largest remainder): a fixed
  voucher over lines, a discount over returned units. The shares add up exactly, each lies
  between zero and its weight.
- :func:`to_grosze` / :func:`from_grosze` -- integer minor units for gateways and carriers.
- :func:`format_money` -- ``1 234,50 zł`` with no-break spaces (U+00A0) between the groups of
  three digits and before the symbol, so an amount never wraps (pages, e-mails, reminders,
  reports, charts, PDFs). ``shop.numbers`` formats plain numbers and percentages with the same
  grouping and uses this for money.

It lives in ``shop``, the app every other one may import.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NBSP = "\u00a0"

CURRENCY_SYMBOLS = {"PLN": "zł", "EUR": "€", "USD": "$", "GBP": "£", "CZK": "Kč"}


def round_money(value) -> Decimal:
    """Round half-up to 0.01: the one rounding rule for money.
    ``catalog.services.money`` and ``orders.models.money`` are this function."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round_to(value, quantum: str | Decimal) -> Decimal:
    """Round half-up to ``quantum`` ("1", "0.1", "0.000001"): non-grosz quantities (percentages,
    whole units of a demo price, KSeF's six-decimal unit prices) use the same rule."""
    return Decimal(value).quantize(Decimal(quantum), rounding=ROUND_HALF_UP)


def floor_money(value) -> Decimal:
    """Round down to 0.01 (a unit price that must not exceed its share of a line total)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_DOWN)


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` over ``weights`` in grosze by the largest-remainder method.

    Each share is ``amount * weight / sum(weights)`` rounded down to the grosz; the grosze left
    go one each to the largest remainders (ties: the earlier weight). The shares add up to
    ``amount`` exactly and each lies in ``[0, weight]``. ``amount`` must lie in
    ``[0, sum(weights)]`` and the weights must not be negative (``ValueError`` otherwise).
    """
    amount = Decimal(amount)
    weights = [Decimal(w) for w in weights]
    total = sum(weights, ZERO)
    if amount < 0 or amount != round_money(amount):
        raise ValueError(f"cannot allocate {amount}: not a non-negative amount in grosze")
    if any(w < 0 for w in weights) or amount > total:
        raise ValueError(f"cannot allocate {amount} over {weights}")
    if amount == 0 or total == 0:
        return [ZERO for _ in weights]
    units = int(amount / CENT)
    exact = [amount * w / total / CENT for w in weights]  # in grosze, unrounded
    floors = [int(e) for e in exact]  # e >= 0: int() rounds down
    left = units - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [(Decimal(f) * CENT).quantize(CENT) for f in floors]


def to_grosze(amount) -> int:
    """``Decimal("12.345")`` -> ``1235``: minor units for a gateway or carrier (half-up)."""
    return int(round_money(amount) / CENT)


def from_grosze(value) -> Decimal:
    """``1235`` -> ``Decimal("12.35")``; refuses a non-integer (``ValueError``/``TypeError``)."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"not an amount in grosze: {value!r}")
    return (Decimal(int(value)) * CENT).quantize(CENT)


def currency_symbol(currency: str) -> str:
    code = (currency or "PLN").upper()
    return CURRENCY_SYMBOLS.get(code, code)


def group_digits(value: Decimal, decimals: int) -> str:
    """``Decimal("-1234.5"), 2`` -> ``-1 234,50`` (no-break spaces, decimal comma, half-up)."""
    amount = round_to(value, Decimal(1).scaleb(-decimals))
    if amount == 0:
        amount = abs(amount)  # no "-0,00"
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):.{decimals}f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    result = sign + NBSP.join(groups)
    return f"{result},{fraction}" if decimals else result


def to_decimal(value) -> Decimal | None:
    """``value`` as a finite Decimal, or None for ``None``, ``""`` and garbage."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return amount if amount.is_finite() else None


def format_money(value, currency: str = "PLN", decimals: int = 2) -> str:
    """``Decimal("1234.5")`` -> ``"1 234,50 zł"`` (no-break spaces); ``None``, ``""`` or
    garbage -> ``""``."""
    amount = to_decimal(value)
    if amount is None:
        return ""
    return f"{group_digits(amount, decimals)}{NBSP}{currency_symbol(currency)}"
