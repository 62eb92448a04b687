"""Placing an order: one transaction that re-prices, holds stock, numbers and records it.

Designed for a constant, small number of queries (~25 for an online payment, at most 40 with a
voucher, a gift card and cash on delivery) whether the cart has 1 or 20 lines: lines come in one
query with their variants and products, stock is held by one ``reserve_stock`` call, order lines
and payments are bulk-inserted, and the order number comes from one upsert taken at the very end,
so the store's counter row is locked only for the last few statements.

Idempotent: the cart row is locked first, so a double-submitted checkout waits for the first
and then gets the order the first one placed (``Order.cart`` is unique too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import stock
from catalog.models import Product
from shop.money import format_money

from .. import terms
from ..models import (
    Address,
    Cart,
    CartLine,
    GiftCard,
    Order,
    OrderEmail,
    OrderLine,
    Payment,
    PaymentMethod,
    ShippingMethod,
    Voucher,
)
from ..models.order import new_order_token
from ..pricing import Basket, price_basket, price_list_for
from .codes import customer_uses, redeem_voucher, spend_gift_card, voucher_scope
from .errors import CheckoutError, OutOfStock, TotalChanged
from .recording import order_line, record_order
from .validation import validate_answers
from .workflow import _send_after_commit, change_status


@dataclass
class LoadedCart:
    """A cart with everything checkout needs, loaded once (Saleor's ``fetch_checkout`` idea)."""

    cart: Cart
    lines: list[CartLine]
    shipping_method: ShippingMethod | None
    basket: Basket
    voucher: Voucher | None = None
    gift_card: GiftCard | None = None


def load_for_checkout(cart: Cart, *, user=None, lock: bool = False, now=None) -> LoadedCart:
    now = now or timezone.now()
    lines = list(
        CartLine.objects.filter(cart=cart).select_related("variant__product").order_by("added_at", "pk")
    )
    needs_shipping = any(
        line.variant.product.kind not in (Product.Kind.DIGITAL, Product.Kind.GIFT_CARD) for line in lines
    )
    method = None
    methods: list[ShippingMethod] = []
    if needs_shipping and cart.shipping_method_id:
        method = (
            ShippingMethod.objects.filter(pk=cart.shipping_method_id, store_id=cart.store_id, is_active=True)
            .prefetch_related("rates")
            .first()
        )
        methods = [method] if method else []
    voucher = cart.voucher
    if cart.voucher_id and lock:
        voucher = Voucher.objects.select_for_update().filter(pk=cart.voucher_id).first()
    card = cart.gift_card
    if cart.gift_card_id and lock:
        card = GiftCard.objects.select_for_update().filter(pk=cart.gift_card_id).first()
    if card is not None and (card.store_id != cart.store_id or (card.expires_at and card.expires_at <= now)):
        card = None
    payment_method = cart.payment_method
    if payment_method is not None and (
        payment_method.store_id != cart.store_id or not payment_method.is_active
    ):
        payment_method = None
    basket = price_basket(
        lines=[(line.variant, line.quantity) for line in lines],
        currency=cart.store.currency,
        store_id=cart.store_id,
        now=now,
        methods=methods,
        shipping_method=method,
        payment_method=payment_method,
        voucher=voucher,
        voucher_customer_uses=customer_uses(voucher, email=cart.email, user=user or cart.user)
        if voucher
        else 0,
        voucher_scope=voucher_scope(voucher),
        gift_card=card,
        # The same shopper place_order prices for: the signed-in user, else the cart's account.
        price_list=price_list_for(
            store_id=cart.store_id, user=user if user is not None and user.is_authenticated else cart.user
        ),
    )
    return LoadedCart(
        cart=cart, lines=lines, shipping_method=method, basket=basket, voucher=voucher, gift_card=card
    )


def checkout_problems(loaded: LoadedCart) -> list[tuple[str, str]]:
    """What still stops this cart from being ordered: [(step, message)] (step: cart, contact,
    delivery, summary)."""
    cart, basket = loaded.cart, loaded.basket
    problems: list[tuple[str, str]] = []
    if not loaded.lines:
        return [("cart", _("Your cart is empty."))]
    for line in loaded.lines:
        v = line.variant
        if not v.is_active or not v.product.is_published or v.store_id != cart.store_id:
            problems.append(
                ("cart", _("%(name)s is no longer available. Remove it from your cart.") % {"name": v})
            )
    if not cart.email:
        problems.append(("contact", _("Enter your email address.")))
    if basket.needs_shipping:
        if loaded.shipping_method is None:
            problems.append(("delivery", _("Choose a delivery method.")))
        elif not basket.shipping_option or not basket.shipping_option.available:
            problems.append(("delivery", _("The chosen delivery method is not available for this cart.")))
    if basket.amount_due > 0:
        pm = cart.payment_method
        if pm is None or not pm.is_active or pm.store_id != cart.store_id:
            problems.append(("delivery", _("Choose a payment method.")))
        elif loaded.shipping_method is not None:
            cod = loaded.shipping_method.cash_on_delivery
            if pm.is_cash_on_delivery and cod == ShippingMethod.CashOnDelivery.NO:
                problems.append(
                    ("delivery", _("Cash on delivery is not available with this delivery method."))
                )
            if not pm.is_cash_on_delivery and cod == ShippingMethod.CashOnDelivery.ONLY:
                problems.append(("delivery", _("This delivery method is paid in cash on delivery.")))
        elif pm.is_cash_on_delivery:
            problems.append(("delivery", _("Cash on delivery needs a parcel.")))
    for message in validate_answers(
        cart.checkout or {}, shipping_method=loaded.shipping_method, basket=basket
    ):
        problems.append(("delivery", message))
    if basket.voucher_problem:
        problems.append(("summary", basket.voucher_problem))
    return problems


def hold_minutes(provider: str | None) -> float:
    """How long an order's stock is held while it waits for its money."""
    if provider == PaymentMethod.Provider.BANK_TRANSFER:
        return settings.BANK_TRANSFER_RESERVATION_DAYS * 24 * 60
    return settings.RESERVATION_MINUTES


def lock_shopper(*, store_id: int, email: str) -> None:
    """Hold, until the transaction ends, a lock on one shopper (store, address). A checkout takes
    it right after its cart row, so cart recovery's claim, which takes it too, waits for an
    order being placed by the same person on any of their carts (PostgreSQL; no-op elsewhere)."""
    email = (email or "").strip().lower()
    if email and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"shopper:{store_id}:{email}"])


