"""Cart changes. Every change touches ``last_activity_at`` and publishes ``cart_updated``.

The ``cart_updated`` domain event (payload ``{"cart_id", "store_id"}``) is what abandoned-cart
recovery builds on; it is written to the outbox in the transaction of the change.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, Variant
from catalog.stock import availability_map
from shop import events

from ..consent import EMAIL, PUSH, SMS, wording
from ..models import Cart, CartLine, ConsentRecord
from .errors import CartError

CART_UPDATED = "cart_updated"


def find_cart(*, store, user=None, token: str | None = None) -> Cart | None:
    """The shopper's open cart: the account's when logged in, else the one the session names."""
    if user is not None and user.is_authenticated:
        return Cart.objects.filter(store=store, user=user, status=Cart.Status.OPEN).first()
    if token:
        return Cart.objects.filter(
            store=store, token=token, user__isnull=True, status=Cart.Status.OPEN
        ).first()
    return None


def get_or_create_cart(*, store, user=None, token: str | None = None, language: str = "pl") -> Cart:
    cart = find_cart(store=store, user=user, token=token)
    if cart is not None:
        return cart
    owner = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            return Cart.objects.create(
                store=store, user=owner, language=language, email=owner.email if owner else ""
            )
    except IntegrityError:  # the same account created its cart in a parallel request
        return Cart.objects.get(store=store, user=owner, status=Cart.Status.OPEN)


def touch(cart: Cart, **fields) -> None:
    """Record activity (and ``fields``) on ``cart`` and tell the rest of the shop.

    Any change also voids the one-time checkout token: a summary shown before the change can
    no longer place an order.
    """
    now = timezone.now()
    fields.update(last_activity_at=now, updated_at=now, checkout_token="")
    Cart.objects.filter(pk=cart.pk).update(**fields)
    for name, value in fields.items():
        setattr(cart, name, value)
    events.publish(
        type=CART_UPDATED, payload={"cart_id": cart.pk, "store_id": cart.store_id}, store=cart.store
    )


def sellable_variant(*, store_id: int, variant_id) -> Variant:
    """The active, published variant ``variant_id`` of this store, else :class:`CartError`."""
    try:
        variant_id = int(variant_id)
    except (TypeError, ValueError):
        raise CartError(_("This product does not exist."), field="variant") from None
    variant = (
        Variant.objects.select_related("product")
        .filter(pk=variant_id, store_id=store_id, product__store_id=store_id)
        .first()
    )
    if variant is None:
        raise CartError(_("This product does not exist."), field="variant")
    if not variant.is_active or not variant.product.is_published:
        raise CartError(_("%(name)s is no longer available.") % {"name": variant}, field="variant")
    return variant


def _check_quantity(quantity) -> int:
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise CartError(_("Enter a whole number of items."), field="quantity") from None
    if quantity < 1:
        raise CartError(_("The quantity must be at least 1."), field="quantity")
    if quantity > settings.CART_MAX_LINE_QUANTITY:
        raise CartError(
            _("You can order at most %(n)d of one item. For bigger orders please contact us.")
            % {"n": settings.CART_MAX_LINE_QUANTITY},
            field="quantity",
        )
    return quantity


def _check_available(variant: Variant, quantity: int) -> None:
    if variant.product.kind == Product.Kind.GIFT_CARD:
        return  # gift cards are issued on payment, never out of stock
    avail = availability_map([variant])[variant.pk]
    if not avail.sellable:
        raise CartError(_("%(name)s is sold out.") % {"name": variant}, field="quantity")
    if avail.status != "backorder" and quantity > avail.available:
        raise CartError(
            _("Only %(n)d of %(name)s left.") % {"n": avail.available, "name": variant}, field="quantity"
        )


@transaction.atomic
def add_to_cart(*, cart: Cart, variant_id, quantity=1) -> CartLine:
    """Add ``quantity`` of a variant (a set and a gift card are variants too) to ``cart``.

    Refuses, with a message for the shopper, variants of another store, inactive or unpublished
    ones, quantities that are not whole numbers from 1 to ``CART_MAX_LINE_QUANTITY`` and more
    than is available.
    """
    quantity = _check_quantity(quantity)
    cart = Cart.objects.select_for_update().get(pk=cart.pk)
    if cart.status != Cart.Status.OPEN:
        raise CartError(_("This cart has already been ordered."))
    variant = sellable_variant(store_id=cart.store_id, variant_id=variant_id)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    if line is None and cart.lines.count() >= settings.CART_MAX_LINES:
        raise CartError(_("Your cart is full."))
    total = _check_quantity((line.quantity if line else 0) + quantity)
    _check_available(variant, total)
    if line is None:
        line = CartLine.objects.create(
            cart=cart, variant=variant, quantity=total, price_when_added=variant.price
        )
    else:
        line.quantity = total
        line.price_when_added = variant.price
        line.save(update_fields=["quantity", "price_when_added", "updated_at"])
    touch(cart)
    return line


@transaction.atomic
def update_line(*, cart: Cart, line_id, quantity) -> CartLine | None:
    """Set a line's quantity (0 removes it). The line must be in ``cart``."""
    line = _own_line(cart, line_id)
    try:
        if int(quantity) == 0:
            return remove_line(cart=cart, line_id=line.pk)
    except (TypeError, ValueError):
        pass
    quantity = _check_quantity(quantity)
    if quantity > line.quantity:
        _check_available(line.variant, quantity)
    line.quantity = quantity
    line.price_when_added = line.variant.price
    line.save(update_fields=["quantity", "price_when_added", "updated_at"])
    touch(cart)
    return line


