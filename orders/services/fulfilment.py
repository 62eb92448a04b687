"""Shipping an order with its parcel's tracking number: one rule for the admin, the merchant API
and the carrier integration.

:func:`clean_tracking_number` is the only check of a tracking number; :func:`mark_shipped` stores
it and moves the order to "shipped" through :func:`~orders.services.workflow.change_status` (which
checks the transition, records the history entry, plans the shopper's "shipped" e-mail -- it shows
the tracking number and the carrier's tracking link -- and publishes ``order.status_changed``), in
one transaction: a refused transition leaves the old tracking number in place.
:func:`set_tracking_number` stores a number without shipping (a carrier confirmed the label; the
parcel leaves later).
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Order
from .errors import OrdersError
from .workflow import change_status

TRACKING_NUMBER_MAX_LENGTH = Order._meta.get_field("tracking_number").max_length
# Carriers' numbers are letters and digits (InPost 24 digits, DPD 14, Poczta Polska PX..., UPS
# 1Z...), some written with dashes or slashes; people type them in groups separated by spaces.
TRACKING_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/.]*$")


class InvalidTrackingNumber(OrdersError):
    def __init__(self, message: str):
        super().__init__(message, field="tracking_number")


def clean_tracking_number(value) -> str:
    """The tracking number as stored: without spaces; raises :class:`InvalidTrackingNumber`."""
    number = "".join(str(value or "").split())
    if not number:
        raise InvalidTrackingNumber(_("Enter the tracking number."))
    if len(number) > TRACKING_NUMBER_MAX_LENGTH:
        raise InvalidTrackingNumber(
            _("A tracking number has at most %(max)d characters.") % {"max": TRACKING_NUMBER_MAX_LENGTH}
        )
    if not TRACKING_NUMBER.match(number):
        raise InvalidTrackingNumber(_("A tracking number has only letters, digits, “-”, “/” and “.”."))
    return number


def set_tracking_number(*, order: Order, tracking_number: str) -> str:
    """Store the parcel's tracking number on ``order`` (checked); returns it as stored."""
    number = clean_tracking_number(tracking_number)
    Order.objects.filter(pk=order.pk).update(tracking_number=number)
    order.tracking_number = number
    return number


@transaction.atomic
def mark_shipped(*, order: Order, tracking_number: str, user=None, note: str = "") -> Order:
    """Ship ``order`` with ``tracking_number``: raises :class:`InvalidTrackingNumber` or
    :class:`~orders.services.errors.InvalidTransition` (nothing changed then)."""
    number = clean_tracking_number(tracking_number)
    previous = order.tracking_number
    Order.objects.filter(pk=order.pk).update(tracking_number=number)
    order.tracking_number = number
    history = _("Tracking number: %(n)s") % {"n": number}
    try:
        change_status(
            order=order,
            status=Order.Status.SHIPPED,
            user=user,
            note=f"{history}\n{note}" if note else history,
        )
    except Exception:
        order.tracking_number = previous
        raise
    return order
