"""Recovery's window on orders: carts, lines, orders, vouchers and the shopper's session.

Everything recovery needs from the orders app goes through this module, so a change there is a
change here only. Where orders offers a service (``touch``, ``add_to_cart``,
``create_single_use_voucher``) it is used; the session key of the guest cart is read from orders
when it defines one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from orders.models import Cart, CartLine, ConsentRecord, Order, Voucher

DEFAULT_SESSION_KEY = "cart_token"


def session_key() -> str:
    """The session key under which orders keeps a guest's cart token."""
    try:
        from orders.selectors import CART_SESSION_KEY
    except ImportError:  # pragma: no cover - orders always defines it today
        return DEFAULT_SESSION_KEY
    return CART_SESSION_KEY


def shopper_email(cart: Cart) -> str:
    if cart.email:
        return cart.email.strip().lower()
    if cart.user_id and cart.user and cart.user.email:
        return cart.user.email.strip().lower()
    return ""


def shopper_phone(cart: Cart) -> str:
    checkout = cart.checkout or {}
    for key in ("phone", "shipping_phone"):
        if checkout.get(key):
            return str(checkout[key])
    address = checkout.get("address") or checkout.get("shipping_address") or {}
    if isinstance(address, dict) and address.get("phone"):
        return str(address["phone"])
    if cart.user_id and cart.user and cart.user.phone:
        return cart.user.phone
    return ""


def shopper_first_name(cart: Cart) -> str:
    if cart.user_id and cart.user and cart.user.first_name:
        return cart.user.first_name
    checkout = cart.checkout or {}
    address = checkout.get("address") or checkout.get("shipping_address") or {}
    if isinstance(address, dict) and address.get("first_name"):
        return str(address["first_name"])
    return str(checkout.get("first_name", ""))


def lines_of(cart: Cart) -> list[CartLine]:
    return list(
        CartLine.objects.filter(cart=cart).select_related("variant__product").order_by("added_at", "pk")
    )


def buyable_variant_ids(cart: Cart) -> set[int]:
    """Variants in ``cart`` a shopper could buy right now: active, published and sellable
    (in stock, or on pre-order/backorder) -- the same rule the message's ``available`` uses."""
    from catalog.stock import availability_map

    variants = [line.variant for line in lines_of(cart)]
    if not variants:
        return set()
    availability = availability_map(variants)
    return {
        v.pk
        for v in variants
        if v.is_active
        and v.product.is_published
        and availability.get(v.pk) is not None
        and availability[v.pk].sellable
    }


def has_anything_buyable(cart: Cart) -> bool:
    """Whether at least one line of ``cart`` can be bought now. A cart whose every item is sold
    out (or unpublished) gets no reminder, and a restore page over it should say so."""
    return bool(buyable_variant_ids(cart))


def shopper_lock(*, store_id: int, email: str) -> None:
    """Wait for (and then hold, until the transaction ends) the lock a checkout by this address
    holds: a claim never passes its "no purchase" check while that shopper's order is being
    placed, on any of their carts. A no-op on SQLite (one writer at a time anyway)."""
    from orders.services.checkout import lock_shopper

    lock_shopper(store_id=store_id, email=email)


def ordered_since(*, store_id: int, email: str, user_id: int | None, since: datetime) -> bool:
    """Whether this shopper (same address, or same account) placed an order in the store at or
    after ``since`` -- on any cart, any device."""
    who = Q()
    if email:
        who |= Q(email__iexact=email)
    if user_id:
        who |= Q(user_id=user_id)
    if not who:
        return False
    return Order.objects.filter(who, store_id=store_id, created_at__gte=since).exists()


def ordered_before(*, store_id: int, email: str, before: datetime) -> bool:
    if not email:
        return False
    return Order.objects.filter(store_id=store_id, email__iexact=email, created_at__lt=before).exists()


def consent_answer(*, cart: Cart, email: str, channel: str = "email") -> bool | None:
    """The shopper's latest reminder/marketing consent answer for ``channel`` (email, sms,
    push): True, False, or None (never asked). The cart's own answer is the e-mail one."""
    record = (
        ConsentRecord.objects.filter(
            store_id=cart.store_id, email__iexact=email, purpose="marketing", channel=channel
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if record is not None:
        return record.granted
    if channel != "email":
        return None
    if cart.consent_at is not None:
        return cart.marketing_consent
    return True if cart.marketing_consent else None


def create_voucher(*, store, kind: str, value: Decimal | None, expires_at: datetime) -> Voucher:
    from orders.services.codes import create_single_use_voucher

    return create_single_use_voucher(
        store=store,
        kind=kind,
        value=value or Decimal("0"),
        expires_at=expires_at,
        prefix="WROC",
        source="recovery",
    )


def voucher_usable(voucher: Voucher | None) -> bool:
    if voucher is None or not voucher.is_active:
        return False
    now = timezone.now()
    if voucher.valid_until and voucher.valid_until <= now:
        return False
    return not (voucher.usage_limit is not None and voucher.used_count >= voucher.usage_limit)


def visitor_cart(*, request, store) -> Cart | None:
    from orders.services.carts import find_cart

    user = request.user if request.user.is_authenticated else None
    return find_cart(store=store, user=user, token=request.session.get(session_key()))


def new_guest_cart(*, request, store, language: str) -> Cart:
    from orders.services.carts import get_or_create_cart

    user = request.user if request.user.is_authenticated else None
    cart = get_or_create_cart(store=store, user=user, token=None, language=language)
    if user is None:
        request.session[session_key()] = cart.token
    return cart


def put_in_session(*, request, cart: Cart) -> None:
    if not request.user.is_authenticated:
        request.session[session_key()] = cart.token


def refill(*, cart: Cart, wanted: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Make ``cart`` hold ``wanted`` [(variant id, quantity)] at today's prices.

    Returns (variant ids added or refreshed, variant ids that could not be added). Uses orders'
    ``add_to_cart`` so every rule of the cart (stock, published, limits) applies.
    """
    from orders.services.carts import add_to_cart
    from orders.services.errors import CartError

    ok, gone = [], []
    existing = {
        line.variant_id: line for line in CartLine.objects.filter(cart=cart).select_related("variant")
    }
    for variant_id, quantity in wanted:
        line = existing.get(variant_id)
        if line is not None:
            # Already there (the same device): refresh to the current price, keep the quantity.
            if line.price_when_added != line.variant.price:
                CartLine.objects.filter(pk=line.pk).update(price_when_added=line.variant.price)
            ok.append(variant_id)
            continue
        try:
            add_to_cart(cart=cart, variant_id=variant_id, quantity=quantity)
            ok.append(variant_id)
        except CartError:
            # Less stock than wanted: take what there is, else report it gone.
            try:
                add_to_cart(cart=cart, variant_id=variant_id, quantity=1)
                ok.append(variant_id)
            except CartError:
                gone.append(variant_id)
    return ok, gone


def apply_voucher(*, cart: Cart, voucher: Voucher) -> bool:
    from orders.services.carts import touch

    if not voucher_usable(voucher) or voucher.store_id != cart.store_id:
        return False
    if cart.voucher_id != voucher.pk:
        touch(cart, voucher=voucher)
    return True
