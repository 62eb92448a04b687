"""The built-in test gateway: behaves like a real online payment gateway.

1. ``start`` gives the payment a gateway reference and sends the shopper to the gateway's
   payment page (served by the shop at ``/platnosc/test/<ref>/``), where they click pay, fail
   or "timeout" (close the window).
2. For pay and fail the gateway later sends an **asynchronous server-to-server notification**: a
   Celery task POSTs JSON to ``/platnosc/webhook/test/`` with the headers
   ``X-Gateway-Timestamp`` and ``X-Gateway-Signature`` = hex HMAC-SHA256 over
   ``"<timestamp>." + body`` with ``settings.TEST_GATEWAY_SECRET``. A timeout sends nothing: the
   payment stays pending until the stock hold expires.
3. ``handle_notification`` verifies the signature first, then the timestamp (at most
   ``PAYMENT_NOTIFICATION_TOLERANCE_SECONDS`` old), rejects a replay of the very same signed
   message, and only then acts. A gateway re-sending an event signs it anew and gets 200 without
   anything changing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from decimal import Decimal, InvalidOperation

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.urls import reverse

from shop import outbound

from ..models import Payment, PaymentNotification
from .base import PaymentProvider, PaymentStart, register

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
OUTCOMES = ("paid", "failed", "timeout")

# Tests may route the gateway's HTTP calls through an httpx transport of their own.
transport: httpx.BaseTransport | None = None


class GatewayRetry(Exception):
    """The shop answered 5xx: the gateway tries again later (like real gateways do)."""


def sign(body: bytes, timestamp: int, secret: str | None = None) -> str:
    key = (secret or settings.TEST_GATEWAY_SECRET).encode()
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def build_notification(payment: Payment, outcome: str, *, timestamp: int | None = None) -> tuple[bytes, dict]:
    """The body and headers the gateway sends about ``payment`` (``outcome``: paid or failed)."""
    body = json.dumps(
        {
            "id": uuid.uuid4().hex,
            "merchant_reference": payment.reference,
            "gateway_reference": payment.gateway_reference,
            "status": outcome,
            "amount": str(payment.amount),
            "currency": payment.currency,
        },
        separators=(",", ":"),
    ).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    return body, {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(body, ts),
    }


def webhook_url(payment: Payment) -> str:
    return payment.order.store.absolute_url(reverse("orders:payment-webhook", kwargs={"provider": "test"}))


def send_notification(gateway_reference: str, outcome: str) -> int:
    """What the gateway's worker does: POST a freshly signed notification; returns the status."""
    payment = (
        Payment.objects.select_related("order__store").filter(gateway_reference=gateway_reference).first()
    )
    if payment is None:
        log.warning("Test gateway: no payment %s", gateway_reference)
        return 404
    body, headers = build_notification(payment, outcome)
    gateway = outbound.Partner(
        "test-gateway",
        timeout=settings.PAYMENT_NOTIFICATION_TIMEOUT_SECONDS,
        retries=0,
        retry_statuses=frozenset(),  # every answer comes back; a 5xx is retried by the task
        transport=transport,
    )
    try:
        response = gateway.request("POST", webhook_url(payment), content=body, headers=headers)
    except outbound.OutboundError as exc:
        raise GatewayRetry(f"shop unreachable: {exc}") from exc
    if response.status_code >= 500:
        raise GatewayRetry(f"shop answered {response.status_code}")
    return response.status_code


def schedule_notification(payment: Payment, outcome: str) -> None:
    """The shopper clicked on the gateway page: notify the shop asynchronously, after commit."""
    if outcome == "timeout":
        return
    from shop import events

    from ..tasks import test_gateway_notify

    ref = payment.gateway_reference
    transaction.on_commit(lambda: events.safe_delay(test_gateway_notify, ref, outcome))


def _reject(status: int, error: str, *, body: bytes = b"", signature: str | None = None) -> JsonResponse:
    PaymentNotification.objects.create(
        provider=TestGateway.code,
        signature=None,
        outcome=error,
        payload=body[:2000].decode("utf-8", "replace"),
    )
    return JsonResponse({"error": error}, status=status)


@register
class TestGateway(PaymentProvider):
    code = "test_gateway"
    webhook_slug = "test"
    is_online = True

    def start(self, payment: Payment) -> PaymentStart:
        if not payment.gateway_reference:
            payment.gateway_reference = "TG" + secrets.token_hex(10).upper()
            Payment.objects.filter(pk=payment.pk).update(gateway_reference=payment.gateway_reference)
        return PaymentStart(
            redirect_url=reverse("orders:test-gateway", kwargs={"ref": payment.gateway_reference})
        )

    def handle_notification(self, request):
        from ..services import extend_payment_hold, payment_failed, payment_succeeded

        body = request.body
        ts_raw = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not ts_raw.isdigit() or not signature or len(signature) > 128:
            return _reject(400, "missing or malformed signature headers", body=body)
        if not hmac.compare_digest(sign(body, int(ts_raw)), signature):
            return _reject(403, "invalid signature", body=body)
        if abs(time.time() - int(ts_raw)) > settings.PAYMENT_NOTIFICATION_TOLERANCE_SECONDS:
            return _reject(400, "stale timestamp", body=body)
        try:
            data = json.loads(body)
            status = str(data["status"])
            reference = str(data["merchant_reference"])
            amount = Decimal(str(data["amount"]))
            currency = str(data["currency"])
        except (ValueError, KeyError, TypeError, InvalidOperation):
            return _reject(400, "malformed body", body=body)
        payment = Payment.objects.filter(reference=reference, provider=self.code).first()
        try:
            with transaction.atomic():
                notification = PaymentNotification.objects.create(
                    provider=self.code,
                    payment=payment,
                    signature=signature,
                    status=status[:20],
                    payload=body[:2000].decode("utf-8", "replace"),
                )
        except IntegrityError:
            return _reject(400, "replayed notification", body=body)
        if payment is None:
            notification.outcome = "unknown payment"
            notification.save(update_fields=["outcome"])
            return JsonResponse({"error": "unknown payment"}, status=404)
        if amount != payment.amount or currency != payment.currency:
            notification.outcome = "amount mismatch"
            notification.save(update_fields=["outcome"])
            return JsonResponse({"error": "amount or currency does not match the payment"}, status=400)
        try:
            if status == "paid":
                changed = payment_succeeded(
                    payment=payment, gateway_reference=str(data.get("gateway_reference", ""))
                )
            elif status == "failed":
                changed = payment_failed(payment=payment, reason="declined by the gateway")
            elif status == "pending":
                changed = extend_payment_hold(order=payment.order)
            else:
                notification.outcome = "unknown status"
                notification.save(update_fields=["outcome"])
                return JsonResponse({"error": "unknown status"}, status=400)
        except Exception:
            # Nothing was applied: the gateway's retry of this very notification must not be
            # taken for a replay (the view answers non-2xx, so the gateway retries).
            PaymentNotification.objects.filter(pk=notification.pk).delete()
            raise
        notification.outcome = "applied" if changed else "no change"
        notification.save(update_fields=["outcome"])
        return JsonResponse({"ok": True, "changed": changed})
