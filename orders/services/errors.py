"""Errors the orders services raise, with messages fit to show the shopper."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _


class OrdersError(Exception):
    """A request the shop refuses, with a message for the shopper (never a 500)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class CartError(OrdersError):
    pass


class CheckoutError(OrdersError):
    pass


class RateLimited(OrdersError):
    """Too many attempts; ``retry_after``: seconds until the next one is accepted."""

    def __init__(self, message: str, *, retry_after: int = 0, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = retry_after


class OutOfStock(CheckoutError):
    """Stock ran out while the shopper was checking out ("someone just bought the last one").

    ``shortages`` maps each variant to the units still available.
    """

    def __init__(self, shortages: dict):
        self.shortages = shortages
        parts = []
        for variant, left in shortages.items():
            if left:
                parts.append(
                    _("%(name)s: only %(n)d left – lower the quantity in your cart.")
                    % {"name": variant, "n": left}
                )
            else:
                parts.append(
                    _(
                        "%(name)s: someone has just bought the last one. Remove it from your cart, pick another "
                        "variant or ask to be told when it is back."
                    )
                    % {"name": variant}
                )
        super().__init__(" ".join(parts))


class TotalChanged(CheckoutError):
    """The total the shopper confirmed is not the total now (a price or a code changed)."""

    def __init__(self, total: Decimal, message: str):
        self.total = total
        super().__init__(message)


class InvalidTransition(OrdersError):
    pass
