"""``Idempotency-Key`` for checkout and bulk writes: a retried request gets the first answer.

The first request with a key records a fingerprint of itself (method, path and a SHA-256 of the
body) before it runs, and its response once it is done. A retry with the same key and the same
request gets that response again (header ``Idempotent-Replayed: true``) and changes nothing; the
same key with a different request is refused with 422; a retry that arrives while the first is
still running gets 409 (with ``Retry-After``). A request "still running" longer than
``API_IDEMPOTENCY_STALE_SECONDS`` (gunicorn's timeout and a margin) was killed with its worker:
the next retry runs it again -- a checkout then answers with the order the killed request placed
for that cart (``place_order`` returns it), or places it. Keys are scoped to their caller (an API key, a cart) and kept for
``API_IDEMPOTENCY_HOURS``. Error answers raised as exceptions are not recorded, so a request
refused for a fixable reason can be corrected and sent again with a new body and a new key.
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


def idempotent(*, request, scope: str, run: Callable[[], Response], api_key=None) -> Response:
    """Run ``run`` once per (store, scope, Idempotency-Key); without the header just run it."""
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
            return idempotent(request=request, scope=scope, run=run, api_key=api_key)
        if first.fingerprint != print_:
            raise ApiError(
                _("This Idempotency-Key was already used for a different request."),
                code="idempotency_key_reused",
                status_code=422,
            ) from None
        if first.status_code == 0:
            record = _take_over_if_abandoned(first)
            if record is None:
                return idempotent(request=request, scope=scope, run=run, api_key=api_key)
        else:
            response = Response(first.response_body, status=first.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
    try:
        response = run()
    except BaseException:
        record.delete()
        raise
    if response.status_code >= 500:
        record.delete()
        return response
    body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status_code=response.status_code, response_body=body
    )
    return response


def _take_over_if_abandoned(first: IdempotencyRecord) -> IdempotencyRecord | None:
    """The record of a request still "in progress", for this retry to run it again when it began
    more than ``API_IDEMPOTENCY_STALE_SECONDS`` ago (its worker was killed: no request outlives
    gunicorn's timeout); None when another retry took it over first. A request still within that
    time is answered 409 with ``Retry-After`` saying when it would count as abandoned."""
    now = timezone.now()
    stale_after = first.created_at + timedelta(seconds=settings.API_IDEMPOTENCY_STALE_SECONDS)
    if now < stale_after:
        error = Conflict(
            _("A request with this Idempotency-Key is still being processed. Retry shortly."),
            code="idempotency_in_progress",
        )
        error.wait = max(1, math.ceil((stale_after - now).total_seconds()))
        raise error
    taken = IdempotencyRecord.objects.filter(pk=first.pk, status_code=0, created_at=first.created_at).update(
        created_at=now
    )
    if not taken:
        return None
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
