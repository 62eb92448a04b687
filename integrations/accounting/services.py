"""Accounting and POS documents: created from domain events, sent through their connector with
retries, logged in the connector's SyncRun log.

- ``order.paid`` -> for every active accounting/POS connector of the order's store that wants it,
  one pending :class:`ExternalDocument` (an invoice, a receipt); ``return.accepted`` -> a correction.
  Creating is safe to run twice (the database refuses a second row per connector, order, kind
  and return).
- After commit a task sends each document: under its row lock, once sent never again. A
  :class:`~.sink.TemporaryFailure` or :class:`~.sink.AmbiguousOutcome` is retried with exponential
  backoff up to ``ACCOUNTING_MAX_ATTEMPTS`` (an ambiguous one is first looked up at the partner),
  a :class:`~.sink.DocumentRejected` fails at once. The periodic sweep sends what is due.
- Every attempt is a finished SyncRun of its connector (direction ``documents``) with the error,
  so the merchant sees failures where every other connector reports them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.crypto import SecretsUnreadable
from shop.events import safe_delay

from ..connectors.base import get_connector_class
from ..models import ConnectorConfig, Direction, SyncRun, SyncRunError
from . import documents
from .models import ExternalDocument
from .sink import AmbiguousOutcome, DocumentRejected, DocumentSink, SinkError, TemporaryFailure

log = logging.getLogger(__name__)

RUN_DIRECTION = Direction.DOCUMENTS


# --- connectors -----------------------------------------------------------------------------------


def sink_types() -> set[str]:
    from ..connectors.base import registered

    return {key for key, cls in registered().items() if issubclass(cls, DocumentSink)}


def active_sinks(store_id: int) -> list[tuple[ConnectorConfig, DocumentSink]]:
    result = []
    configs = ConnectorConfig.objects.select_related("store").filter(
        store_id=store_id, is_active=True, connector_type__in=sink_types()
    )
    for config in configs.order_by("pk"):
        result.append((config, get_connector_class(config.connector_type)(config)))
    return result


def shop_issues_own_invoice(store_id: int) -> bool:
    """False when an active connector of the store issues invoices *instead of* the shop."""
    return not any(sink.replaces_shop_invoice() for _config, sink in active_sinks(store_id))


# --- events ---------------------------------------------------------------------------------------


def _id(payload: dict, *keys: str) -> int | None:
    for key in keys:
        value = (payload or {}).get(key)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return int(value)
    return None


def handle_order_paid(event) -> None:
    order_id = _id(event.payload, "order_id", "order")
    if order_id is None:
        log.warning("order.paid event %s has no order id: %r", event.pk, event.payload)
        return
    create_documents(order_id=order_id, kinds=("invoice", "receipt"))


def handle_return_accepted(event) -> None:
    return_id = _id(event.payload, "return_id")
    order_id = _id(event.payload, "order_id")
    if return_id is None or order_id is None:
        log.warning("return.accepted event %s names no return: %r", event.pk, event.payload)
        return
    create_documents(order_id=order_id, kinds=("correction",), return_id=return_id)


def issue_shop_invoice_unless_external(event) -> None:
    """Replaces ``orders``' own ``order.paid`` invoice handler (same name): the shop's PDF invoice
    is issued unless an active connector of the store issues invoices instead of it."""
    from orders.handlers import issue_invoice_on_paid

    store_id = event.store_id or _id(event.payload, "store_id")
    if store_id is not None and not shop_issues_own_invoice(store_id):
        log.info("Order %s: the invoice is issued by an accounting connector, not by the shop", event.payload)
        return
    issue_invoice_on_paid(event)


# --- creating -------------------------------------------------------------------------------------


@transaction.atomic
def create_documents(
    *, order_id: int, kinds: tuple[str, ...], return_id: int | None = None
) -> list[ExternalDocument]:
    """Pending documents of ``kinds`` for every connector of the order's store that wants them."""
    from orders.models import Order

    order = Order.objects.select_related("store").filter(pk=order_id).first()
    if order is None:
        log.warning("No order %s for accounting documents", order_id)
        return []
    created = []
    for config, sink in active_sinks(order.store_id):
        for kind in kinds:
            if not sink.wants(kind, order):
                continue
            try:
                with transaction.atomic():
                    document, new = ExternalDocument.objects.get_or_create(
                        config=config,
                        order=order,
                        kind=kind,
                        return_request_id=return_id,
                        defaults={"store": order.store, "next_attempt_at": timezone.now()},
                    )
            except IntegrityError:
                continue  # created by a concurrent delivery of the same event
            if new:
                created.append(document)
                transaction.on_commit(lambda pk=document.pk: enqueue(pk))
    return created


def enqueue(document_id: int) -> None:
    from .tasks import send_document_task

    safe_delay(send_document_task, document_id)


# --- sending --------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    seconds = settings.ACCOUNTING_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    return timedelta(seconds=min(seconds, settings.ACCOUNTING_RETRY_MAX_SECONDS))


def document_data(document: ExternalDocument) -> documents.DocumentData:
    order = document.order
    if document.kind == ExternalDocument.Kind.CORRECTION:
        original = (
            ExternalDocument.objects.filter(
                config_id=document.config_id, order_id=document.order_id, kind=ExternalDocument.Kind.INVOICE
            )
            .only("status", "external_id", "external_number")
            .first()
        )
        if original is None:
            raise DocumentRejected(
                _("This connector has no invoice for order %(number)s, so there is nothing to correct.")
                % {"number": order.number}
            )
        if original.status != ExternalDocument.Status.SENT or not original.external_id:
            raise TemporaryFailure(_("Waiting for the order's invoice to be sent first."))
        data = documents.correction_data(order, document.return_request)
        data.corrects_id, data.corrects_number = original.external_id, original.external_number
        return data
    return documents.invoice_data(order, kind=document.kind)


