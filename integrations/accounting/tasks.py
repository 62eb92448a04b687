"""Thin Celery tasks: they take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from ..models import SyncRun
from . import services


@shared_task(name="integrations.accounting.send_document", acks_late=True)
def send_document_task(document_id: int) -> str:
    return services.send_document(document_id=document_id).status


@shared_task(name="integrations.accounting.sweep_documents", acks_late=True)
def sweep_documents() -> int:
    """Periodic: send pending documents whose (re)try time has come."""
    ids = services.due_documents()
    for pk in ids:
        services.send_document(document_id=pk, trigger=SyncRun.Trigger.SCHEDULE)
    return len(ids)