@transaction.atomic
def remove_line(*, cart: Cart, line_id) -> None:
    line = _own_line(cart, line_id)
    line.delete()
    touch(cart)


def _own_line(cart: Cart, line_id) -> CartLine:
    try:
        line_id = int(line_id)
    except (TypeError, ValueError):
        raise CartError(_("This item is not in your cart.")) from None
    line = CartLine.objects.select_related("variant__product").filter(pk=line_id, cart=cart).first()
    if line is None or cart.status != Cart.Status.OPEN:
        raise CartError(_("This item is not in your cart."))
    return line


def _latest_answer(*, cart: Cart, email: str, channel: str) -> ConsentRecord | None:
    return (
        ConsentRecord.objects.filter(store_id=cart.store_id, cart=cart, email__iexact=email, channel=channel)
        .order_by("-created_at", "-pk")
        .first()
    )


def latest_consents(*, cart: Cart) -> dict[str, bool]:
    """{channel: latest answer given on this cart} for the channels answered (pre-ticks the
    checkboxes the shopper ticked before; a channel never answered is absent: unticked)."""
    if not cart.email:
        return {}
    answers: dict[str, bool] = {}
    rows = ConsentRecord.objects.filter(cart=cart, email__iexact=cart.email).order_by("created_at", "pk")
    for channel, granted in rows.values_list("channel", "granted"):
        answers[channel] = granted
    return answers


def record_consent(
    *,
    cart: Cart,
    email: str,
    channel: str,
    granted: bool,
    user=None,
    ip_address: str | None = None,
    source: str = "checkout",
) -> ConsentRecord | None:
    """Append the shopper's answer for one channel (with the text and version shown now), unless
    this cart already holds the same answer to the same version. Returns the new record or None."""
    shown = wording(cart.store, channel)
    last = _latest_answer(cart=cart, email=email, channel=channel)
    if last is not None and last.granted == bool(granted) and last.version == shown.version:
        return None
    return ConsentRecord.objects.create(
        store_id=cart.store_id,
        email=email,
        channel=channel,
        granted=bool(granted),
        text=shown.text,
        version=shown.version,
        source=source,
        cart=cart,
        user=user if user is not None and user.is_authenticated else None,
        ip_address=ip_address or None,
    )


