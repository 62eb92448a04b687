"""The shared sales-channel layer: debounced, batched stock/price pushes, idempotent order import
and fulfilment statuses sent back. Every channel connector (:mod:`integrations.channels.base`)
goes through these functions; the admin, tasks and event handlers call them.

Push (debounce + batching)
    ``stock.changed`` -> :func:`mark_variants_due` (one UPDATE: the listings of those variants, and
    of the sets they are part of, become ``push_due``). Price changes are found at push time by
    comparing ``Variant.price`` with ``last_pushed_price`` (:func:`mark_price_changes`, one
    UPDATE), since the catalog publishes no price event. The connector's ``push`` run
    (:func:`push_due_listings`, every ``push_every_seconds``) claims the due listings in batches
    of the connector's size, drops items whose quantity and price equal what was last pushed
    (never pushed twice), calls ``push_stock_prices`` once per batch and records each item's
    result: failures stay due with their error (and a line in the SyncRun log), the rest are
    cleared. A listing marked due again while its push was under way stays due.

Orders
    :func:`import_orders` pages through ``fetch_orders`` from the stored cursor (after retrying
    earlier failures from their stored payload) and hands each order to
    :func:`import_channel_order`, which is idempotent through the unique ``ChannelOrder``
    (config, external_id): a new order becomes a shop order
    (:func:`orders.services.external.place_external_order`), a known one gets the partner's status
    changes (paid, cancelled -> :func:`orders.services.workflow.change_status`).

Fulfilment
    ``order.status_changed`` -> :func:`handle_order_status_changed` -> the connector's
    ``send_fulfilment`` once per new partner status (a failure raises, so the outbox retries).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import stock
from catalog.models import Variant
from orders.models import Order
from orders.services.errors import InvalidTransition
from orders.services.external import ExternalOrderError, place_external_order
from orders.services.workflow import add_note, change_status

from ..connector_client import IntegrationHTTPError
from ..models import ConnectorConfig, SyncRun, SyncRunError
from .models import ChannelListing, ChannelOrder

if TYPE_CHECKING:  # pragma: no cover
    from .base import ChannelConnector, ExternalOrder, ListingUpdate, PushResult

log = logging.getLogger(__name__)

STOCK_HANDLER = "integrations.channels.mark_due"
FULFILMENT_HANDLER = "integrations.channels.fulfilment"
CURSOR_KEY = "orders_cursor"


# --- marking listings due ------------------------------------------------------------------------


def mark_variants_due(*, variant_ids: Iterable[int]) -> int:
    """The listings of these variants (and of sets made of them) must be pushed; one UPDATE."""
    ids = sorted({int(i) for i in variant_ids})
    if not ids:
        return 0
    return ChannelListing.objects.filter(
        Q(variant_id__in=ids) | Q(variant__product__components__variant_id__in=ids)
    ).update(push_due=True)


def handle_stock_changed(event) -> None:
    """``stock.changed`` handler: only marks listings due, the periodic push does the rest."""
    raw = (event.payload or {}).get("variant_ids") or []
    mark_variants_due(variant_ids=[i for i in raw if isinstance(i, int) or str(i).isdigit()])


def mark_price_changes(*, config: ConnectorConfig) -> int:
    """Listings whose variant's price differs from the last pushed one become due; one UPDATE."""
    return (
        ChannelListing.objects.filter(config=config, push_due=False)
        .exclude(last_pushed_price=F("variant__price"))
        .update(push_due=True)
    )


def ensure_listings(*, config: ConnectorConfig, batch: int = 5000) -> int:
    """A listing (due) for every active variant of the store that has none on this connector."""
    missing = list(
        Variant.objects.filter(store_id=config.store_id, is_active=True)
        .exclude(channel_listings__config=config)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(missing), batch):
        ChannelListing.objects.bulk_create(
            [ChannelListing(config=config, variant_id=pk) for pk in missing[start : start + batch]],
            ignore_conflicts=True,
        )
    return len(missing)


