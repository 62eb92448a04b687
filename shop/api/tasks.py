"""Celery discovers tasks in ``<app>.tasks``: the API's live in :mod:`shop.api.webhooks.tasks`."""

from .webhooks.tasks import deliver_due_webhooks, deliver_webhook, purge_api_records

__all__ = ["deliver_due_webhooks", "deliver_webhook", "purge_api_records"]
