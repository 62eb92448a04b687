"""``Idempotency-Key`` for checkout and bulk writes: a retried request gets the first answer.

The first request with a key records a fingerprint of itself (method, path and a SHA-256 of the
body) before it runs, and its response once it is done. A retry with the same key and the same
request gets that response again (header ``Idempotent-Replayed: true``) and changes nothing; the
same key with a different request is refused with 422; a retry that arrives while the first is
still running gets 409 (with ``Retry-After``). Keys are scoped to their caller (an API key, a
cart) and kept for ``API_IDEMPOTENCY_HOURS``. Error answers raised as exceptions are not
recorded, so a request refused for a fixable reason can be corrected and sent again with a new
body and a new key.

A worker can be killed at any moment (SIGKILL, out of memory, gunicorn's timeout). Two rules keep
a key from being stuck or a write from being applied twice:

- ``atomic=True`` (bulk stock and prices: database writes only) runs the request and records its
  answer in one transaction, holding the record's row lock meanwhile. Killed before the commit,
  nothing was done; after it, the answer is already recorded. There is no moment in between.
- A request "still running" longer than ``API_IDEMPOTENCY_STALE_SECONDS`` (gunicorn's timeout and
  a margin) was killed with its worker: the next retry runs it again. A checkout is not atomic
  (its payment is opened after the order's own transaction, possibly over the network), so it
  must be safe to run again: ``place_order`` returns the order already placed for the cart, and
  the retry answers with it. An atomic request whose row is still locked is alive and is never
  taken over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .errors import ApiError, Conflict
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Retry-After for a request past its stale time whose transaction is still open (no gunicorn
# timeout in front of it: runserver, a test server): it is alive, ask again shortly.
LOCKED_RETRY_AFTER = 5
log = logging.getLogger("shop.api")


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.path}\n".encode())
    digest.update(request._request.body or b"")
    return digest.hexdigest()


def _clean_key(raw: str) -> str:
    from .schema import IDEMPOTENCY_KEY_PATTERN

    key = raw.strip()
    if not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
        raise ApiError(
            _("The Idempotency-Key header must be 1 to 255 printable characters."),
            code="invalid_idempotency_key",
            status_code=400,
        )
    return key


def idempotent(
    *, request, scope: str, run: Callable[[], Response], api_key=None, atomic: bool = False
) -> Response:
    """Run ``run`` once per (store, scope, Idempotency-Key); without the header just run it.

    ``atomic``: ``run`` only writes to this database, and its writes and the recorded answer are
    committed together (see the module's docstring)."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return run()
    key = _clean_key(raw)
    store = request._request.store
    print_ = fingerprint(request)
    cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    IdempotencyRecord.objects.filter(store=store, scope=scope, key=key, created_at__lt=cutoff).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                store=store, scope=scope, key=key, api_key=api_key, fingerprint=print_
            )
    except IntegrityError:
        first = IdempotencyRecord.objects.filter(store=store, scope=scope, key=key).first()
        if first is None:  # expired and deleted between the two statements: go round once more
            return idempotent(request=request, scope=scope, run=run, api_key=api_key, atomic=atomic)
        if first.fingerprint != print_:
            raise ApiError(
                _("This Idempotency-Key was already used for a different request."),
                code="idempotency_key_reused",
                status_code=422,
            ) from None
        if first.status_code == 0:
            record = _take_over_if_abandoned(first)
            if record is None:
                return idempotent(request=request, scope=scope, run=run, api_key=api_key, atomic=atomic)
        else:
            response = Response(first.response_body, status=first.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
    try:
        if atomic:
            with transaction.atomic():
                # Locked until the commit that also records the answer: a retry that finds the row
                # locked knows this request is alive (_take_over_if_abandoned).
                list(IdempotencyRecord.objects.select_for_update().filter(pk=record.pk).values_list("pk"))
                response = run()
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                else:
                    _record_answer(record, response)
        else:
            response = run()
            if response.status_code < 500:
                _record_answer(record, response)
    except BaseException:
        record.delete()
        raise
    if response.status_code >= 500:
        record.delete()
    return response


def _record_answer(record: IdempotencyRecord, response: Response) -> None:
    body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code, response_body=body
    )


def _in_progress(*, wait: int) -> Conflict:
    error = Conflict(
        _("A request with this Idempotency-Key is still being processed. Retry shortly."),
        code="idempotency_in_progress",
    )
    error.wait = wait
    return error


def _take_over_if_abandoned(first: IdempotencyRecord) -> IdempotencyRecord | None:
    """The record of a request still "in progress", for this retry to run it again when it began
    more than ``API_IDEMPOTENCY_STALE_SECONDS`` ago (its worker was killed: no request outlives
    gunicorn's timeout); None when another retry took it over or it was answered meanwhile. A
    request still within that time is answered 409 with ``Retry-After`` saying when it would count
    as abandoned; so is one past it whose row an open transaction still holds (it is alive)."""
    now = timezone.now()
    stale_after = first.created_at + timedelta(seconds=settings.API_IDEMPOTENCY_STALE_SECONDS)
    if now < stale_after:
        raise _in_progress(wait=max(1, math.ceil((stale_after - now).total_seconds())))
    with transaction.atomic():
        # skip_locked: an atomic request holds its row until it commits; waiting for it here would
        # hold this retry's worker too.
        row = IdempotencyRecord.objects.select_for_update(skip_locked=True).filter(pk=first.pk).first()
        if row is None:
            if not IdempotencyRecord.objects.filter(pk=first.pk, status_code=0).exists():
                return None  # answered or deleted meanwhile: look again
            raise _in_progress(wait=LOCKED_RETRY_AFTER)
        if row.status_code != 0 or row.created_at != first.created_at:
            return None  # another retry took it over, or it was answered
        row.created_at = now
        row.save(update_fields=["created_at"])
    log.warning(
        "Idempotency-Key %r (%s) was left in progress since %s (a killed worker): run again",
        first.key,
        first.scope,
        first.created_at.isoformat(),
    )
    first.created_at = now
    return first


def purge_expired(*, now=None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