def request_push(*, listing_ids: Iterable[int]) -> int:
    """The admin's "push again": due even when nothing changed (forgets what was last pushed)."""
    return ChannelListing.objects.filter(pk__in=list(listing_ids)).update(
        push_due=True, last_pushed_quantity=None, last_pushed_price=None, error=""
    )


# --- pushing -------------------------------------------------------------------------------------


def _log_errors(run: SyncRun, errors: list[tuple[str, str]]) -> None:
    """Append (key, message) lines to the run's log, up to INTEGRATIONS_MAX_ERRORS_PER_RUN."""
    if not errors:
        return
    room = settings.INTEGRATIONS_MAX_ERRORS_PER_RUN - SyncRunError.objects.filter(run=run).count()
    if room <= 0:
        return
    SyncRunError.objects.bulk_create(
        [SyncRunError(run=run, key=key[:128], message=message[:5000]) for key, message in errors[:room]]
    )


def listing_quantity(variant: Variant, available: int | None, *, cap: int) -> int:
    """What a partner is told is in stock: never negative, at most ``cap``; inactive or
    unpublished variants are 0, untracked and backordered ones ``cap``."""
    if not variant.is_active or not variant.product.is_published:
        return 0
    if not variant.track_stock or variant.backorder == Variant.Backorder.ALLOW:
        return cap
    return max(0, min(cap, available or 0))


# What a push reads of a listing, its variant and product (a product row is wide).
LISTING_FIELDS = (
    "id",
    "config_id",
    "variant_id",
    "external_id",
    "status",
    "push_due",
    "last_pushed_quantity",
    "last_pushed_price",
    "last_pushed_at",
    "pushing_since",
    "error",
    "data",
    "variant__id",
    "variant__store_id",
    "variant__product_id",
    "variant__sku",
    "variant__ean",
    "variant__name",
    "variant__price",
    "variant__is_active",
    "variant__track_stock",
    "variant__backorder",
    "variant__is_preorder",
    "variant__preorder_limit",
    "variant__preorder_sold",
    "variant__low_stock_threshold",
    "variant__release_date",
    "variant__product__id",
    "variant__product__name",
    "variant__product__kind",
    "variant__product__is_published",
)


@dataclass
class PushSummary:
    pushed: int = 0
    unchanged: int = 0
    failed: int = 0
    calls: int = 0


def push_due_listings(*, config: ConnectorConfig, connector: ChannelConnector, run: SyncRun) -> PushSummary:
    """Push every due listing of ``config`` in batches (see the module docstring); returns counts
    (also written on ``run``). A call that fails as a whole leaves its batch due and raises
    :class:`~integrations.connector_client.IntegrationHTTPError` (the run fails; the next one resumes)."""
    summary = PushSummary()
    # We hold the connector's run lock: a listing still marked as being pushed was left by a run
    # that died mid-call; push it again.
    ChannelListing.objects.filter(config=config, pushing_since__isnull=False).update(
        push_due=True, pushing_since=None
    )
    if connector.options.get("list_all_variants", True):
        ensure_listings(config=config)
    mark_price_changes(config=config)
    _prepare_new_listings(config=config, connector=connector, run=run)
    cap = connector.options.get("max_quantity")
    cap = settings.CHANNELS_MAX_PUSHED_QUANTITY if cap is None else cap
    size = connector.batch_size
    last_pk = 0
    due = ChannelListing.objects.filter(config=config, push_due=True).exclude(external_id="")
    while True:
        # Claim by primary-key range (no IN list of 1,000 ids), then read what was claimed: a
        # listing marked due between the two statements is either in both or in neither.
        bounds = list(due.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:size])
        if not bounds:
            break
        first_pk, last_pk = bounds[0], bounds[-1]
        now = timezone.now()
        batch = ChannelListing.objects.filter(config=config, pk__gte=first_pk, pk__lte=last_pk)
        due.filter(pk__gte=first_pk, pk__lte=last_pk).update(push_due=False, pushing_since=now)
        listings = list(
            batch.filter(pushing_since=now)
            .select_related("variant__product")
            .only(*LISTING_FIELDS)
            .order_by("pk")
        )
        if not listings:
            continue
        availability = stock.availability_map([item.variant for item in listings], now=now)
        updates: list[ListingUpdate] = []
        unchanged: list[ChannelListing] = []
        for listing in listings:
            update = _update_for(listing, availability, cap=cap)
            if update is None:
                unchanged.append(listing)
            else:
                updates.append(update)
        summary.unchanged += len(unchanged)
        if updates:
            summary.calls += 1
            try:
                results = connector.push_stock_prices(updates)
            except Exception as exc:
                message = (
                    str(exc) if isinstance(exc, IntegrationHTTPError) else f"{type(exc).__name__}: {exc}"
                )
                ids = [u.listing_id for u in updates]
                ChannelListing.objects.filter(pk__in=ids).update(
                    push_due=True, pushing_since=None, error=message[:2000]
                )
                _log_errors(
                    run, [("", _("Push of %(n)d items failed: %(e)s") % {"n": len(ids), "e": message})]
                )
                summary.failed += len(ids)
                _save_counts(run, summary, total=len(listings))
                raise
            ok, failed = _apply_results(listings, updates, results, run=run, now=now)
            summary.pushed += ok
            summary.failed += failed
        # Unchanged items (and any the connector forgot) are released in one range update.
        batch.filter(pushing_since=now).update(pushing_since=None)
        _save_counts(run, summary, total=len(listings))
    return summary


