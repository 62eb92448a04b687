"""How often one client may try to place an order, on every path that places one (the storefront's
summary step, the API's checkout; BLIK codes have their own limit in ``orders/views/blik.py``).

Each attempt counts against the client's IP address (``CHECKOUT_ATTEMPTS_PER_IP``) and against the
cart and its e-mail address (``CHECKOUT_ATTEMPTS_PER_CART``), in a sliding window of
``CHECKOUT_ATTEMPTS_WINDOW_SECONDS`` (``shop.ratelimit``). Past either limit the attempt is refused
with :class:`RateLimited` before anything is reserved, and the cart stays as it was.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.utils.translation import gettext as _

from shop import ratelimit

from .errors import RateLimited


def _keys(*, ip: str, cart) -> list[tuple[str, int]]:
    per_cart = settings.CHECKOUT_ATTEMPTS_PER_CART
    keys = [(f"checkout:ip:{ip}", settings.CHECKOUT_ATTEMPTS_PER_IP), (f"checkout:cart:{cart.pk}", per_cart)]
    email = (cart.email or "").strip().lower()
    if email:
        keys.append((f"checkout:email:{hashlib.sha256(email.encode()).hexdigest()[:32]}", per_cart))
    return keys


def count_checkout_attempt(*, ip: str, cart) -> None:
    """Count one order placement attempt, or raise :class:`RateLimited` (nothing counted)."""
    window = settings.CHECKOUT_ATTEMPTS_WINDOW_SECONDS
    keys = _keys(ip=ip, cart=cart)
    verdicts = [ratelimit.check(key, limit=limit, window=window) for key, limit in keys]
    if all(v.allowed for v in verdicts):
        verdicts = [ratelimit.hit(key, limit=limit, window=window) for key, limit in keys]
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        wait = max(v.retry_after for v in refused)
        raise RateLimited(
            "{} {}".format(
                _("Too many attempts to place an order in a short time. Your cart is saved."),
                ratelimit.try_again_message(wait),
            ),
            retry_after=wait,
        )
