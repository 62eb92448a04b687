"""What a basket costs: pure functions over rows already loaded, no queries.

The cart page, every checkout step and ``place_order`` call :func:`price_basket` with the same
inputs, so what the shopper is shown is what the order records. Prices are always the variants'
current gross prices from the database; nothing a browser sends is ever a price.

Rules (docs/architecture.md, "Money"): money is ``Decimal``; rounding is half-up to 0.01, once, at the line total --
a fixed discount is split over the lines to the grosz by the largest remainder, so the lines always
add up to the order and no line's discount is negative or above its total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from catalog.models import Product, Variant, VatRate
from shop.money import allocate, format_money

from . import vat
from .models import GiftCard, PaymentMethod, ShippingMethod, Voucher, money

ZERO = Decimal("0.00")


@dataclass
class PricedLine:
    variant: Variant
    quantity: int
    unit_price: Decimal
    total: Decimal
    discount: Decimal = ZERO

    @property
    def kind(self) -> str:
        return self.variant.product.kind

    @property
    def is_gift_card(self) -> bool:
        return self.kind == Product.Kind.GIFT_CARD

    @property
    def needs_shipping(self) -> bool:
        return self.kind not in (Product.Kind.DIGITAL, Product.Kind.GIFT_CARD)

    @property
    def vat_rate(self) -> str:
        return self.variant.product.vat_rate

    @property
    def tax_code(self) -> str:
        """The code the line is taxed at: ``np`` (outside VAT) for a gift card."""
        return vat.NOT_SUBJECT if self.is_gift_card else self.vat_rate

    @property
    def total_after_discount(self) -> Decimal:
        return self.total - self.discount

    @property
    def net(self) -> Decimal:
        """Informational: the order's net is per rate (:attr:`Basket.total_net`)."""
        return vat.split(self.total_after_discount, self.tax_code)[0]

    @property
    def weight_grams(self) -> int:
        return self.variant.weight_grams * self.quantity


@dataclass(frozen=True)
class PriceList:
    """A signed-in shopper's own prices (a customer group's): a price per variant, else a
    percentage off the variant's price. Gift cards always cost their face value."""

    percent_off: Decimal = ZERO
    prices: Mapping[int, Decimal] = field(default_factory=dict)
    company: Mapping[str, object] = field(default_factory=dict)  # checkout answers to prefill

    def unit_price(self, variant: Variant) -> Decimal:
        if variant.product.kind == Product.Kind.GIFT_CARD:
            return variant.price
        if variant.pk in self.prices:
            return min(variant.price, money(self.prices[variant.pk]))
        if self.percent_off > 0:
            return max(ZERO, variant.price - money(variant.price * self.percent_off / 100))
        return variant.price


# Orders never imports the apps that keep price lists (customers): they register a source,
# ``fn(store_id=..., user=...) -> PriceList | None``, in their AppConfig.ready().
_price_list_sources: dict[str, Callable[..., PriceList | None]] = {}


def register_price_list_source(name: str, fn: Callable[..., PriceList | None]) -> None:
    _price_list_sources[name] = fn


def price_list_for(*, store_id: int, user) -> PriceList | None:
    """The signed-in ``user``'s price list in this store (``None`` for guests and shoppers
    without one); the first registered source that has one answers."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    for fn in _price_list_sources.values():
        found = fn(store_id=store_id, user=user)
        if found is not None:
            return found
    return None


@dataclass
class ShippingOption:
    method: ShippingMethod
    price: Decimal
    available: bool
    reason: str = ""
    missing_for_free: Decimal | None = None


@dataclass
class Basket:
    """Everything the shopper pays, line by line, and why."""

    currency: str
    lines: list[PricedLine]
    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    shipping: Decimal = ZERO
    payment_fee: Decimal = ZERO
    total: Decimal = ZERO
    gift_card_amount: Decimal = ZERO
    needs_shipping: bool = False
    weight_grams: int = 0
    goods_value: Decimal = ZERO  # after discounts, without gift cards: what thresholds look at
    voucher: Voucher | None = None
    voucher_problem: str = ""
    free_shipping_by_voucher: bool = False
    shipping_option: ShippingOption | None = None
    shipping_options: list[ShippingOption] = field(default_factory=list)
    price_list: PriceList | None = None

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.gift_card_amount

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def fee_vat_rate(self) -> str:
        """The VAT code of shipping and the payment fee: the goods' (:func:`orders.vat.fee_rate`);
        an order of gift cards only takes the shipping method's rate (23% without one)."""
        default = self.shipping_option.method.vat_rate if self.shipping_option else VatRate.STANDARD
        return vat.fee_rate(((line.total_after_discount, line.tax_code) for line in self.lines), default)

    def vat_items(self) -> list[tuple[Decimal, str]]:
        """(gross, VAT code) of every position the order's invoice prints."""
        items = [(line.total_after_discount, line.tax_code) for line in self.lines]
        fee_rate = self.fee_vat_rate
        if self.shipping:
            items.append((self.shipping, fee_rate))
        if self.payment_fee:
            items.append((self.payment_fee, fee_rate))
        return items

    @property
    def total_net(self) -> Decimal:
        """Net of the whole order: the sum of the per-rate nets (VAT per rate from the gross)."""
        return vat.totals(self.vat_items())[1]

    @property
    def free_shipping_hint(self) -> ShippingOption | None:
        """The cheapest available paid option that becomes free above a threshold."""
        candidates = [o for o in self.shipping_options if o.available and o.missing_for_free]
        return min(candidates, key=lambda o: o.missing_for_free) if candidates else None

    def free_shipping_message(self) -> str:
        hint = self.free_shipping_hint
        if hint is None:
            return ""
        return _("%(amount)s more for free delivery") % {
            "amount": format_money(hint.missing_for_free, self.currency)
        }