def _save_counts(run: SyncRun, summary: PushSummary, *, total: int) -> None:
    run.rows_total += total
    run.updated = summary.pushed
    run.unchanged = summary.unchanged
    run.failed = summary.failed
    run.summary = {**run.summary, "calls": summary.calls}
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["rows_total", "updated", "unchanged", "failed", "summary", "heartbeat_at"])


def _update_for(listing: ChannelListing, availability: dict, *, cap: int) -> ListingUpdate | None:
    from .base import ListingUpdate

    variant = listing.variant
    info = availability.get(variant.pk)
    quantity = listing_quantity(variant, info.available if info else 0, cap=cap)
    price = variant.price
    quantity_changed = listing.last_pushed_quantity != quantity
    price_changed = listing.last_pushed_price != price
    if not (quantity_changed or price_changed):
        return None
    return ListingUpdate(
        listing_id=listing.pk,
        variant_id=variant.pk,
        sku=variant.sku,
        ean=variant.ean,
        external_id=listing.external_id,
        quantity=quantity,
        price=price,
        quantity_changed=quantity_changed,
        price_changed=price_changed,
        data=dict(listing.data or {}),
        name=str(variant),
        product_id=variant.product_id,
    )


def _apply_results(
    listings: list[ChannelListing],
    updates: list[ListingUpdate],
    results: Iterable[PushResult],
    *,
    run: SyncRun,
    now,
) -> tuple[int, int]:
    by_id = {item.pk: item for item in listings}
    sent = {u.listing_id: u for u in updates}
    answered: dict[int, PushResult] = {}
    for result in results or []:
        if result.listing_id in sent:
            answered[result.listing_id] = result
    ok_rows: list[ChannelListing] = []
    failed_rows: list[ChannelListing] = []
    errors: list[tuple[str, str]] = []
    for listing_id, update in sent.items():
        listing = by_id[listing_id]
        result = answered.get(listing_id)
        listing.pushing_since = None
        if result is None or not result.ok:
            listing.error = (
                (result.error if result else "") or _("The partner gave no answer for this item.")
            )[:2000]
            listing.status = ChannelListing.Status.ERROR
            failed_rows.append(listing)
            errors.append((update.sku, listing.error))
            continue
        listing.last_pushed_quantity = update.quantity
        listing.last_pushed_price = update.price
        listing.last_pushed_at = now
        listing.error = ""
        listing.status = ChannelListing.Status.PENDING if result.pending else ChannelListing.Status.ACTIVE
        if result.external_id:
            listing.external_id = result.external_id[:100]
        if result.data:
            listing.data = {**(listing.data or {}), **result.data}
        ok_rows.append(listing)
    fields = [
        "last_pushed_quantity",
        "last_pushed_price",
        "last_pushed_at",
        "error",
        "status",
        "external_id",
        "data",
        "pushing_since",
    ]
    if ok_rows:
        # push_due is not written: a change that arrived during the call keeps the listing due.
        _update_rows(ok_rows, fields)
    if failed_rows:
        _update_rows(failed_rows, ["error", "status", "pushing_since"])
        ChannelListing.objects.filter(pk__in=[item.pk for item in failed_rows]).update(push_due=True)
    _log_errors(run, errors)
    return len(ok_rows), len(failed_rows)


