"""What went wrong and waits for someone: failed integration runs, invoices KSeF rejected, order
e-mails that did not go out, outbox deliveries that gave up. Read by the admin home page.

Each figure is a queryset filter kept in :data:`FAILURES` (model, lookups) so the page can link
to the admin list holding exactly the rows counted; staff see their stores' rows (the same
store path the admin's store scoping follows, ``shop.admin_mixins.store_path_for``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.utils import timezone

#: key -> (model label, filter lookups, look-back in days or None for "whatever its age").
FAILURES: dict[str, tuple[str, dict, int | None]] = {
    "sync_runs": ("integrations.SyncRun", {"status": "failed"}, 7),
    "ksef": ("orders.KsefSubmission", {"state": "rejected"}, None),
    "emails": ("orders.OrderEmail", {"sent_at__isnull": True, "attempts__gt": 0}, None),
    "deliveries": ("shop.EventDelivery", {"status": "failed"}, None),
}

#: The date field a look-back applies to, per model.
SINCE_FIELD = {"integrations.SyncRun": "started_at"}


def failure_lookups(key: str, *, now: datetime | None = None) -> dict:
    """The filter of one figure of :data:`FAILURES`, look-back included (as ``field__gte``)."""
    label, lookups, days = FAILURES[key]
    lookups = dict(lookups)
    if days is not None:
        since = (now or timezone.now()) - timedelta(days=days)
        lookups[f"{SINCE_FIELD[label]}__gte"] = since.replace(microsecond=0)
    return lookups


def failures(*, store_ids, keys=None, now: datetime | None = None) -> dict[str, int]:
    """How many rows each figure of :data:`FAILURES` (or of ``keys``) counts in the stores
    ``store_ids`` (``None``: every store, store-less rows too). One query per figure."""
    from shop.admin_mixins import store_path_for

    now = now or timezone.now()
    counts = {}
    for key in keys if keys is not None else FAILURES:
        model = apps.get_model(FAILURES[key][0])
        rows = model._default_manager.filter(**failure_lookups(key, now=now))
        path = store_path_for(model)
        if store_ids is not None and path is not None:
            rows = rows.filter(**{"pk__in" if path == "pk" else f"{path}__in": store_ids})
        counts[key] = rows.count()
    return counts