@transaction.atomic
def place_order(
    *,
    cart: Cart,
    checkout_token: str = "",
    expected_total=None,
    expected_amount_due=None,
    channel: str = Order.Channel.STOREFRONT,
    user=None,
    customer_note: str = "",
    placed_at=None,
    accepted_terms: bool = False,
) -> Order:
    """Turn ``cart`` into an order; returns the order (the existing one if already placed).

    ``checkout_token`` is the one-time token of the summary form the shopper submitted;
    ``expected_total`` the total shown there: when the server-side total differs (a price or a
    code changed meanwhile) :class:`TotalChanged` asks the shopper to confirm again; so does
    ``expected_amount_due`` (what was left to pay after the gift card), compared once the card is
    locked and applied, when another order spent the card meanwhile. Prices are
    always the database's. Raises :class:`OutOfStock` when stock ran out ("someone has just
    bought the last one") and :class:`CheckoutError` for anything else missing. ``placed_at``
    keeps the original time of an imported order (marketplace, API, demo data): it dates and
    numbers the order; stock holds still run from now. ``accepted_terms``: the shopper ticked the
    terms box; the store must have published terms then, and the versions accepted are recorded
    with the order (``orders/terms.py``).
    """
    now = timezone.now()
    placed_at = placed_at or now
    cart = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("store", "payment_method", "voucher", "gift_card", "user")
        .get(pk=cart.pk)
    )
    if cart.status == Cart.Status.ORDERED:
        existing = Order.objects.filter(cart=cart).first()
        if existing is not None:
            return existing
    if cart.status != Cart.Status.OPEN:
        raise CheckoutError(_("This cart is closed."))
    lock_shopper(store_id=cart.store_id, email=cart.email or (cart.user.email if cart.user else ""))
    if checkout_token and checkout_token != cart.checkout_token:
        existing = Order.objects.filter(store_id=cart.store_id, idempotency_key=checkout_token).first()
        if existing is not None:
            return existing
        raise CheckoutError(
            _("Your cart changed after you saw the summary. Please check it and confirm again.")
        )
    store = cart.store
    if accepted_terms:
        terms.require(store=store)
    user = user if user is not None and user.is_authenticated else cart.user
    loaded = load_for_checkout(cart, user=user, lock=True, now=now)
    problems = checkout_problems(loaded)
    if problems:
        raise CheckoutError(problems[0][1], field=problems[0][0])
    basket = loaded.basket
    if expected_total not in (None, ""):
        try:
            expected = Decimal(str(expected_total))
        except (InvalidOperation, ValueError):
            expected = None
        if expected != basket.total:
            raise TotalChanged(
                basket.total,
                _("The total is now %(total)s. Please check your order and confirm again.")
                % {"total": format_money(basket.total, store.currency)},
            )
    # The card row is locked (load_for_checkout) and applied in the basket: what is left to pay is
    # final here. Another order may have spent the card since the summary was shown.
    if expected_amount_due not in (None, ""):
        try:
            expected_due = Decimal(str(expected_amount_due))
        except (InvalidOperation, ValueError):
            expected_due = None
        if expected_due != basket.amount_due:
            raise TotalChanged(
                basket.total,
                _(
                    "The gift card now covers %(card)s: %(due)s is left to pay. Please check your order and confirm again."
                )
                % {
                    "card": format_money(basket.gift_card_amount, store.currency),
                    "due": format_money(basket.amount_due, store.currency),
                },
            )
    payment_method = cart.payment_method if basket.amount_due > 0 else None
    provider = payment_method.provider if payment_method else ""

    # Stock first: locks only the rows of the variants bought, in primary-key order.
    holding = [
        (line.variant, line.quantity) for line in loaded.lines if line.variant.product.kind != "gift_card"
    ]
    # Until the order has its number the stock is held (or sold) under the cart's reference.
    temporary_reference = f"cart:{cart.pk}"
    minutes = hold_minutes(provider)
    # Cash on delivery ships before the money comes in, and a gift card may pay for everything:
    # then the stock is taken at once (a cancellation puts it back). Otherwise it is held while
    # the shopper pays.
    sell_at_once = provider in ("", PaymentMethod.Provider.CASH_ON_DELIVERY)
    if holding:
        try:
            if sell_at_once:
                stock.sell_now(lines=holding, reference=temporary_reference, store=store)
            else:
                stock.reserve_stock(
                    lines=holding, reference=temporary_reference, minutes=minutes, replace=False
                )
        except stock.InsufficientStock as exc:
            raise OutOfStock(exc.shortages) from exc

    answers = cart.checkout or {}
    shipping_address, billing_address = _addresses(answers, loaded)
    method = loaded.shipping_method if basket.needs_shipping else None
    # Shipping and the payment fee take the VAT of the goods (orders.vat.fee_rate).
    shipping_vat = basket.fee_vat_rate
    preorder_dates = [line.variant.release_date for line in loaded.lines if line.variant.is_preorder]
    online = provider not in ("", PaymentMethod.Provider.CASH_ON_DELIVERY)
    initial = Order.Status.AWAITING_PAYMENT if online else Order.Status.NEW
    order = Order.objects.create(
        store=store,
        # A placeholder until the very end: the number is taken last, so the store's counter row
        # stays locked only for the last few statements of the transaction.
        number=f"~{new_order_token()[:24]}",
        cart=cart,
        idempotency_key=checkout_token or "",
        channel=channel,
        user=user,
        email=cart.email,
        phone=answers.get("phone", ""),
        language=cart.language,
        currency=store.currency,
        status=initial,
        shipping_address=shipping_address,
        billing_address=billing_address,
        wants_invoice=bool(answers.get("wants_invoice")),
        shipping_method=method,
        shipping_method_name=method.name if method else "",
        pickup_point=answers.get("pickup_point", "") if method and method.needs_pickup_point else "",
        payment_method=payment_method,
        payment_method_name=payment_method.name if payment_method else "",
        payment_provider=provider,
        voucher=basket.voucher,
        voucher_code=basket.voucher.code if basket.voucher else "",
        subtotal=basket.subtotal,
        discount_total=basket.discount,
        shipping_total=basket.shipping,
        shipping_vat_rate=shipping_vat,
        payment_fee=basket.payment_fee,
        total=basket.total,
        total_net=basket.total_net,
        gift_card_total=basket.gift_card_amount,
        customer_note=(customer_note or "")[:2000],
        reservation_expires_at=now + timedelta(minutes=minutes) if online else None,
        ships_on=max(preorder_dates) if preorder_dates else None,
        stock_committed=sell_at_once and bool(holding),
        created_at=placed_at,
    )
    payments = []
    if basket.gift_card_amount > 0:
        payments.append(
            Payment(
                order=order,
                provider=Payment.GIFT_CARD,
                amount=basket.gift_card_amount,
                currency=order.currency,
                status=Payment.Status.PAID,
                paid_at=now,
                gift_card=loaded.gift_card,
                gateway_reference=loaded.gift_card.masked_code,
            )
        )
        spend_gift_card(card=loaded.gift_card, amount=basket.gift_card_amount, order=order)
    if basket.amount_due > 0:
        payments.append(
            Payment(order=order, provider=provider, amount=basket.amount_due, currency=order.currency)
        )
    Payment.objects.bulk_create(payments)
    if basket.voucher is not None:
        redeem_voucher(voucher=basket.voucher, order=order, amount=basket.discount, user=user)

    placed = order.emails.create(kind=OrderEmail.Kind.PLACED, recipient=order.email, language=order.language)
    _send_after_commit(placed.pk)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED, ordered_at=now, updated_at=now)
    cart.status = Cart.Status.ORDERED

    record_order(
        order,
        lines=_lines(loaded),
        note=_("Order placed"),
        placed_at=placed_at,
        held_reference=temporary_reference if holding else "",
    )
    if accepted_terms:
        terms.record(order=order)
    if basket.amount_due == 0:
        # Gift cards paid for everything.
        change_status(order=order, status=Order.Status.PAID, note=_("Paid with a gift card"))
    return order


