"""add_to_cart / remove_from_cart with real quantities and prices, without touching orders' code.

The cart forms POST and redirect, so the event cannot be written into the response. For the cart
views only, this middleware reads the shopper's cart lines before and after the view and keeps
the difference as events for the next page (``services.flash_events``). Whatever the view did (a
new line, a higher quantity, a refused add that changed nothing) the difference is what really
happened. Nothing is read when the store has no tags on or the shopper has refused both
analytics and marketing.
"""

from __future__ import annotations

from . import selectors, services

CART_VIEWS = frozenset({"orders:cart-add", "orders:cart-update", "orders:cart-remove"})


def _cart_quantities(request) -> dict[int, int]:
    from orders.models import CartLine
    from orders.selectors import cart_for_request

    cart = cart_for_request(request)
    if cart is None:
        return {}
    return dict(CartLine.objects.filter(cart=cart).values_list("variant_id", "quantity"))


class CartEventsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        before = getattr(request, "_marketing_cart_before", None)
        if before is not None and response.status_code < 400:
            try:
                self._flash_changes(request, before)
            except Exception:  # analytics must never break the cart
                import logging

                logging.getLogger(__name__).exception("marketing: cart events not recorded")
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST":
            return None
        match = getattr(request, "resolver_match", None)
        if match is None or match.view_name not in CART_VIEWS or getattr(request, "store", None) is None:
            return None
        config = selectors.request_config(request)
        if not config.get("enabled"):
            return None
        consent = selectors.consent_from_request(request, config)
        if consent.decided and not consent.any_granted:
            return None
        request._marketing_cart_before = _cart_quantities(request)
        return None

    def _flash_changes(self, request, before: dict[int, int]) -> None:
        from catalog.models import Variant

        after = _cart_quantities(request)
        deltas = {
            vid: after.get(vid, 0) - before.get(vid, 0)
            for vid in set(before) | set(after)
            if after.get(vid, 0) != before.get(vid, 0)
        }
        if not deltas:
            return
        variants = Variant.objects.filter(pk__in=deltas).select_related("product").order_by("pk")
        changes = [(v, deltas[v.pk]) for v in variants]
        events = selectors.cart_change_events(changes, currency=request.store.currency)
        services.flash_events(request=request, events=events)
