"""The shopper's time zone, for quiet hours.

The storefront's ``timezone.js`` reports ``Intl.DateTimeFormat().resolvedOptions().timeZone``
once per browser session to ``/r/tz/`` -- usually on the first page, before any cart exists. The
name is validated against the IANA database and kept in the session; :func:`carry_to_cart`
copies it to the visitor's tracked cart as soon as there is a cart (at the report itself, and
after every storefront POST through :class:`ShopperTimezoneMiddleware`, which is how the cart
created by "add to cart" gets it in a single visit).
"""

from __future__ import annotations

import functools
import logging
import zoneinfo

from django.db import DatabaseError, IntegrityError

from . import carts

log = logging.getLogger(__name__)

SESSION_KEY = "recovery_tz"
# [cart id, zone] last written to a tracked cart from this session: nothing to do while it holds.
CARRIED_KEY = "recovery_tz_cart"
MAX_LENGTH = 64


@functools.lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def valid_zone(name) -> str | None:
    """``name`` when it is an IANA time-zone name ("Europe/Warsaw", "America/New_York", "UTC"),
    else None: junk, paths, over-long strings and zones this system cannot load are refused."""
    if not isinstance(name, str):
        return None
    name = name.strip()
    if not name or len(name) > MAX_LENGTH or name not in _known_zones():
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def remember(request, name: str) -> None:
    """Keep a validated zone for this visitor and put it on their cart if there is one."""
    if request.session.get(SESSION_KEY) != name:
        request.session[SESSION_KEY] = name
    carry_to_cart(request)


def store_on_cart(*, cart, name: str) -> None:
    """Write the zone on the cart's tracked row (created, still "active", when recovery has not
    looked at the cart yet; detection keeps the zone)."""
    from .models import TrackedCart

    try:
        tracked, created = TrackedCart.objects.get_or_create(
            cart=cart,
            defaults={"store_id": cart.store_id, "shopper_timezone": name, "language": cart.language},
        )
    except IntegrityError:  # created by a parallel request or the detector meanwhile
        tracked, created = TrackedCart.objects.get(cart=cart), False
    if not created and tracked.shopper_timezone != name and tracked.purged_at is None:
        TrackedCart.objects.filter(pk=tracked.pk).update(shopper_timezone=name)


def carry_to_cart(request) -> bool:
    """Copy the session's zone to the visitor's open cart, once per (cart, zone). True when the
    cart has it now."""
    session = getattr(request, "session", None)
    store = getattr(request, "store", None)
    if session is None or store is None:
        return False
    name = valid_zone(session.get(SESSION_KEY))
    if name is None:
        return False
    cart = carts.visitor_cart(request=request, store=store)
    if cart is None:
        return False
    if session.get(CARRIED_KEY) == [cart.pk, name]:
        return True
    store_on_cart(cart=cart, name=name)
    session[CARRIED_KEY] = [cart.pk, name]
    return True


class ShopperTimezoneMiddleware:
    """After a storefront POST (add to cart, checkout steps: where carts are created), carry the
    time zone reported earlier in the session to the cart. GETs cost nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method == "POST"
            and response.status_code < 400
            and hasattr(request, "session")
            and request.session.get(SESSION_KEY)
            and not request.path.startswith(("/admin/", "/api/"))
        ):
            try:
                carry_to_cart(request)
            except DatabaseError:  # never break the page for a time zone
                log.warning("could not store the shopper's time zone", exc_info=True)
        return response