@dataclass(frozen=True)
class VoucherScope:
    """Which lines a voucher discounts: products by id and categories by id (the categories'
    subcategories already included). Empty on both sides: every line. Loaded by
    :func:`orders.services.codes.voucher_scope`."""

    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()

    @property
    def is_limited(self) -> bool:
        return bool(self.product_ids or self.category_ids)

    def matches(self, variant: Variant) -> bool:
        if not self.is_limited:
            return True
        product = variant.product
        return product.pk in self.product_ids or product.category_id in self.category_ids


EVERYTHING = VoucherScope()


def voucher_lines(lines: list[PricedLine], scope: VoucherScope | None) -> list[PricedLine]:
    """The lines a voucher discounts: goods (never gift cards) that match its scope. The one
    rule for both the discount and the minimum a scoped code checks."""
    scope = scope or EVERYTHING
    return [p for p in lines if not p.is_gift_card and scope.matches(p.variant)]


def net_of(gross: Decimal, vat_rate: str) -> Decimal:
    """Net of one gross amount (VAT rounded half-up, net the remainder): :func:`orders.vat.split`."""
    return vat.split(gross, vat_rate)[0]


def voucher_problem(
    voucher: Voucher,
    *,
    eligible: Decimal,
    now: datetime,
    customer_uses: int,
    store_id: int,
    scope: VoucherScope | None = None,
    matching: Decimal | None = None,
) -> str:
    """Why ``voucher`` cannot be used now, or ``""``. ``customer_uses`` = earlier uses by this
    shopper (email or account); ``eligible`` = the goods (no gift cards) the minimum is checked
    against; ``matching`` = the part of them in the voucher's ``scope`` (products, categories)."""
    if voucher.store_id != store_id or not voucher.is_active:
        return _("This code is not valid.")
    if voucher.valid_from and now < voucher.valid_from:
        return _("This code is not valid yet.")
    if voucher.valid_until and now >= voucher.valid_until:
        return _("This code has expired.")
    if voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit:
        return _("This code has already been used.")
    if voucher.usage_limit_per_customer is not None and customer_uses >= voucher.usage_limit_per_customer:
        return _("You have already used this code.")
    if voucher.min_basket is not None and eligible < voucher.min_basket:
        return _("This code needs products worth at least %(amount)s.") % {
            "amount": format_money(voucher.min_basket, voucher.store.currency if voucher.store_id else "PLN")
        }
    if eligible <= 0:
        return _("This code does not apply to gift cards.")
    if scope is not None and scope.is_limited and not (matching or 0) > 0:
        return _("This code applies only to selected products, and none of them is in your cart.")
    return ""


def shipping_options(
    methods: list[ShippingMethod], *, goods_value: Decimal, weight_grams: int, currency: str
) -> list[ShippingOption]:
    """Each method's price for this basket (rates prefetched as ``method.rates.all()``)."""
    options = []
    for method in methods:
        price = method.price
        for rate in method.rates.all():
            if rate.matches(weight_grams=weight_grams, value=goods_value):
                price = rate.price
                break
        reason = ""
        if method.max_weight_grams is not None and weight_grams > method.max_weight_grams:
            reason = _("Too heavy for this method.")
        elif method.min_order_value is not None and goods_value < method.min_order_value:
            reason = _("Available from %(amount)s.") % {
                "amount": format_money(method.min_order_value, currency)
            }
        elif method.max_order_value is not None and goods_value > method.max_order_value:
            reason = _("Available up to %(amount)s.") % {
                "amount": format_money(method.max_order_value, currency)
            }
        missing = None
        if method.free_shipping_threshold is not None:
            if goods_value >= method.free_shipping_threshold:
                price = ZERO
            elif price > 0:
                missing = method.free_shipping_threshold - goods_value
        options.append(ShippingOption(method, money(price), not reason, reason, missing))
    return options


