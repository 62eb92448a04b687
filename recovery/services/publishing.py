"""Recovery's domain events for the rest of the shop (and the merchant's webhooks), through the
outbox (:mod:`shop.events`), with the payloads documented in docs/api.md:

- ``cart.abandoned``: a cart was found abandoned (once per activity moment: a cart abandoned,
  changed and abandoned again is announced again). Published only for stores with an active
  webhook subscription to it: the scan handles about a thousand carts a second and no handler
  in the shop needs it (docs/decisions.md);
- ``cart.recovered``: an order was attributed to a reminder (via the restore link or after a
  click). A later cancellation is announced by orders' ``order.status_changed``.
"""

from __future__ import annotations

from shop import events
from shop.models import Store
from shop.money import round_money

CART_ABANDONED = "cart.abandoned"
CART_RECOVERED = "cart.recovered"


def _money(value) -> str:
    return str(round_money(value)) if value is not None else ""


def publish_abandoned(tracked_carts) -> int:
    """``cart.abandoned`` for each of ``tracked_carts`` (saved rows just marked abandoned) whose
    store subscribed to it. Call inside the detection transaction. Returns how many."""
    from shop.api.webhooks.services import subscribed_store_ids

    rows = list(tracked_carts)
    wanted = subscribed_store_ids(event_type=CART_ABANDONED, store_ids={t.store_id for t in rows})
    if not wanted:
        return 0
    stores = {s.pk: s for s in Store.objects.filter(pk__in=wanted)}
    count = 0
    for t in rows:
        store = stores.get(t.store_id)
        if store is None:
            continue
        events.publish(
            type=CART_ABANDONED,
            payload={
                "cart_id": t.cart_id,
                "tracked_cart_id": t.pk,
                "email": t.email,
                "abandoned_at": t.abandoned_at.isoformat() if t.abandoned_at else None,
                "value": _money(t.cart_value),
                "currency": store.currency,
                "lines": [
                    {
                        "variant_id": int(item["variant"]),
                        "quantity": int(item["quantity"]),
                        "price": item["price"],
                    }
                    for item in t.snapshot or []
                ],
                "campaign_id": t.campaign_id,
                "reachable": bool(t.is_reachable),
                "holdout": bool(t.is_holdout),
            },
            store=store,
        )
        count += 1
    return count


def publish_recovered(*, tracked_id: int, order, via: str) -> None:
    """``cart.recovered`` for an order just attributed to a tracked cart."""
    from ..models import TrackedCart

    tracked = TrackedCart.objects.filter(pk=tracked_id).only("pk", "cart_id", "email").first()
    if tracked is None:
        return
    events.publish(
        type=CART_RECOVERED,
        payload={
            "cart_id": tracked.cart_id,
            "tracked_cart_id": tracked.pk,
            "email": tracked.email,
            "order_id": order.pk,
            "number": order.number,
            "via": via,
            "revenue": _money(order.total),
            "currency": order.currency,
        },
        store=order.store,
    )
