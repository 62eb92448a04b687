"""Domain events -> webhook events.

Registered with :func:`shop.events.register` (from ``ApiConfig.ready``), so each committed domain
event reaches the webhooks exactly once per handler, after the change committed, with retries by
the outbox. Most events pass their payload through as the webhook's ``data``; ``stock.changed``
becomes ``stock.low`` / ``stock.out`` per variant, computed from the catalog's availability.

Who publishes what today: ``order.created`` (orders.services.checkout), ``order.paid`` and
``order.status_changed`` (orders.services.workflow), ``stock.changed`` (catalog.stock),
``return.requested`` (orders.returns). ``product.updated``, ``cart.abandoned`` and
``cart.recovered`` are subscribed by name and flow as soon as their apps publish them.
"""

from __future__ import annotations

from shop import events

from ..models import WebhookEvent
from . import services

HANDLER_PREFIX = "api.webhooks"

PASS_THROUGH = (
    WebhookEvent.ORDER_CREATED,
    WebhookEvent.ORDER_PAID,
    WebhookEvent.ORDER_STATUS_CHANGED,
    WebhookEvent.PRODUCT_UPDATED,
    WebhookEvent.CART_ABANDONED,
    WebhookEvent.CART_RECOVERED,
    WebhookEvent.RETURN_REQUESTED,
)


def event_id(event, suffix: str = "") -> str:
    return f"evt_{event.pk}{'_' + suffix if suffix else ''}"


def pass_through(event) -> None:
    services.enqueue(
        store=event.store,
        event_type=event.type,
        event_id=event_id(event),
        data=dict(event.payload or {}),
        created_at=event.created_at,
    )


def stock_changed(event) -> None:
    """``stock.changed`` -> ``stock.out`` / ``stock.low`` for each variant now out or low."""
    from catalog.api import stock_alerts  # project-level wiring: the catalog computes availability

    if event.store is None:
        return
    wanted = services.WebhookSubscription.objects.filter(store=event.store, active=True)
    if not any(
        t in (s.events or []) for s in wanted for t in (WebhookEvent.STOCK_LOW, WebhookEvent.STOCK_OUT)
    ):
        return
    for event_type, data in stock_alerts(
        store=event.store, variant_ids=(event.payload or {}).get("variant_ids", [])
    ):
        services.enqueue(
            store=event.store,
            event_type=event_type,
            event_id=event_id(event, str(data["variant_id"])),
            data=data,
            created_at=event.created_at,
        )


def register() -> None:
    for event_type in PASS_THROUGH:
        events.register(event_type, f"{HANDLER_PREFIX}.{event_type}", pass_through)
    events.register("stock.changed", f"{HANDLER_PREFIX}.stock", stock_changed)
