"""VAT of a gross-price document: per rate, from the gross totals (art. 106e ust. 7-8 ustawy o VAT).

Prices are gross. The tax of a rate is ``gross of the rate x rate / (100 + rate)``, rounded half-up
to the grosz once per rate, and the net is what is left of the gross. Every total the shop shows
(the order's net, the invoice's and the correction's per-rate table and totals, KSeF's
``P_13_x``/``P_14_x``, reports, the API, the accounting payloads) comes from :func:`per_rate`;
a position's own net and VAT are informational and need not add up to the rate's.

Fees (shipping, the payment fee) take the VAT of the goods: :func:`fee_rate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from shop.money import round_money

ZERO = Decimal("0.00")
#: outside VAT: the sale of a multi-purpose voucher (gift card)
NOT_SUBJECT = "np"
EXEMPT = "zw"
STANDARD = "23"


def percent(code: str) -> Decimal:
    """The rate of a VAT code in percent; ``zw`` (exempt) and ``np`` (outside VAT) carry none."""
    return Decimal("0") if code in (EXEMPT, NOT_SUBJECT, "") else Decimal(code)


@dataclass
class RateTotals:
    vat_rate: str
    gross: Decimal
    net: Decimal
    vat: Decimal


def tax_of(gross: Decimal, code: str) -> Decimal:
    """The VAT contained in ``gross`` at ``code``, half-up to the grosz."""
    rate = percent(code)
    return round_money(gross * rate / (100 + rate)) if rate else ZERO


def split(gross: Decimal, code: str) -> tuple[Decimal, Decimal]:
    """(net, VAT) of one gross amount: VAT rounded once, net = gross - VAT."""
    gross = round_money(gross)
    vat = tax_of(gross, code)
    return gross - vat, vat


def sort_key(code: str) -> tuple:
    return (percent(code), code)


def per_rate(items: Iterable[tuple[Decimal, str]]) -> list[RateTotals]:
    """{gross, net, VAT} per VAT code of ``(gross, code)`` items, highest rate first."""
    gross_by_code: dict[str, Decimal] = {}
    for gross, code in items:
        gross_by_code[code] = gross_by_code.get(code, ZERO) + Decimal(gross)
    result = []
    for code, gross in gross_by_code.items():
        net, vat = split(gross, code)
        result.append(RateTotals(code, round_money(gross), net, vat))
    return sorted(result, key=lambda t: sort_key(t.vat_rate), reverse=True)


def totals(items: Iterable[tuple[Decimal, str]]) -> tuple[Decimal, Decimal, Decimal]:
    """(gross, net, VAT) of a document: the sums of its per-rate totals."""
    rows = per_rate(items)
    return (
        sum((r.gross for r in rows), ZERO),
        sum((r.net for r in rows), ZERO),
        sum((r.vat for r in rows), ZERO),
    )


def difference(before: list[RateTotals], after: list[RateTotals]) -> list[RateTotals]:
    """after - before per rate (a correction's table), rates that do not change left out."""
    old = {r.vat_rate: r for r in before}
    new = {r.vat_rate: r for r in after}
    result = []
    for code in set(old) | set(new):
        b = old.get(code) or RateTotals(code, ZERO, ZERO, ZERO)
        a = new.get(code) or RateTotals(code, ZERO, ZERO, ZERO)
        row = RateTotals(code, a.gross - b.gross, a.net - b.net, a.vat - b.vat)
        if (row.gross, row.net, row.vat) != (ZERO, ZERO, ZERO):
            result.append(row)
    return sorted(result, key=lambda t: sort_key(t.vat_rate), reverse=True)


def fee_rate(goods: Iterable[tuple[Decimal, str]], default: str = STANDARD) -> str:
    """The VAT code of the shipping and payment fees: the rate of the goods, and of mixed goods
    the rate with the largest gross (ties: the higher rate). Goods outside VAT (gift cards) carry
    none, so an order of gift cards only takes ``default``."""
    by_code: dict[str, Decimal] = {}
    for gross, code in goods:
        if code == NOT_SUBJECT:
            continue
        by_code[code] = by_code.get(code, ZERO) + Decimal(gross)
    if not by_code:
        return default
    return max(by_code, key=lambda code: (by_code[code], sort_key(code)))
