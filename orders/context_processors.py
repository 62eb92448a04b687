"""Template context for every storefront page: the mini-cart in the header."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from .selectors import mini_cart_summary


def mini_cart(request):
    """``mini_cart.quantity`` for base.html: at most one query, and only on pages that use it."""
    return {"mini_cart": SimpleLazyObject(lambda: mini_cart_summary(request))}