@transaction.atomic
def save_checkout_email(
    *,
    cart: Cart,
    email: str,
    marketing_consent: bool,
    user=None,
    ip_address: str | None = None,
    consents: dict[str, bool] | None = None,
    client_seq: int | None = None,
) -> Cart:
    """Keep the shopper's email and consent answers on the cart as soon as the email is valid.

    ``marketing_consent`` is the e-mail channel's answer; ``consents`` holds the answers to the
    other channels' questions that were shown ({"push": True}); a channel not shown is not
    recorded at all. The exact text and version shown are stored with every answer (and with
    every change of it, in :class:`~orders.models.ConsentRecord`).

    ``client_seq`` orders the page's saves (the email field's blur and each checkbox change send
    one each, and they can arrive in any order): the cart row is updated only while its stored
    sequence is lower, under the row's lock, so the newest event wins and an older request that
    arrives later changes nothing. Without it (API, no-JS) the save always applies.
    """
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise CartError(_("Enter a valid email address."), field="email") from None
    email = email[:254]
    given = cart
    if client_seq is not None:
        newer = Cart.objects.filter(pk=cart.pk, consent_seq__lt=client_seq).update(consent_seq=client_seq)
        if not newer:
            return given  # a later event of the page was saved already: this one changes nothing
        given.consent_seq = client_seq
    # Decide on the row as it is now (under its lock), never on the copy the request loaded.
    cart = Cart.objects.select_for_update(of=("self",)).select_related("store").get(pk=cart.pk)
    if cart.status != Cart.Status.OPEN:
        raise CartError(_("This cart has already been ordered."))
    now = timezone.now()
    shown = wording(cart.store, EMAIL)
    fields: dict = {}
    email_changed = email.lower() != (cart.email or "").lower() or cart.email_captured_at is None
    if email_changed:
        fields.update(email=email, email_captured_at=now)
    answer_changed = (
        cart.consent_at is None
        or bool(marketing_consent) != cart.marketing_consent
        or email_changed
        or cart.consent_version != shown.version
    )
    if answer_changed:
        fields.update(
            marketing_consent=bool(marketing_consent),
            consent_text=shown.text,
            consent_version=shown.version,
            consent_at=now,
        )
        ConsentRecord.objects.create(
            store_id=cart.store_id,
            email=email,
            channel=EMAIL,
            granted=bool(marketing_consent),
            text=shown.text,
            version=shown.version,
            cart=cart,
            user=user if user is not None and user.is_authenticated else None,
            ip_address=ip_address or None,
        )
    for channel, granted in (consents or {}).items():
        if channel in (SMS, PUSH):
            record_consent(
                cart=cart, email=email, channel=channel, granted=granted, user=user, ip_address=ip_address
            )
    if fields:
        touch(cart, **fields)
        for name in [*fields, "last_activity_at", "updated_at", "checkout_token"]:
            setattr(given, name, getattr(cart, name))
    return given


@transaction.atomic
def merge_carts(*, source: Cart, target: Cart) -> Cart:
    """Move ``source``'s lines into ``target`` (quantities add up, capped per line), keep the
    email and consent ``target`` lacks, and close ``source``."""
    if source.pk == target.pk:
        return target
    existing = {line.variant_id: line for line in CartLine.objects.filter(cart=target)}
    moved = []
    for line in CartLine.objects.filter(cart=source):
        if line.variant_id in existing:
            target_line = existing[line.variant_id]
            target_line.quantity = min(settings.CART_MAX_LINE_QUANTITY, target_line.quantity + line.quantity)
            target_line.save(update_fields=["quantity", "updated_at"])
        else:
            moved.append(line.pk)
    CartLine.objects.filter(pk__in=moved).update(cart=target)
    fields = {}
    if not target.email and source.email:
        fields.update(
            email=source.email,
            email_captured_at=source.email_captured_at,
            marketing_consent=source.marketing_consent,
            consent_text=source.consent_text,
            consent_version=source.consent_version,
            consent_at=source.consent_at,
        )
    Cart.objects.filter(pk=source.pk).update(status=Cart.Status.MERGED, updated_at=timezone.now())
    source.status = Cart.Status.MERGED
    touch(target, **fields)
    return target


@transaction.atomic
def cart_for_login(*, store, user, session_token: str | None) -> Cart | None:
    """At login: the session's guest cart becomes (or joins) the account's cart."""
    guest = find_cart(store=store, token=session_token) if session_token else None
    own = Cart.objects.filter(store=store, user=user, status=Cart.Status.OPEN).first()
    if guest is None:
        return own
    if own is None:
        fields = {"user": user}
        if not guest.email:
            fields["email"] = user.email
        Cart.objects.filter(pk=guest.pk).update(**fields)
        for k, v in fields.items():
            setattr(guest, k, v)
        touch(guest)
        return guest
    return merge_carts(source=guest, target=own)


def set_checkout_choices(
    *, cart: Cart, shipping_method=None, payment_method=None, answers: dict | None = None
) -> Cart:
    """Remember the delivery step's answers on the cart."""
    fields = {"shipping_method": shipping_method, "payment_method": payment_method}
    if answers is not None:
        fields["checkout"] = answers
    touch(cart, **fields)
    return cart


def issue_checkout_token(*, cart: Cart) -> str:
    """The one-time token the summary form carries (kept until the cart changes)."""
    if not cart.checkout_token:
        cart.checkout_token = secrets.token_urlsafe(24)
        Cart.objects.filter(pk=cart.pk).update(checkout_token=cart.checkout_token)
    return cart.checkout_token
