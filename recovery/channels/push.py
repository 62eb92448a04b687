"""Web Push with VAPID (pywebpush) to the subscriptions shoppers gave in the storefront."""

from __future__ import annotations

import json

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from . import AmbiguousError, OutgoingMessage, PermanentError, TransientError


class PushChannel:
    name = "push"
    resubmit_is_idempotent = False

    def send(self, message: OutgoingMessage) -> str:
        from recovery.models import PushSubscription

        if not (settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY):
            raise PermanentError("VAPID keys are not configured")
        subscription = PushSubscription.objects.filter(pk=message.extra.get("subscription_id")).first()
        if subscription is None:
            raise PermanentError("the push subscription is gone")
        payload = json.dumps({"title": message.subject, "body": message.text, "url": message.url})
        try:
            response = webpush(
                subscription_info=subscription.as_subscription_info(),
                data=payload,
                vapid_private_key=settings.VAPID_PRIVATE_KEY,
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                timeout=settings.RECOVERY_PUSH_TIMEOUT,
                ttl=86400,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                subscription.delete()
                raise PermanentError(f"subscription expired (HTTP {status})") from exc
            if status is not None and (status >= 500 or status == 429):
                raise TransientError(f"push service HTTP {status}") from exc
            raise PermanentError(f"push refused: {exc}") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"push service unreachable: {exc}") from exc
        except requests.Timeout as exc:
            raise AmbiguousError(f"push service timed out: {exc}") from exc
        return response.headers.get("Location", "") if hasattr(response, "headers") else ""