def price_basket(
    *,
    lines: list[tuple[Variant, int]],
    currency: str,
    store_id: int,
    now: datetime,
    methods: list[ShippingMethod] | None = None,
    shipping_method: ShippingMethod | None = None,
    payment_method: PaymentMethod | None = None,
    voucher: Voucher | None = None,
    voucher_customer_uses: int = 0,
    voucher_scope: VoucherScope | None = None,
    gift_card: GiftCard | None = None,
    price_list: PriceList | None = None,
) -> Basket:
    """Price ``lines`` (variants with ``product`` loaded) with the shopper's choices; a
    ``price_list`` (:func:`price_list_for`) sets the signed-in member's unit prices;
    ``voucher_scope`` limits the voucher to some products or categories (none: every product)."""
    unit = price_list.unit_price if price_list is not None else (lambda v: v.price)
    priced = [PricedLine(v, q, unit(v), money(unit(v) * q)) for v, q in lines]
    basket = Basket(currency=currency, lines=priced, price_list=price_list)
    basket.subtotal = sum((p.total for p in priced), ZERO)
    basket.needs_shipping = any(p.needs_shipping for p in priced)
    basket.weight_grams = sum(p.weight_grams for p in priced if p.needs_shipping)
    eligible = [p for p in priced if not p.is_gift_card]
    eligible_total = sum((p.total for p in eligible), ZERO)

    if voucher is not None:
        matching = voucher_lines(priced, voucher_scope)
        matching_total = sum((p.total for p in matching), ZERO)
        problem = voucher_problem(
            voucher,
            eligible=eligible_total,
            now=now,
            customer_uses=voucher_customer_uses,
            store_id=store_id,
            scope=voucher_scope,
            matching=matching_total,
        )
        if problem:
            basket.voucher_problem = problem
        else:
            basket.voucher = voucher
            _apply_voucher(voucher, matching, matching_total)
            basket.free_shipping_by_voucher = voucher.kind == Voucher.Kind.FREE_SHIPPING
    basket.discount = sum((p.discount for p in priced), ZERO)
    basket.goods_value = eligible_total - basket.discount

    if basket.needs_shipping:
        basket.shipping_options = shipping_options(
            methods or [], goods_value=basket.goods_value, weight_grams=basket.weight_grams, currency=currency
        )
        if shipping_method is not None:
            basket.shipping_option = next(
                (o for o in basket.shipping_options if o.method.pk == shipping_method.pk),
                None,
            ) or ShippingOption(shipping_method, shipping_method.price, False, _("Not available."))
            if basket.shipping_option.available:
                basket.shipping = ZERO if basket.free_shipping_by_voucher else basket.shipping_option.price

    goods_and_shipping = basket.subtotal - basket.discount + basket.shipping
    if gift_card is not None and gift_card.is_active and gift_card.balance > 0:
        # A gift card pays for goods and shipping, but never for other gift cards.
        payable = goods_and_shipping - sum((p.total for p in priced if p.is_gift_card), ZERO)
        basket.gift_card_amount = max(ZERO, min(gift_card.balance, payable))
    if payment_method is not None and goods_and_shipping - basket.gift_card_amount > 0:
        basket.payment_fee = payment_method.fee
    basket.total = goods_and_shipping + basket.payment_fee
    return basket


def _apply_voucher(voucher: Voucher, eligible: list[PricedLine], eligible_total: Decimal) -> None:
    """``eligible``: the lines the voucher discounts (:func:`voucher_lines`). Percent: each line's own share, rounded. Fixed: ``min(value, eligible total)`` split over
    the lines by value to the grosz (largest remainder, :func:`shop.money.allocate`): the shares
    add up to it exactly, none below zero or above its line."""
    if voucher.kind == Voucher.Kind.PERCENTAGE:
        for p in eligible:
            p.discount = min(p.total, money(p.total * voucher.value / 100))
    elif voucher.kind == Voucher.Kind.FIXED and eligible_total > 0:
        amount = min(money(voucher.value), eligible_total)
        for p, share in zip(eligible, allocate(amount, [p.total for p in eligible]), strict=True):
            p.discount = share
