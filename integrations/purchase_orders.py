"""Purchase orders to wholesalers for drop-shipped products.

When an order is paid (domain event ``order.paid``), its lines whose variants were imported by an
active connector with ``dropship`` on are grouped per connector into one :class:`PurchaseOrder`
each (at most one per order and connector: the handler is safe to run twice). After commit a task
sends it through the connector (email with a CSV attachment, or the wholesaler's HTTP API);
transient failures are retried with exponential backoff up to ``INTEGRATIONS_PO_MAX_ATTEMPTS``,
a refusal by the wholesaler (HTTP 4xx) fails it at once. Status: pending -> sent -> confirmed
(by the API's answer or by the merchant in the admin), or failed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.events import safe_delay

from .connectors.base import Capability, get_connector_class
from .models import ConnectorConfig, PurchaseOrder, PurchaseOrderLine, SourceRecord

log = logging.getLogger(__name__)


def order_id_from_payload(payload: dict) -> int | None:
    for key in ("order_id", "id", "order"):
        value = payload.get(key)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return int(value)
    return None


def handle_order_paid(event) -> None:
    """``shop.events`` handler for ``order.paid``."""
    order_id = order_id_from_payload(event.payload or {})
    if order_id is None:
        log.warning("order.paid event %s has no order id: %s", event.pk, event.payload)
        return
    create_purchase_orders(order_id=order_id)


@transaction.atomic
def create_purchase_orders(*, order_id: int) -> list[PurchaseOrder]:
    from orders.models import Order

    order = Order.objects.select_related("store").get(pk=order_id)
    lines = [line for line in order.lines.all() if line.variant_id]
    if not lines:
        return []
    records = (
        SourceRecord.objects.filter(
            variant_id__in=[line.variant_id for line in lines], config__is_active=True
        )
        .select_related("config")
        .order_by("pk")
    )
    by_variant: dict[int, SourceRecord] = {}
    for record in records:
        config = record.config
        try:
            cls = get_connector_class(config.connector_type)
        except LookupError:
            continue
        if Capability.ORDER_SINK in cls.capabilities and config.settings.get("dropship"):
            by_variant.setdefault(record.variant_id, record)
    grouped: dict[int, list] = defaultdict(list)
    for line in lines:
        record = by_variant.get(line.variant_id)
        if record is not None:
            grouped[record.config_id].append((line, record))
    created = []
    for config_id, items in grouped.items():
        config = items[0][1].config
        if PurchaseOrder.objects.filter(order=order, config_id=config_id).exists():
            continue
        try:
            with transaction.atomic():
                po = PurchaseOrder.objects.create(
                    store=order.store,
                    config=config,
                    order=order,
                    number=f"{order.number}-{config_id}",
                    method=config.settings.get("order_method") or PurchaseOrder.Method.EMAIL,
                    next_attempt_at=timezone.now(),
                )
        except IntegrityError:
            continue  # created by a concurrent delivery of the same event
        PurchaseOrderLine.objects.bulk_create(
            [
                PurchaseOrderLine(
                    purchase_order=po,
                    variant_id=line.variant_id,
                    sku=line.sku,
                    supplier_code=record.supplier_code or line.sku,
                    ean=(line.variant.ean if line.variant else "")[:14],
                    name=line.name[:255],
                    quantity=line.quantity,
                    unit_cost=record.cost_price,
                )
                for line, record in items
            ]
        )
        created.append(po)
        transaction.on_commit(lambda pk=po.pk: _enqueue(pk))
    return created


def _enqueue(purchase_order_id: int) -> None:
    from .tasks import send_purchase_order_task

    safe_delay(send_purchase_order_task, purchase_order_id)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=settings.INTEGRATIONS_PO_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1)))


def send_purchase_order(*, purchase_order_id: int) -> PurchaseOrder:
    """Send one purchase order if it is due; safe to call twice (a row lock serialises senders and
    a sent order is never sent again)."""
    from .wholesalers.connector import PurchaseOrderRejected

    with transaction.atomic():
        po = (
            PurchaseOrder.objects.select_for_update(skip_locked=True)
            .filter(pk=purchase_order_id, status=PurchaseOrder.Status.PENDING)
            .first()
        )
        if po is None:
            return PurchaseOrder.objects.get(pk=purchase_order_id)
        po.attempts += 1
        po.next_attempt_at = timezone.now() + retry_delay(po.attempts)
        po.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    config = ConnectorConfig.objects.select_related("store").get(pk=po.config_id)
    connector = get_connector_class(config.connector_type)(config)
    try:
        result = connector.send_purchase_order(po)
    except PurchaseOrderRejected as exc:
        po.status, po.last_error, po.next_attempt_at = PurchaseOrder.Status.FAILED, str(exc), None
    except Exception as exc:  # network, SMTP, breaker open: try again later
        log.warning("Purchase order %s: attempt %d failed: %s", po.number, po.attempts, exc)
        po.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if po.attempts >= settings.INTEGRATIONS_PO_MAX_ATTEMPTS:
            po.status, po.next_attempt_at = PurchaseOrder.Status.FAILED, None
            po.last_error = _("Gave up after %(n)d attempts: %(e)s") % {"n": po.attempts, "e": po.last_error}
    else:
        now = timezone.now()
        po.status = PurchaseOrder.Status.CONFIRMED if result.confirmed else PurchaseOrder.Status.SENT
        po.sent_at = now
        po.confirmed_at = now if result.confirmed else None
        po.external_reference = result.external_reference
        po.last_error = ""
        po.next_attempt_at = None
    po.save()
    return po


def due_purchase_orders(limit: int = 100) -> list[int]:
    return list(
        PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def mark_confirmed(*, purchase_order: PurchaseOrder, reference: str = "") -> PurchaseOrder:
    if purchase_order.status in (PurchaseOrder.Status.SENT, PurchaseOrder.Status.PENDING):
        purchase_order.status = PurchaseOrder.Status.CONFIRMED
        purchase_order.confirmed_at = timezone.now()
        if reference:
            purchase_order.external_reference = reference[:100]
        purchase_order.save(update_fields=["status", "confirmed_at", "external_reference", "updated_at"])
    return purchase_order


def retry(*, purchase_order: PurchaseOrder) -> PurchaseOrder:
    """Put a failed purchase order back in the queue (the merchant fixed the address, ...)."""
    if purchase_order.status == PurchaseOrder.Status.FAILED:
        purchase_order.status = PurchaseOrder.Status.PENDING
        purchase_order.attempts = 0
        purchase_order.next_attempt_at = timezone.now()
        purchase_order.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        transaction.on_commit(lambda: _enqueue(purchase_order.pk))
    return purchase_order