def send_document(*, document_id: int, trigger: str = SyncRun.Trigger.EVENT) -> ExternalDocument:
    """Send one document if it is due; safe to call twice (the row lock serialises senders and a
    sent document is never sent again)."""
    with transaction.atomic():
        document = (
            ExternalDocument.objects.select_for_update(skip_locked=True)
            .filter(pk=document_id, status=ExternalDocument.Status.PENDING)
            .first()
        )
        if document is None:
            return ExternalDocument.objects.get(pk=document_id)
        document.attempts += 1
        document.next_attempt_at = timezone.now() + retry_delay(document.attempts)
        document.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    document = ExternalDocument.objects.select_related(
        "config__store",
        "store",
        "order__store",
        "order__billing_address",
        "order__shipping_address",
        "return_request",
    ).get(pk=document.pk)
    started = timezone.now()
    warnings: list[str] = []
    outcome = None
    error = ""
    try:
        sink = get_connector_class(document.config.connector_type)(document.config)
        data = document_data(document)
        if document.needs_lookup:
            outcome = sink.find_existing(document, data)
        if outcome is None:
            outcome = sink.send_document(document, data)
    except DocumentRejected as exc:
        error = str(exc)
        document.status, document.next_attempt_at = ExternalDocument.Status.FAILED, None
    except (TemporaryFailure, AmbiguousOutcome, SecretsUnreadable, LookupError) as exc:
        error = str(exc) or type(exc).__name__
        if isinstance(exc, AmbiguousOutcome):
            document.needs_lookup = True
        error = _give_up_when_exhausted(document, error)
    except Exception as exc:  # a bug or an unforeseen answer: keep the document, report, retry
        log.exception("Sending document %s failed", document.pk)
        error = _give_up_when_exhausted(
            document, _("Unexpected error: %(e)s") % {"e": f"{type(exc).__name__}: {exc}"}
        )
    if outcome is not None:
        now = timezone.now()
        document.status = ExternalDocument.Status.SENT
        document.external_id = outcome.external_id
        document.external_number = outcome.external_number or document.external_number
        if outcome.payload:
            document.payload = outcome.payload
        document.sent_at = now
        document.next_attempt_at = None
        document.needs_lookup = False
        document.last_error = "; ".join(outcome.warnings)[:2000]
        warnings = outcome.warnings
    else:
        document.last_error = error[:2000]
        log.warning(
            "Document %s (%s): attempt %d failed: %s", document.pk, document.kind, document.attempts, error
        )
    document.save()
    _log_run(document, started=started, trigger=trigger, error=error, warnings=warnings)
    return document


def _give_up_when_exhausted(document: ExternalDocument, error: str) -> str:
    if document.attempts < settings.ACCOUNTING_MAX_ATTEMPTS:
        return error
    document.status, document.next_attempt_at = ExternalDocument.Status.FAILED, None
    return _("Gave up after %(n)d attempts: %(e)s") % {"n": document.attempts, "e": error}


def _log_run(document: ExternalDocument, *, started, trigger: str, error: str, warnings: list[str]) -> None:
    ok = document.status == ExternalDocument.Status.SENT
    run = SyncRun.objects.create(
        config_id=document.config_id,
        direction=RUN_DIRECTION,
        trigger=trigger,
        status=SyncRun.Status.SUCCEEDED if ok else SyncRun.Status.FAILED,
        phase=SyncRun.Phase.DONE,
        rows_total=1,
        created=1 if ok else 0,
        failed=0 if ok else 1,
        summary={
            "document_id": document.pk,
            "kind": document.kind,
            "order": document.order.number,
            "attempt": document.attempts,
            "status": document.status,
            "external_number": document.external_number,
        },
        error=error[:5000],
        started_at=started,
        heartbeat_at=timezone.now(),
        finished_at=timezone.now(),
    )
    messages = ([error] if error else []) + warnings
    if messages:
        SyncRunError.objects.bulk_create(
            [SyncRunError(run=run, key=document.order.number[:128], message=m[:5000]) for m in messages]
        )


def due_documents(limit: int | None = None) -> list[int]:
    limit = limit or settings.ACCOUNTING_SWEEP_BATCH
    return list(
        ExternalDocument.objects.filter(
            status=ExternalDocument.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def retry(*, document: ExternalDocument) -> bool:
    """Put a failed document back in the queue (the merchant fixed the token, the NIP, ...)."""
    updated = ExternalDocument.objects.filter(pk=document.pk, status=ExternalDocument.Status.FAILED).update(
        status=ExternalDocument.Status.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if updated:
        transaction.on_commit(lambda: enqueue(document.pk))
    return bool(updated)


def test_connection(*, config: ConnectorConfig) -> tuple[bool, str]:
    try:
        sink = get_connector_class(config.connector_type)(config)
        return True, sink.test_connection()
    except (SinkError, SecretsUnreadable, LookupError) as exc:
        return False, str(exc)


def fetch_pdf(*, document: ExternalDocument) -> bytes | None:
    sink = get_connector_class(document.config.connector_type)(document.config)
    return sink.fetch_pdf(document)
