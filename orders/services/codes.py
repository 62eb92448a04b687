"""Vouchers and gift cards: generating, applying at checkout, spending and giving back.

Shoppers type one code into one field; it is looked up as a voucher, then as a gift card. Wrong
codes count against the IP address and the session (``CODE_ATTEMPTS_LIMIT`` failures per
``CODE_ATTEMPTS_WINDOW_SECONDS``, kept in the cache), after which codes are refused for a while:
a code cannot be found by guessing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category, Product
from shop import ratelimit

from ..models import (
    Cart,
    CartLine,
    GiftCard,
    GiftCardTransaction,
    Order,
    Voucher,
    VoucherBatch,
    VoucherRedemption,
    money,
)
from ..pricing import EVERYTHING, PricedLine, VoucherScope, voucher_lines, voucher_problem
from .carts import touch
from .errors import CartError, RateLimited

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and retyped


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_gift_card_code(code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())


def format_gift_card_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


# --- Vouchers ----------------------------------------------------------------------------------


def create_single_use_voucher(
    *,
    store,
    kind: str,
    value: Decimal,
    expires_at: datetime | None,
    prefix: str = "",
    min_basket: Decimal | None = None,
    source: str = "",
    name: str = "",
) -> Voucher:
    """A fresh, unguessable code usable for exactly one order (abandoned-cart recovery uses it).

    ``kind`` is a :class:`Voucher.Kind` value; ``value`` a percentage or an amount.
    """
    if kind not in Voucher.Kind.values:
        raise ValueError(f"unknown voucher kind {kind!r}")
    prefix = re.sub(r"[^A-Z0-9]", "", (prefix or "").upper())[:12]
    for _attempt in range(5):
        code = f"{prefix}-{random_code(10)}" if prefix else random_code(12)
        try:
            with transaction.atomic():
                return Voucher.objects.create(
                    store=store,
                    code=code,
                    name=name or _("Single-use code"),
                    kind=kind,
                    value=Decimal(value),
                    min_basket=min_basket,
                    valid_from=timezone.now(),
                    valid_until=expires_at,
                    usage_limit=1,
                    usage_limit_per_customer=1,
                    is_single_use=True,
                    source=source,
                )
        except IntegrityError:  # pragma: no cover - a 32^10 collision
            continue
    raise RuntimeError("could not generate a unique voucher code")  # pragma: no cover


BATCH_MAX = 10_000
PREFIX_MAX = 12


def clean_prefix(prefix: str) -> str:
    """A batch's prefix: letters A–Z and digits only, at most ``PREFIX_MAX``; raises ``ValueError``
    with a message for the merchant otherwise (it is printed on every code)."""
    prefix = (prefix or "").strip().upper()
    if len(prefix) > PREFIX_MAX:
        raise ValueError(_("The prefix can have at most %(count)d characters.") % {"count": PREFIX_MAX})
    if not re.fullmatch(r"[A-Z0-9]*", prefix):
        raise ValueError(_("The prefix can contain only letters A–Z and digits, without spaces."))
    return prefix


def _batch_code(prefix: str) -> str:
    return f"{prefix}-{random_code(10)}" if prefix else random_code(12)


@transaction.atomic
def create_voucher_batch(
    *,
    store,
    name: str,
    count: int,
    kind: str,
    value: Decimal,
    prefix: str = "",
    min_basket: Decimal | None = None,
    valid_until: datetime | None = None,
    products=(),
    categories=(),
    user=None,
) -> VoucherBatch:
    """``count`` fresh single-use codes (1 to ``BATCH_MAX``) in one batch, inserted in bulk with
    a constant number of queries. Codes are ``PREFIX-XXXXXXXXXX`` from :data:`CODE_ALPHABET`
    (``secrets``; 32^10 per prefix): the few that clash with an existing code of the store are
    drawn again before the insert."""
    if kind not in Voucher.Kind.values:
        raise ValueError(_("Choose the kind of discount."))
    if not 1 <= int(count) <= BATCH_MAX:
        raise ValueError(_("The number of codes must be between 1 and %(max)d.") % {"max": BATCH_MAX})
    prefix = clean_prefix(prefix)
    value = money(value)
    if value < 0 or (kind == Voucher.Kind.PERCENTAGE and value > 100):
        raise ValueError(_("A percentage must be between 0 and 100."))
    if kind != Voucher.Kind.FREE_SHIPPING and value <= 0:
        raise ValueError(_("Enter the value of the discount."))
    now = timezone.now()
    if valid_until is not None and valid_until <= now:
        raise ValueError(_("The expiry date must be in the future."))
    products, categories = list(products), list(categories)
    if any(p.store_id != store.pk for p in products) or any(c.store_id != store.pk for c in categories):
        raise ValueError(_("Products and categories must belong to the batch's store."))
    batch = VoucherBatch.objects.create(
        store=store,
        name=name,
        prefix=prefix,
        kind=kind,
        value=value,
        min_basket=min_basket,
        valid_until=valid_until,
        count=count,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    batch.products.set(products)
    batch.categories.set(categories)
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        drawn = {_batch_code(prefix) for _ in range(wanted)} - codes
        taken = set(Voucher.objects.filter(store=store, code__in=drawn).values_list("code", flat=True))
        codes |= drawn - taken
    Voucher.objects.bulk_create(
        [
            Voucher(
                store=store,
                code=code,
                name=name,
                kind=kind,
                value=value,
                min_basket=min_basket,
                valid_from=now,
                valid_until=valid_until,
                usage_limit=1,
                usage_limit_per_customer=1,
                is_single_use=True,
                source="batch",
                batch=batch,
                created_at=now,
            )
            for code in sorted(codes)
        ],
        batch_size=2000,
    )
    return batch


def voucher_scope(voucher: Voucher | None) -> VoucherScope:
    """The products and categories ``voucher`` is limited to (its batch's for a batch code), the
    categories with all their subcategories. At most three queries; none without a voucher."""
    if voucher is None:
        return EVERYTHING
    owner = voucher.batch if voucher.batch_id else voucher
    product_ids = frozenset(owner.products.values_list("pk", flat=True))
    roots = set(owner.categories.values_list("pk", flat=True))
    category_ids: set[int] = set()
    if roots:
        children: dict[int | None, list[int]] = {}
        for pk, parent in Category.objects.filter(store_id=voucher.store_id).values_list("pk", "parent_id"):
            children.setdefault(parent, []).append(pk)
        todo = list(roots)
        while todo:
            pk = todo.pop()
            if pk not in category_ids:
                category_ids.add(pk)
                todo.extend(children.get(pk, []))
    return VoucherScope(product_ids=product_ids, category_ids=frozenset(category_ids))


def customer_uses(voucher: Voucher, *, email: str = "", user=None) -> int:
    """How many orders this shopper (by email, or by account) already used ``voucher`` for."""
    who = Q()
    if email:
        who |= Q(email__iexact=email)
    if user is not None and getattr(user, "is_authenticated", False):
        who |= Q(user=user)
    if not who:
        return 0
    return VoucherRedemption.objects.filter(who, voucher=voucher).count()


def _voucher_totals(cart: Cart, scope: VoucherScope) -> tuple[Decimal, Decimal]:
    """(goods in the cart, the part of them ``scope`` matches), gift cards left out."""
    priced = [
        PricedLine(line.variant, line.quantity, line.variant.price, money(line.variant.price * line.quantity))
        for line in CartLine.objects.filter(cart=cart).select_related("variant__product")
    ]
    goods = sum((p.total for p in priced if p.kind != Product.Kind.GIFT_CARD), Decimal("0"))
    return goods, sum((p.total for p in voucher_lines(priced, scope)), Decimal("0"))


def _code_keys(keys: list[str]) -> list[str]:
    return [f"code:{k}" for k in keys]


def _limited(keys: list[str]) -> int:
    """Seconds until codes are accepted again from these clients (0: now)."""
    verdict = ratelimit.check_all(
        _code_keys(keys), limit=settings.CODE_ATTEMPTS_LIMIT, window=settings.CODE_ATTEMPTS_WINDOW_SECONDS
    )
    return verdict.retry_after


def _count_failure(keys: list[str]) -> None:
    for key in _code_keys(keys):
        ratelimit.hit(key, limit=settings.CODE_ATTEMPTS_LIMIT, window=settings.CODE_ATTEMPTS_WINDOW_SECONDS)


def apply_code(*, cart: Cart, code: str, client_keys: list[str], user=None) -> Voucher | GiftCard:
    """Apply a voucher or a gift card code to ``cart``.

    ``client_keys`` identify who is trying (e.g. ``["ip:1.2.3.4", "session:abc"]``); wrong codes
    count against each of them and, past the limit, every code is refused with
    :class:`RateLimited` until the window ends.
    """
    if cart.status != Cart.Status.OPEN:
        raise CartError(_("This cart has already been ordered."))
    wait = _limited(client_keys)
    if wait:
        raise RateLimited(
            "{} {}".format(_("Too many wrong codes."), ratelimit.try_again_message(wait)), retry_after=wait
        )
    raw = (code or "").strip().upper()[:40]
    if not raw:
        raise CartError(_("Enter a code."), field="code")
    voucher = Voucher.objects.filter(store_id=cart.store_id, code=raw).first()
    if voucher is not None:
        scope = voucher_scope(voucher)
        goods, matching = _voucher_totals(cart, scope)
        problem = voucher_problem(
            voucher,
            eligible=goods,
            now=timezone.now(),
            customer_uses=customer_uses(voucher, email=cart.email, user=user),
            store_id=cart.store_id,
            scope=scope,
            matching=matching,
        )
        if problem:
            raise CartError(problem, field="code")
        touch(cart, voucher=voucher)
        return voucher
    card = GiftCard.objects.filter(store_id=cart.store_id, code=normalise_gift_card_code(raw)).first()
    if card is not None:
        if not card.is_active or (card.expires_at and card.expires_at <= timezone.now()):
            raise CartError(_("This gift card is no longer valid."), field="code")
        if card.balance <= 0:
            raise CartError(_("This gift card has been used up."), field="code")
        touch(cart, gift_card=card)
        return card
    _count_failure(client_keys)
    raise CartError(_("We do not know this code. Check it and try again."), field="code")


def remove_code(*, cart: Cart, what: str) -> None:
    if what == "voucher" and cart.voucher_id:
        touch(cart, voucher=None)
    elif what == "gift_card" and cart.gift_card_id:
        touch(cart, gift_card=None)


def redeem_voucher(*, voucher: Voucher, order: Order, amount: Decimal, user=None) -> None:
    """Count one use (the voucher row is locked by the caller)."""
    VoucherRedemption.objects.create(
        voucher=voucher, order=order, email=order.email, user=user, amount=amount
    )
    Voucher.objects.filter(pk=voucher.pk).update(used_count=F("used_count") + 1)


def release_voucher(*, order: Order) -> None:
    """Give a cancelled order's voucher use back."""
    for redemption in VoucherRedemption.objects.filter(order=order).order_by("voucher_id", "pk"):
        Voucher.objects.filter(pk=redemption.voucher_id, used_count__gt=0).update(
            used_count=F("used_count") - 1
        )
        redemption.delete()


# --- Gift cards --------------------------------------------------------------------------------


def spend_gift_card(*, card: GiftCard, amount: Decimal, order: Order) -> None:
    """Take ``amount`` off a card locked by the caller; the conditional update makes a second
    spender fail instead of driving the balance below zero."""
    if amount <= 0:
        return
    updated = GiftCard.objects.filter(pk=card.pk, balance__gte=amount, is_active=True).update(
        balance=F("balance") - amount
    )
    if not updated:
        raise CartError(_("The gift card balance has changed. Please check your order again."))
    card.balance -= amount
    GiftCardTransaction.objects.create(
        gift_card=card,
        order=order,
        kind=GiftCardTransaction.Kind.REDEEM,
        amount=-amount,
        balance_after=card.balance,
    )


def refund_gift_cards(*, order: Order) -> Decimal:
    """Return to their cards whatever a (cancelled) order took from gift cards; safe to repeat."""
    refunded = Decimal("0")
    rows = (
        GiftCardTransaction.objects.filter(order=order, kind__in=["redeem", "refund"])
        .values("gift_card_id")
        .annotate(net=Sum("amount"))
        .order_by("gift_card_id")  # lock order: cards in primary-key order
    )
    for row in rows:
        owed = -row["net"]
        if owed <= 0:
            continue
        card = GiftCard.objects.select_for_update(of=("self",)).get(pk=row["gift_card_id"])
        card.balance += owed
        card.save(update_fields=["balance"])
        GiftCardTransaction.objects.create(
            gift_card=card,
            order=order,
            kind=GiftCardTransaction.Kind.REFUND,
            amount=owed,
            balance_after=card.balance,
        )
        refunded += owed
    return refunded


@transaction.atomic
def issue_gift_card(
    *,
    store,
    value: Decimal,
    recipient_email: str = "",
    expires_at: datetime | None = None,
    is_active: bool = True,
) -> GiftCard:
    """A card the merchant issues (the admin's Add), not bought in an order: a fresh code, the
    balance equal to ``value``, and the issue recorded in the card's ledger."""
    value = money(value)
    if value <= 0:
        raise ValueError("a gift card's value must be positive")
    card = GiftCard.objects.create(
        store=store,
        code=random_code(16),  # 32^16 codes: a collision fails the unique constraint, never merges
        initial_balance=value,
        balance=value,
        currency=store.currency,
        recipient_email=recipient_email,
        expires_at=expires_at or timezone.now() + timedelta(days=settings.GIFT_CARD_VALID_DAYS),
        is_active=is_active,
    )
    GiftCardTransaction.objects.create(
        gift_card=card, kind=GiftCardTransaction.Kind.ISSUE, amount=value, balance_after=value
    )
    return card


def issue_gift_cards(*, order: Order) -> list[GiftCard]:
    """Create the cards an order bought (one per unit), once: repeated calls return them."""
    from .workflow import order_lines

    lines = [line for line in order_lines(order) if line.is_gift_card]
    if not lines:
        return []
    existing = {(c.order_line_id, c.sequence): c for c in GiftCard.objects.filter(order_line__in=lines)}
    expires = timezone.now() + timedelta(days=settings.GIFT_CARD_VALID_DAYS)
    cards = []
    for line in lines:
        for seq in range(1, line.quantity + 1):
            card = existing.get((line.pk, seq))
            if card is None:
                card = GiftCard.objects.create(
                    store_id=order.store_id,
                    code=random_code(16),
                    initial_balance=line.unit_price,
                    balance=line.unit_price,
                    currency=order.currency,
                    order_line=line,
                    sequence=seq,
                    recipient_email=order.email,
                    expires_at=expires,
                )
                GiftCardTransaction.objects.create(
                    gift_card=card,
                    order=order,
                    kind=GiftCardTransaction.Kind.ISSUE,
                    amount=card.balance,
                    balance_after=card.balance,
                )
            cards.append(card)
    return cards


GIFT_CARD_CODE_LENGTH = 16


@dataclass(frozen=True)
class Balance:
    """What the balance page shows of a card: nothing that identifies it beyond its last four."""

    masked_code: str
    balance: Decimal
    currency: str
    expires_at: datetime | None


def gift_card_balance(*, store, code: str, ip: str) -> Balance | None:
    """The balance of the active, unexpired card ``code`` of ``store``, or ``None`` -- the same
    answer for an unknown, withdrawn, expired or another store's card, so the page tells a
    guesser nothing. Every check, found or not, counts against the IP and against the code's
    first four characters (``GIFT_CARD_BALANCE_CHECKS_LIMIT`` per
    ``GIFT_CARD_BALANCE_CHECKS_WINDOW_SECONDS``); past either, :class:`RateLimited`."""
    normalised = normalise_gift_card_code(code)
    keys = [f"gift-balance:ip:{ip}", f"gift-balance:prefix:{store.pk}:{normalised[:4]}"]
    verdict = ratelimit.hit_all(
        keys,
        limit=settings.GIFT_CARD_BALANCE_CHECKS_LIMIT,
        window=settings.GIFT_CARD_BALANCE_CHECKS_WINDOW_SECONDS,
    )
    if not verdict.allowed:
        raise RateLimited(
            "{} {}".format(_("Too many balance checks."), ratelimit.try_again_message(verdict.retry_after)),
            retry_after=verdict.retry_after,
        )
    card = GiftCard.objects.filter(store_id=store.pk, code=normalised).first()
    now = timezone.now()
    if card is None or not card.is_active or (card.expires_at is not None and card.expires_at <= now):
        return None
    return Balance(
        masked_code=card.masked_code, balance=card.balance, currency=card.currency, expires_at=card.expires_at
    )


def bought_cards_spent(*, order: Order) -> Decimal:
    """How much of the gift cards ``order`` bought has been spent already (0: none)."""
    cards = GiftCard.objects.filter(order_line__order=order)
    return sum((c.initial_balance - c.balance for c in cards), Decimal("0"))


def withdraw_bought_gift_cards(*, order: Order) -> list[GiftCard]:
    """Deactivate the gift cards a cancelled or refunded order bought: the money for them goes
    back, so they can no longer pay. Their balance stays on record (what was left unspent).
    Locked in primary-key order (orders/locking.py); bought cards are younger than any card the
    order spent, so this comes after :func:`refund_gift_cards`."""
    cards = list(
        GiftCard.objects.select_for_update(of=("self",))
        .filter(order_line__order=order, is_active=True)
        .order_by("pk")
    )
    if cards:
        GiftCard.objects.filter(pk__in=[c.pk for c in cards]).update(is_active=False)
        for card in cards:
            card.is_active = False
    return cards
