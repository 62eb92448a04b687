"""Thin Celery tasks of the Allegro connector: they take ids, call a service, and are safe to run
twice (a poll that is not due yet does nothing; an operation already finished is not polled)."""

from __future__ import annotations

import logging

from celery import shared_task

from integrations.connector_client import IntegrationHTTPError
from integrations.models import ConnectorConfig

log = logging.getLogger(__name__)

# A task delivered before its time (early worker, duplicate) waits again at most this many times.
EARLY_HOPS = 3


@shared_task(name="integrations.channels.allegro.poll_device_flow", acks_late=True)
def poll_device_flow(config_id: int, early: int = 0) -> str:
    """Ask Allegro whether the merchant confirmed the connection; again after ``interval`` while
    it is pending (the admin page's "Check now" does the same on demand)."""
    from . import oauth

    config = ConnectorConfig.objects.filter(pk=config_id).first()
    if config is None:
        return "gone"
    due = oauth.seconds_until_next_poll(config) <= 0
    if due:
        try:
            status = oauth.poll_device_flow(config)
        except IntegrationHTTPError as exc:
            log.warning("Allegro device flow poll of %s failed: %s", config_id, exc)
            status = oauth.PENDING
        early = 0
    else:
        status = oauth.allegro_state(config).get("status") or oauth.NOT_CONNECTED
        early += 1
    if status == oauth.PENDING and early <= EARLY_HOPS:
        poll_device_flow.apply_async(args=(config_id, early), countdown=oauth.seconds_until_next_poll(config))
    return status


@shared_task(name="integrations.channels.allegro.poll_offer_operations", acks_late=True)
def poll_offer_operations(config_id: int, early: int = 0) -> int:
    """Poll the offers Allegro is still creating; again after its ``Retry-After`` while any are
    pending. Returns how many are still pending."""
    from . import services
    from .client import AllegroClient

    config = ConnectorConfig.objects.select_related("store").filter(pk=config_id, is_active=True).first()
    if config is None:
        return 0
    try:
        with AllegroClient(config) as client:
            result = services.poll_operations(config=config, client=client)
    except IntegrationHTTPError as exc:
        log.warning("Allegro operation poll of %s failed: %s", config_id, exc)
        return -1  # the next push run polls them again
    early = 0 if result["polled"] else early + 1
    if result["pending"] and early <= EARLY_HOPS:
        poll_offer_operations.apply_async(args=(config_id, early), countdown=result["next_in"] or 0)
    return result["pending"]


@shared_task(name="integrations.channels.allegro.update_offers", acks_late=True)
def update_offers(config_id: int, listing_ids: list[int] | None = None) -> dict:
    from . import services

    return services.update_offers(config_id=config_id, listing_ids=listing_ids)
