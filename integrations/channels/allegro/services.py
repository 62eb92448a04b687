"""Allegro-specific services: creating and updating offers, polling their operations, pushing a
batch of stock and price changes. The connector, the tasks and the admin page call these."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from catalog import stock
from integrations.channels import services as channel_services
from integrations.channels.base import ListingUpdate, PushResult
from integrations.channels.models import ChannelListing
from integrations.models import ConnectorConfig, SyncRun, SyncRunError

from . import commands, offers
from .client import AllegroClient

log = logging.getLogger(__name__)


def _log(run: SyncRun | None, key: str, message: str) -> None:
    if run is not None:
        SyncRunError.objects.create(run=run, key=key[:128], message=message[:5000])


def offered_quantity(quantity: int, options: dict) -> int:
    """What Allegro is told: the shop's pushable quantity minus the units kept back."""
    return max(0, int(quantity) - int(options.get("stock_reserve") or 0))


def schedule_operation_poll(config_id: int, *, countdown: float = 0.0) -> None:
    from .tasks import poll_offer_operations

    def enqueue():
        try:
            poll_offer_operations.apply_async(args=(config_id,), countdown=max(0.0, countdown))
        except Exception:  # a broker outage: the next push run polls them anyway
            log.warning("Could not enqueue the Allegro operation poll of %s", config_id, exc_info=True)

    transaction.on_commit(enqueue)


def create_offers(
    *, config: ConnectorConfig, client: AllegroClient, listings: list[ChannelListing], run: SyncRun | None
) -> None:
    """Create (or, with an offer id, update) the offers of ``listings``; each listing gets its
    ``external_id``, ``status``, ``error`` and ``data`` set (also on the caller's objects)."""
    if not listings:
        return
    full = {li.pk: li for li in offers.listings_for_offers([li.pk for li in listings])}
    categories = offers.store_categories(config.store)
    options = client.options
    cap = options.get("max_quantity")
    cap = settings.CHANNELS_MAX_PUSHED_QUANTITY if cap is None else cap
    availability = stock.availability_map([li.variant for li in full.values()])
    pending = False
    for listing in listings:
        loaded = full.get(listing.pk)
        if loaded is None:
            continue
        if (loaded.data or {}).get("operation"):
            pending = True
            continue
        info = availability.get(loaded.variant_id)
        quantity = channel_services.listing_quantity(loaded.variant, info.available if info else 0, cap=cap)
        outcome = offers.publish_listing(client, loaded, shop_quantity=quantity, categories=categories)
        if outcome.error and outcome.status != ChannelListing.Status.ERROR:
            _log(run, loaded.variant.sku, outcome.error)
        pending = pending or outcome.status == ChannelListing.Status.PENDING
        for name in ("external_id", "status", "error", "data"):
            setattr(listing, name, getattr(loaded, name))
    if pending:
        schedule_operation_poll(config.pk, countdown=settings.ALLEGRO_OPERATION_POLL_SECONDS)


def pending_operations(config: ConnectorConfig) -> list[ChannelListing]:
    return list(
        ChannelListing.objects.filter(config=config, data__has_key="operation")
        .select_related("variant")
        .order_by("pk")
    )


def poll_operations(*, config: ConnectorConfig, client: AllegroClient, run: SyncRun | None = None) -> dict:
    """Ask about every offer operation whose wait is over; returns counts and the next wait."""
    listings = pending_operations(config)
    polled = finished = failed = 0
    for listing in listings:
        if not offers.operation_due(listing):
            continue
        polled += 1
        outcome = offers.poll_operation(client, listing)
        if outcome.status == ChannelListing.Status.ERROR:
            failed += 1
            _log(run, listing.variant.sku, outcome.error)
        elif outcome.status != ChannelListing.Status.PENDING:
            finished += 1
    remaining = pending_operations(config)
    return {
        "polled": polled,
        "finished": finished,
        "failed": failed,
        "pending": len(remaining),
        "next_in": offers.next_poll_delay(remaining),
    }


def push_batch(
    *, config: ConnectorConfig, client: AllegroClient, batch: list[ListingUpdate], options: dict
) -> list[PushResult]:
    """One push batch of the shared layer as quantity and price change commands."""
    listings = {
        li.pk: li for li in ChannelListing.objects.filter(pk__in=[u.listing_id for u in batch], config=config)
    }
    results: list[PushResult] = []
    items: list[commands.CommandItem] = []
    for update in batch:
        listing = listings.get(update.listing_id)
        if listing is None:
            results.append(
                PushResult(listing_id=update.listing_id, ok=False, error=_("The listing is gone."))
            )
            continue
        if (listing.data or {}).get("operation"):
            # Still being created with these values: the operation's outcome settles it.
            results.append(PushResult(listing_id=listing.pk, ok=True, pending=True))
            continue
        quantity = offered_quantity(update.quantity, options) if update.quantity_changed else None
        price = (
            offers.allegro_price(update.price, options.get("price_markup_percent"))
            if update.price_changed
            else None
        )
        ended = bool((listing.data or {}).get("ended"))
        publication = None
        if quantity == 0:
            # Allegro takes no quantity below 1: an offer without stock is ended, and renewed
            # (quantity first, then ACTIVATE) when stock comes back.
            quantity, publication = None, (None if ended else commands.END)
        elif quantity is not None and ended:
            publication = commands.ACTIVATE
        items.append(
            commands.CommandItem(listing=listing, quantity=quantity, price=price, publication=publication)
        )
    outcome = commands.push(client, items, currency=config.store.currency)
    for item in items:
        result = outcome[item.listing.pk]
        results.append(
            PushResult(
                listing_id=item.listing.pk,
                ok=result.ok,
                error=result.error,
                data=dict(item.listing.data or {}),
            )
        )
    return results


def update_offers(*, config_id: int, listing_ids: list[int] | None = None) -> dict[str, int]:
    """Send the current title, description, images, parameters, price and stock of offers that
    exist (``PATCH``); for the admin's "update offers on Allegro"."""
    config = ConnectorConfig.objects.select_related("store").get(pk=config_id)
    qs = (
        ChannelListing.objects.filter(config=config)
        .exclude(external_id="")
        .exclude(data__has_key="operation")
    )
    if listing_ids is not None:
        qs = qs.filter(pk__in=listing_ids)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    counts = {"sent": 0, "pending": 0, "failed": 0}
    if not ids:
        return counts
    with AllegroClient(config) as client:
        categories = offers.store_categories(config.store)
        cap = client.options.get("max_quantity")
        cap = settings.CHANNELS_MAX_PUSHED_QUANTITY if cap is None else cap
        for start in range(0, len(ids), 200):
            chunk = offers.listings_for_offers(ids[start : start + 200])
            availability = stock.availability_map([li.variant for li in chunk])
            for listing in chunk:
                info = availability.get(listing.variant_id)
                quantity = channel_services.listing_quantity(
                    listing.variant, info.available if info else 0, cap=cap
                )
                data = dict(listing.data or {})
                data.pop("refused", None)  # the merchant asked for it: send even a refused body again
                listing.data = data
                outcome = offers.publish_listing(
                    client, listing, shop_quantity=quantity, categories=categories
                )
                if outcome.status == ChannelListing.Status.PENDING:
                    counts["pending"] += 1
                elif outcome.error:
                    counts["failed"] += 1
                else:
                    counts["sent"] += 1
    if counts["pending"]:
        schedule_operation_poll(config.pk, countdown=settings.ALLEGRO_OPERATION_POLL_SECONDS)
    return counts
