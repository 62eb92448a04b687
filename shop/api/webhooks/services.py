"""Webhook subscriptions and deliveries: create, fan out, send, retry, give up, disable.

Delivery is at least once: receivers deduplicate on the ``id`` of the event (also sent as the
``Koszyk-Event-Id`` header). A delivery is attempted at once (Celery, after commit) and, while it
fails, again after ``WEBHOOK_RETRY_BASE_SECONDS`` doubling up to ``WEBHOOK_RETRY_MAX_SECONDS``,
until ``WEBHOOK_RETRY_HOURS`` (24 h by default) after the event; retries are picked up by the
periodic ``deliver_due_webhooks`` task, so a lost Celery message or a restart delays a retry but
never loses it. A subscription failing at least ``WEBHOOK_DISABLE_AFTER_FAILURES`` times in a row
for ``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled, and the store is told by email.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import crypto, outbound
from shop.events import safe_delay

from ..models import WebhookDelivery, WebhookEvent, WebhookSubscription
from .signing import HEADER, new_secret, signature_header

log = logging.getLogger(__name__)

USER_AGENT = "Koszyk-Webhooks/1.0"
SECRETS_PURPOSE = "webhooks"

# Receivers' URLs are the merchant's; no retry inside one attempt (the delivery is retried with
# backoff by the schedule; a receiver recognises a repeat by Koszyk-Delivery), every status is
# returned to be recorded, redirects are not followed.
_receivers = outbound.Partner(
    "webhooks", headers={"User-Agent": USER_AGENT}, retries=0, retry_statuses=frozenset()
)


# --- Subscriptions -------------------------------------------------------------------------------


def clean_events(events) -> list[str]:
    events = list(dict.fromkeys(events or []))
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise ValidationError({"events": _("Unknown events: %(e)s") % {"e": ", ".join(map(str, unknown))}})
    if not events:
        raise ValidationError({"events": _("Choose at least one event.")})
    return events


def clean_url(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": _("Enter an http(s) URL.")})
    if parts.scheme != "https" and not settings.WEBHOOK_ALLOW_HTTP:
        raise ValidationError({"url": _("Webhook URLs must use https.")})
    return url


@transaction.atomic
def create_subscription(
    *, store, url: str, events, description: str = "", created_by=None
) -> tuple[WebhookSubscription, str]:
    """Create a subscription; returns it and its signing secret (shown to the merchant once)."""
    secret = new_secret()
    subscription = WebhookSubscription.objects.create(
        store=store,
        url=clean_url(url),
        events=clean_events(events),
        description=description[:200],
        secret_encrypted=crypto.encrypt(secret, purpose=SECRETS_PURPOSE),
        secret_hint=crypto.mask(secret),
        created_by=created_by,
    )
    return subscription, secret


def rotate_secret(*, subscription: WebhookSubscription) -> str:
    secret = new_secret()
    subscription.secret_encrypted = crypto.encrypt(secret, purpose=SECRETS_PURPOSE)
    subscription.secret_hint = crypto.mask(secret)
    subscription.save(update_fields=["secret_encrypted", "secret_hint"])
    return secret


def enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Switch a disabled subscription back on with a clean failure record."""
    subscription.active = True
    subscription.failure_count = 0
    subscription.failing_since = None
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.save(
        update_fields=["active", "failure_count", "failing_since", "disabled_at", "disabled_reason"]
    )
    return subscription


# --- Fan-out ---------------------------------------------------------------------------------------


def subscribed_store_ids(*, event_type: str, store_ids) -> set[int]:
    """Which of ``store_ids`` have an active subscription to ``event_type``: high-volume domain
    events (``cart.abandoned`` from the detection scan, ``product.updated`` from imports) are
    published only for these, so a shop without such a webhook pays nothing for them."""
    ids = {int(i) for i in store_ids if i is not None}
    if not ids:
        return set()
    return {
        store_id
        for store_id, wanted in WebhookSubscription.objects.filter(store_id__in=ids, active=True).values_list(
            "store_id", "events"
        )
        if event_type in (wanted or [])
    }


def envelope(*, event_id: str, event_type: str, store, data: dict, created_at=None) -> dict:
    return {
        "id": event_id,
        "type": event_type,
        "created_at": (created_at or timezone.now()).isoformat(),
        "store": {"id": store.pk, "domain": store.domain},
        "data": data,
    }


def enqueue(*, store, event_type: str, event_id: str, data: dict, created_at=None) -> list[WebhookDelivery]:
    """One delivery per active subscription of ``store`` to ``event_type``; safe to call twice
    for the same ``event_id`` (the outbox may deliver an event again)."""
    if store is None:
        return []
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(store=store, active=True)
        if event_type in (s.events or [])
    ]
    now = timezone.now()
    created = []
    payload = envelope(
        event_id=event_id, event_type=event_type, store=store, data=data, created_at=created_at
    )
    for subscription in subscriptions:
        delivery, is_new = WebhookDelivery.objects.get_or_create(
            subscription=subscription,
            event_id=event_id,
            defaults={"event_type": event_type, "payload": payload, "next_attempt_at": now},
        )
        if is_new:
            created.append(delivery)
    for delivery in created:
        transaction.on_commit(lambda pk=delivery.pk: _enqueue_send(pk))
    return created


def _enqueue_send(delivery_id: int) -> None:
    from .tasks import deliver_webhook

    safe_delay(deliver_webhook, delivery_id)


@transaction.atomic
def resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now (the admin's "resend"): same event id, fresh signature."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now(), locked_until=None
    )
    transaction.on_commit(lambda: _enqueue_send(delivery.pk))
    delivery.refresh_from_db()
    return delivery


