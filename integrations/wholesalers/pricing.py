"""Price rules: from a wholesaler's net cost (or its suggested retail price) to the shop's gross
price. Money is Decimal, rounded half-up to 0.01 once, at the end (``catalog.services.money``).

Order of rules: base price (feed's retail gross when ``source`` is ``feed`` and the row has one,
else cost × (1 + markup %) + fixed markup, plus VAT) -> minimum margin over cost -> rounding up to
.99 (rounding *up* never eats into the margin just enforced).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from catalog.models import VatRate
from catalog.services import money

HUNDRED = Decimal(100)
NINETY_NINE = Decimal("0.99")


@dataclass(frozen=True)
class PriceRules:
    source: str = "markup"  # "markup": from cost; "feed": the feed's retail gross price
    markup_percent: Decimal = Decimal(0)
    markup_fixed: Decimal = Decimal(0)  # net, in the store's currency
    min_margin_percent: Decimal = Decimal(0)
    round_99: bool = False
    default_vat: str = VatRate.STANDARD

    @classmethod
    def from_options(cls, options: dict) -> PriceRules:
        def dec(name: str) -> Decimal:
            value = options.get(name)
            return Decimal(str(value)) if value not in (None, "") else Decimal(0)

        return cls(
            source=options.get("price_source") or "markup",
            markup_percent=dec("markup_percent"),
            markup_fixed=dec("markup_fixed"),
            min_margin_percent=dec("min_margin_percent"),
            round_99=bool(options.get("round_99")),
            default_vat=options.get("default_vat") or VatRate.STANDARD,
        )


def gross(net: Decimal, vat: str) -> Decimal:
    return net * (1 + VatRate.percent(vat) / HUNDRED)


def net_of(gross_price: Decimal, vat: str) -> Decimal:
    return gross_price / (1 + VatRate.percent(vat) / HUNDRED)


def round_up_99(value: Decimal) -> Decimal:
    """12.30 -> 12.99, 12.99 -> 12.99, 13.00 -> 13.99."""
    candidate = value.to_integral_value(rounding=ROUND_FLOOR) + NINETY_NINE
    return candidate if candidate >= value else candidate + 1


def shop_price(
    *, rules: PriceRules, vat: str, cost_net: Decimal | None, feed_gross: Decimal | None
) -> Decimal | None:
    """The gross shop price, or None when the row has neither a cost nor a usable feed price."""
    if rules.source == "feed" and feed_gross is not None:
        price = feed_gross
    elif cost_net is not None:
        price = gross(cost_net * (1 + rules.markup_percent / HUNDRED) + rules.markup_fixed, vat)
    elif feed_gross is not None:
        price = feed_gross
    else:
        return None
    if cost_net is not None and rules.min_margin_percent > 0:
        floor_price = gross(cost_net * (1 + rules.min_margin_percent / HUNDRED), vat)
        price = max(price, floor_price)
    price = money(price)
    if rules.round_99:
        price = round_up_99(price)
    return price
