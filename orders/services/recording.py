"""Recording a placed order: the one tail every way of placing an order ends with.

:func:`~orders.services.checkout.place_order` (storefront, API, demo data) and
:func:`~orders.services.external.place_external_order` (marketplaces, hubs) differ in where the
prices, the addresses and the payment come from; once the :class:`Order` row exists they record
it the same way, here:

1. its lines (:func:`order_line` builds each one from a variant, the same fields on every path),
   with what each set is made of frozen on them (``catalog.services.components_snapshot``);
2. the first status history entry;
3. the order number (:func:`next_order_number`), taken last so the store's counter row stays
   locked only for the last few statements of the placing transaction;
4. the stock held or sold under a temporary reference renamed to the order's;
5. the ``order.created`` outbox event, whose payload (:func:`order_created_payload`) is the
   webhook contract documented in ``docs/api.md``.

What happens after (a gift card that paid for everything, goods delivered on payment) stays
with the caller, after :func:`record_order` returns.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Product, StockMovement, StockReservation, Variant
from shop import events

from ..models import Order, OrderCounter, OrderLine, OrderStatusChange


def next_order_number(store, now) -> str:
    """``KS-2611-00042``: prefix, year and month in the store's zone, per-store monthly counter.

    One upsert that locks the counter row until the placing transaction ends, so numbers are
    unique and without gaps (a rolled-back checkout gives its number back).
    """
    period = timezone.localtime(now, store.zone).strftime("%y%m")
    table = connection.ops.quote_name(OrderCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (store_id, period, last_number) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (store_id, period) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [store.pk, period],
        )
        (number,) = cursor.fetchone()
    return f"{settings.ORDER_NUMBER_PREFIX}-{period}-{number:05d}"


def order_line(
    variant: Variant,
    *,
    quantity: int,
    unit_price: Decimal,
    total: Decimal,
    discount: Decimal,
    total_net: Decimal,
    position: int,
) -> OrderLine:
    """One order line (not saved) copying what the order keeps of ``variant``: ``total`` is the
    gross before ``discount``; the VAT is what is left of the discounted gross after the net."""
    product = variant.product
    return OrderLine(
        variant=variant,
        product_kind=product.kind,
        product_name=product.name[:200],
        variant_name=(variant.name or "")[:200],
        sku=variant.sku,
        quantity=quantity,
        unit_price=unit_price,
        vat_rate=product.vat_rate,
        total=total,
        discount=discount,
        total_net=total_net,
        total_vat=total - discount - total_net,
        weight_grams=variant.weight_grams * quantity,
        is_preorder=variant.is_preorder,
        ships_on=variant.release_date if variant.is_preorder else None,
        position=position,
    )


def order_created_payload(order: Order, *, source: str = "") -> dict:
    """The ``order.created`` webhook payload, the same keys and types for every channel.

    ``cart_id`` is null for an order that had no cart (marketplaces); ``source`` and
    ``external_reference`` are empty strings for the shop's own orders.
    """
    return {
        "order_id": order.pk,
        "number": order.number,
        "store_id": order.store_id,
        "cart_id": order.cart_id,
        "email": order.email,
        "total": str(order.total),
        "currency": order.currency,
        "channel": order.channel,
        "source": source,
        "external_reference": order.external_reference,
    }


def record_order(
    order: Order,
    *,
    lines: list[OrderLine],
    note: str,
    placed_at,
    held_reference: str = "",
    source: str = "",
) -> list[OrderLine]:
    """Record the just-created ``order``: its ``lines`` (unsaved, from :func:`order_line`), the
    first history entry (``note``), its number (dated ``placed_at``), the stock held or sold under
    ``held_reference`` renamed to the order's, and the ``order.created`` event. Runs inside the
    caller's transaction; returns the saved lines."""
    set_product_ids = [line.variant.product_id for line in lines if line.product_kind == Product.Kind.SET]
    components = catalog_services.components_snapshot(set_product_ids)
    for line in lines:
        line.order = order
        line.components = components.get(line.variant.product_id, [])
    saved = OrderLine.objects.bulk_create(lines)
    OrderStatusChange.objects.create(order=order, from_status="", to_status=order.status, note=note[:500])

    # Last: the number (locks the counter row until commit), then what names it.
    order.number = next_order_number(order.store, placed_at)
    Order.objects.filter(pk=order.pk).update(number=order.number)
    if held_reference:
        held = StockMovement if order.stock_committed else StockReservation
        held.objects.filter(reference=held_reference).update(reference=order.reservation_reference)
    events.publish(
        type="order.created", payload=order_created_payload(order, source=source), store=order.store
    )
    return saved