# --- Sending -------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Lease a pending delivery so only one worker sends it at a time."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 30)
    claimed = WebhookDelivery.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
    ).update(locked_until=lease)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("subscription__store").get(pk=delivery_id)


def _address_problem(url: str) -> str:
    """Refuse URLs that resolve to private, loopback or link-local addresses (SSRF), unless the
    operator allows them (tests, on-premise receivers)."""
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return ""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return "cannot resolve host"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"refused: {address} is not a public address"
    return ""


def body_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def send(delivery_id: int) -> str | None:
    """Attempt one delivery now; returns its status afterwards (None when not ours to send)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    subscription = delivery.subscription
    now = timezone.now()
    if not subscription.active:
        _finish(delivery, status=WebhookDelivery.Status.FAILED, error="subscription disabled")
        return WebhookDelivery.Status.FAILED
    body = body_bytes(delivery.payload)
    code, excerpt, error = None, "", ""
    started = time.monotonic()
    try:
        secret = crypto.decrypt(subscription.secret_encrypted, purpose=SECRETS_PURPOSE)
        error = _address_problem(subscription.url)
        if not error:
            response = _receivers.request(
                "POST",
                subscription.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    HEADER: signature_header(body=body, secret=secret),
                    "Koszyk-Event": delivery.event_type,
                    "Koszyk-Event-Id": delivery.event_id,
                    "Koszyk-Delivery": str(delivery.pk),
                },
                timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                max_bytes=max(settings.WEBHOOK_RESPONSE_EXCERPT * 4, 4096),
                truncate=True,  # only an excerpt is kept; a long 200 is still a delivery
            )
            code = response.status_code
            excerpt = response.text[: settings.WEBHOOK_RESPONSE_EXCERPT]
            if not 200 <= code < 300:
                error = f"HTTP {code}"
    except crypto.SecretsUnreadable as exc:
        error = str(exc)
    except outbound.OutboundError as exc:
        error = str(exc)[:500]
    log.info(
        "webhook %s to %s: %s in %.0f ms",
        delivery.event_id,
        subscription.url,
        error or code,
        (time.monotonic() - started) * 1000,
    )
    delivery.attempts += 1
    delivery.response_code = code
    delivery.response_body = excerpt
    if not error:
        _finish(delivery, status=WebhookDelivery.Status.SUCCEEDED, error="", delivered_at=now)
        WebhookSubscription.objects.filter(pk=subscription.pk).update(failure_count=0, failing_since=None)
        return WebhookDelivery.Status.SUCCEEDED
    next_at = now + retry_delay(delivery.attempts)
    give_up = next_at > delivery.created_at + timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    _finish(
        delivery,
        status=WebhookDelivery.Status.FAILED if give_up else WebhookDelivery.Status.PENDING,
        error=error,
        next_attempt_at=None if give_up else next_at,
    )
    _count_failure(subscription, now)
    return delivery.status


def _finish(delivery: WebhookDelivery, *, status: str, error: str, next_attempt_at=None, delivered_at=None):
    delivery.status = status
    delivery.last_error = error[:500]
    delivery.next_attempt_at = next_attempt_at
    delivery.delivered_at = delivered_at or delivery.delivered_at
    delivery.locked_until = None
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "response_code",
            "response_body",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "locked_until",
        ]
    )


def _count_failure(subscription: WebhookSubscription, now) -> None:
    with transaction.atomic():
        sub = (
            WebhookSubscription.objects.select_for_update(of=("self",))
            .select_related("store")
            .get(pk=subscription.pk)
        )
        sub.failure_count += 1
        sub.failing_since = sub.failing_since or now
        disable = (
            sub.active
            and sub.failure_count >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
            and now - sub.failing_since >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
        )
        fields = ["failure_count", "failing_since"]
        if disable:
            sub.active = False
            sub.disabled_at = now
            sub.disabled_reason = _("%(n)d failed deliveries in a row since %(since)s") % {
                "n": sub.failure_count,
                "since": sub.failing_since.strftime("%Y-%m-%d %H:%M UTC"),
            }
            fields += ["active", "disabled_at", "disabled_reason"]
            WebhookDelivery.objects.filter(subscription=sub, status=WebhookDelivery.Status.PENDING).update(
                status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error="subscription disabled"
            )
        sub.save(update_fields=fields)
    if disable:
        _tell_merchant(sub)


def _tell_merchant(subscription: WebhookSubscription) -> None:
    store = subscription.store
    recipient = store.support_email or store.sender_email
    subject = _("Webhook disabled: %(url)s") % {"url": subscription.url[:80]}
    message = _(
        "Koszyk has stopped sending webhooks to %(url)s for %(store)s: %(reason)s.\n\n"
        "Fix the receiver, then switch the subscription back on in the admin "
        "(API and webhooks → Webhook subscriptions) and resend the failed deliveries from the "
        "delivery log."
    ) % {"url": subscription.url, "store": store.name, "reason": subscription.disabled_reason}
    try:
        send_mail(subject, message, store.sender, [recipient])
    except Exception:  # the subscription is disabled either way; the admin shows why
        log.exception("Could not email %s about disabled webhook %s", recipient, subscription.pk)


def due_deliveries(*, now=None, limit: int | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: limit or settings.WEBHOOK_SWEEP_BATCH]
    )


def purge_old_deliveries(*, now=None) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOK_LOG_RETENTION_DAYS)
    deleted, _ = (
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=WebhookDelivery.Status.PENDING)
        .delete()
    )
    return deleted