def _addresses(answers: dict, loaded: LoadedCart) -> tuple[Address | None, Address | None]:
    basket = loaded.basket
    person = {
        "first_name": (answers.get("first_name") or "")[:100],
        "last_name": (answers.get("last_name") or "")[:100],
        "phone": (answers.get("phone") or "")[:32],
    }
    rows = []
    shipping = None
    if basket.needs_shipping:
        needs_street = loaded.shipping_method is not None and loaded.shipping_method.needs_address
        shipping = Address(
            **person,
            street=(answers.get("street") or "")[:200] if needs_street else "",
            postal_code=(answers.get("postal_code") or "")[:10] if needs_street else "",
            city=(answers.get("city") or "")[:100] if needs_street else "",
        )
        rows.append(shipping)
    billing = shipping
    if answers.get("wants_invoice"):
        billing = Address(
            **person,
            company_name=(answers.get("company_name") or "")[:200],
            tax_id=(answers.get("tax_id") or "")[:20],
            street=(answers.get("billing_street") or "")[:200],
            postal_code=(answers.get("billing_postal_code") or "")[:10],
            city=(answers.get("billing_city") or "")[:100],
        )
        rows.append(billing)
    if rows:
        Address.objects.bulk_create(rows)
    return shipping, billing


def _lines(loaded: LoadedCart) -> list[OrderLine]:
    return [
        order_line(
            priced.variant,
            quantity=priced.quantity,
            unit_price=priced.unit_price,
            total=priced.total,
            discount=priced.discount,
            total_net=priced.net,
            position=position,
        )
        for position, priced in enumerate(loaded.basket.lines)
    ]