def _update_rows(rows: list[ChannelListing], fields: list[str]) -> None:
    """Write ``fields`` of ``rows`` in one statement. On PostgreSQL an ``UPDATE ... FROM
    unnest(<one array per column>)``: Django's ``bulk_update`` builds a CASE per field and row and
    a VALUES list needs a placeholder per value, both costing ~0.5 s of Python per 1,000 listings
    (bench/channels_bench.py); elsewhere ``bulk_update``."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        ChannelListing.objects.bulk_update(rows, fields, batch_size=500)
        return
    meta = ChannelListing._meta
    quote = connection.ops.quote_name
    arrays: list[str] = ["%s::bigint[]"]
    params: list[list] = [[row.pk for row in rows]]
    assignments = []
    names = ["id"]
    for name in fields:
        field = meta.get_field(name)
        db_type = field.db_type(connection)
        column = quote(field.column)
        names.append(column)
        if db_type == "jsonb":
            arrays.append("%s::text[]")
            params.append([json.dumps(getattr(row, field.attname)) for row in rows])
            assignments.append(f"{column} = v.{column}::jsonb")
        else:
            arrays.append(f"%s::{db_type}[]")
            # Plain Python values (int, str, Decimal, aware datetime, None): psycopg adapts them.
            params.append([getattr(row, field.attname) for row in rows])
            assignments.append(f"{column} = v.{column}")
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {', '.join(assignments)} "  # noqa: S608
        f"FROM unnest({', '.join(arrays)}) AS v({', '.join(names)}) WHERE t.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _prepare_new_listings(*, config: ConnectorConfig, connector: ChannelConnector, run: SyncRun) -> None:
    """Let the connector give due listings without a partner id one (match or create)."""
    size = connector.batch_size
    last_pk = 0
    while True:
        listings = list(
            ChannelListing.objects.filter(config=config, push_due=True, external_id="", pk__gt=last_pk)
            .select_related("variant__product")
            .order_by("pk")[:size]
        )
        if not listings:
            return
        last_pk = listings[-1].pk
        for listing in listings:
            listing.error = ""
        connector.prepare_listings(listings, run=run)
        errors = []
        for listing in listings:
            listing.external_id = (listing.external_id or "")[:100]
            if listing.error:
                listing.status = ChannelListing.Status.ERROR
                errors.append((listing.variant.sku, listing.error))
        _update_rows(listings, ["external_id", "error", "status", "data"])
        _log_errors(run, errors)


# --- orders --------------------------------------------------------------------------------------


CREATED, UPDATED, UNCHANGED, FAILED, SKIPPED = "created", "updated", "unchanged", "failed", "skipped"


def import_channel_order(
    *,
    config: ConnectorConfig,
    external_id: str,
    order: ExternalOrder,
    connector: ChannelConnector,
    run: SyncRun | None = None,
) -> tuple[ChannelOrder, str]:
    """Create or update the shop order for one partner order; returns (channel order, outcome).

    Idempotent: the ``ChannelOrder`` row (unique per config and external id) is locked first, so
    an order seen twice -- or by two workers at once -- is recognised and only its status changes
    are applied. A failure to place it (unknown SKU/EAN, no stock) is kept on the row with the
    partner's payload and retried by the next :func:`import_orders`.
    """
    external_id = str(external_id)[:100]
    with transaction.atomic():
        channel_order, _created = ChannelOrder.objects.select_for_update().get_or_create(
            config=config, external_id=external_id, defaults={"payload": {"raw": order.raw}}
        )
        channel_order.payload = {"raw": order.raw}
        channel_order.external_status = (order.status or "")[:60]
        if channel_order.order_id is None:
            outcome = _place(channel_order, order, connector=connector, config=config, run=run)
        else:
            outcome = _apply_partner_changes(channel_order, order, connector=connector)
        channel_order.save()
    return channel_order, outcome


def _place(channel_order: ChannelOrder, order: ExternalOrder, *, connector, config, run) -> str:
    if order.cancelled:
        channel_order.error = ""
        return SKIPPED  # cancelled before we ever placed it: nothing to create
    if order.problem:
        return _failed(channel_order, order.problem, run=run)
    try:
        with transaction.atomic():
            placed = place_external_order(
                store=config.store,
                source=connector.source,
                external_reference=channel_order.external_id,
                lines=order.lines,
                paid=order.paid,
                email=order.email,
                phone=order.phone,
                language=order.language,
                currency=order.currency,
                shipping_address=order.shipping_address,
                billing_address=order.billing_address,
                wants_invoice=order.wants_invoice,
                pickup_point=order.pickup_point,
                shipping_method_name=order.shipping_method_name,
                shipping_cost=order.shipping_cost,
                payment_method_name=order.payment_method_name,
                cash_on_delivery=order.cash_on_delivery,
                payment_reference=order.payment_reference,
                paid_at=order.paid_at,
                placed_at=order.placed_at,
                customer_note=order.note,
                send_emails=bool(connector.options.get("send_shop_emails")),
            )
    except ExternalOrderError as exc:
        return _failed(channel_order, exc.message, run=run)
    channel_order.order = placed
    channel_order.error = ""
    # What the partner already knows must not be sent back to it.
    channel_order.fulfilment_status_sent = connector.fulfilment_status_for(placed.status) or ""
    return CREATED


def _failed(channel_order: ChannelOrder, message: str, *, run: SyncRun | None) -> str:
    channel_order.error = message[:2000]
    channel_order.attempts += 1
    if run is not None:
        _log_errors(
            run,
            [
                (
                    channel_order.external_id,
                    _("Order %(id)s not imported: %(e)s") % {"id": channel_order.external_id, "e": message},
                )
            ],
        )
    return FAILED


def _apply_partner_changes(channel_order: ChannelOrder, order: ExternalOrder, *, connector) -> str:
    shop_order = Order.objects.get(pk=channel_order.order_id)
    S = Order.Status
    if order.cancelled and shop_order.status != S.CANCELLED:
        if shop_order.is_cancellable:
            channel_order.fulfilment_status_sent = (
                connector.fulfilment_status_for(S.CANCELLED) or channel_order.fulfilment_status_sent
            )
            change_status(
                order=shop_order, status=S.CANCELLED, note=_("Cancelled at %(s)s") % {"s": connector.label}
            )
        else:
            add_note(
                order=shop_order,
                text=_("%(s)s says the order was cancelled, but it is already %(status)s: check it.")
                % {"s": connector.label, "status": S(shop_order.status).label},
            )
        return UPDATED
    if (
        order.paid
        and not order.cancelled
        and shop_order.payment_status == Order.PaymentStatus.UNPAID
        and shop_order.status in (S.NEW, S.AWAITING_PAYMENT)
    ):
        channel_order.fulfilment_status_sent = (
            connector.fulfilment_status_for(S.PAID) or channel_order.fulfilment_status_sent
        )
        try:
            change_status(order=shop_order, status=S.PAID, note=_("Paid at %(s)s") % {"s": connector.label})
        except InvalidTransition as exc:
            add_note(
                order=shop_order, text=_("%(s)s reports a payment: %(e)s") % {"s": connector.label, "e": exc}
            )
        return UPDATED
    return UNCHANGED


def import_orders(*, config: ConnectorConfig, connector: ChannelConnector, run: SyncRun) -> dict[str, int]:
    """Retry orders that failed before, then page through new ones from the stored cursor (saved
    after each page, so an interrupted run goes on where it stopped). Returns outcome counts."""
    counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, FAILED: 0, SKIPPED: 0}

    def handle(external: ExternalOrder) -> None:
        _co, outcome = import_channel_order(
            config=config, external_id=external.external_id, order=external, connector=connector, run=run
        )
        counts[outcome] += 1

    for waiting in (
        ChannelOrder.objects.filter(config=config, order__isnull=True).exclude(error="").order_by("pk")
    ):
        try:
            external = connector.parse_order((waiting.payload or {}).get("raw") or {})
        except (ValueError, KeyError, TypeError) as exc:
            counts[FAILED] += 1
            _log_errors(run, [(waiting.external_id, _("Stored order cannot be read: %(e)s") % {"e": exc})])
            continue
        handle(external)

    cursor: dict[str, Any] = dict((config.state or {}).get(CURSOR_KEY) or {})
    for _page in range(settings.CHANNELS_MAX_ORDER_PAGES):
        orders, new_cursor = connector.fetch_orders(cursor)
        for external in orders:
            handle(external)
        stuck = new_cursor == cursor  # the partner gave the same page again: no progress
        if not stuck:
            cursor = dict(new_cursor)
            config.state = {**(config.state or {}), CURSOR_KEY: cursor}
            ConnectorConfig.objects.filter(pk=config.pk).update(state=config.state)
        run.rows_total += len(orders)
        run.created, run.updated = counts[CREATED], counts[UPDATED]
        run.unchanged, run.failed, run.skipped = counts[UNCHANGED], counts[FAILED], counts[SKIPPED]
        run.heartbeat_at = timezone.now()
        run.save(
            update_fields=[
                "rows_total",
                "created",
                "updated",
                "unchanged",
                "failed",
                "skipped",
                "heartbeat_at",
            ]
        )
        if not orders or stuck:
            break
    run.created, run.updated = counts[CREATED], counts[UPDATED]
    run.unchanged, run.failed, run.skipped = counts[UNCHANGED], counts[FAILED], counts[SKIPPED]
    run.save(update_fields=["created", "updated", "unchanged", "failed", "skipped"])
    return counts


# --- fulfilment back to the partner -------------------------------------------------------------


def send_fulfilment(*, channel_order: ChannelOrder, shop_status: str) -> str | None:
    """Tell the partner about ``shop_status`` if its mapping gives a status not sent yet; returns
    the partner status sent (None when nothing was due). Raises when the partner refused."""
    from ..services import connector_for
    from .base import ChannelConnector

    config = channel_order.config
    if not config.is_active:
        return None
    connector = connector_for(config)
    if not isinstance(connector, ChannelConnector):
        return None
    status = connector.fulfilment_status_for(shop_status)
    if not status or status == channel_order.fulfilment_status_sent:
        return None
    order = Order.objects.get(pk=channel_order.order_id)
    # A failure raises: the outbox records it on the event delivery and tries again later.
    connector.send_fulfilment(channel_order=channel_order, status=status, order=order)
    channel_order.fulfilment_status_sent = status[:60]
    channel_order.error = ""
    channel_order.save(update_fields=["fulfilment_status_sent", "error", "updated_at"])
    return status


def handle_order_status_changed(event) -> None:
    """``order.status_changed`` handler: fulfilment back to the partner the order came from."""
    payload = event.payload or {}
    order_id = payload.get("order_id")
    if not isinstance(order_id, int):
        return
    channel_order = ChannelOrder.objects.select_related("config").filter(order_id=order_id).first()
    if channel_order is None:
        return
    send_fulfilment(channel_order=channel_order, shop_status=str(payload.get("to") or ""))
