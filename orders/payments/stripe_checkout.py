"""Stripe Checkout, for international buyers: https://docs.stripe.com/payments/checkout

1. ``start`` creates a Checkout Session (``POST /v1/checkout/sessions``, form-encoded, Bearer
   secret key, ``Idempotency-Key`` = our reference) with ``client_reference_id`` = our
   ``Payment.reference`` and sends the shopper to ``session.url``.
2. Webhooks carry ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]``; expected =
   HMAC-SHA256(endpoint secret, f"{t}.{raw body}"), accepted within
   ``STRIPE_WEBHOOK_TOLERANCE_SECONDS`` (300 s, Stripe's own default). The signature is checked
   before the body is even parsed (the secret belongs to the store the webhook URL is on), and
   the very same signed message seen twice is rejected as a replay; Stripe's retries are signed
   anew and answered 200 without changing anything twice.
3. ``checkout.session.completed`` with ``payment_status == "paid"`` (or
   ``checkout.session.async_payment_succeeded``) pays; ``checkout.session.expired`` and
   ``checkout.session.async_payment_failed`` fail the attempt. Other events get 200 and are
   ignored.
4. Refunds: ``POST /v1/refunds`` (payment_intent, amount) with our refund reference as the
   idempotency key; ``refund.updated`` events settle pending ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..external_accounts import AccountField
from ..models import GatewayAccount, Payment, PaymentRefund
from .base import (
    ConnectionCheck,
    PaymentGatewayError,
    PaymentLookup,
    PaymentProvider,
    PaymentStart,
    RefundResult,
    register,
)
from .gateway_client import (
    account_for,
    call,
    from_minor,
    json_of,
    opened_session,
    record,
    remember_session,
    return_url,
    to_minor,
)

log = logging.getLogger("orders.payments")
CODE = "stripe_checkout"
SIGNATURE_HEADER = "Stripe-Signature"


def compute_signature(payload: bytes, timestamp: int | str, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()


def parse_signature_header(value: str) -> tuple[int | None, list[str]]:
    timestamp, v1 = None, []
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            continue
        if key == "t" and val.isdigit():
            timestamp = int(val)
        elif key == "v1":
            v1.append(val)
    return timestamp, v1


def verify_signature(
    payload: bytes, header: str, secret: str, *, tolerance: int, now: float | None = None
) -> str:
    """Returns the matching v1 signature, or raises ValueError saying what is wrong."""
    timestamp, candidates = parse_signature_header(header)
    if timestamp is None or not candidates:
        raise ValueError("missing or malformed signature header")
    expected = compute_signature(payload, timestamp, secret)
    match = next((c for c in candidates if hmac.compare_digest(expected, c)), None)
    if match is None:
        raise ValueError("invalid signature")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise ValueError("timestamp outside the tolerance")
    return match


@register
class StripeCheckout(PaymentProvider):
    code = CODE
    webhook_slug = "stripe"
    is_online = True
    url_settings = ("STRIPE_API_URL", "STRIPE_API_URL")  # one host: the key decides the mode
    account_fields = (
        AccountField("secret_key", gettext_lazy("secret API key"), secret=True, required=True),
        AccountField("webhook_secret", gettext_lazy("webhook signing secret"), secret=True, required=True),
    )
    supports_refunds = True

    def _call(self, account, method: str, path: str, data: dict | None = None, *, idempotency_key: str = ""):
        headers = {"Authorization": f"Bearer {account.secret('secret_key')}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = call(method, account.base_url + path, gateway=self.code, headers=headers, data=data)
        body = json_of(response, gateway=self.code)
        if response.status_code >= 400:
            error = body.get("error") or {}
            log.warning("stripe: %s %s refused (%s): %s", method, path, response.status_code, error)
            raise PaymentGatewayError(
                _("The payment gateway refused the request."),
                status=response.status_code,
                detail=str(error.get("message") or body)[:500],
            )
        return body

    def start(self, payment: Payment) -> PaymentStart:
        if payment.status != Payment.Status.PENDING:
            return PaymentStart()
        session = opened_session(payment)
        if session is not None:
            return PaymentStart(redirect_url=session.redirect_url)
        account = account_for(payment, self.code, active_only=True)
        order = payment.order
        back = return_url(payment)
        data = {
            "mode": "payment",
            "success_url": back,
            "cancel_url": back,
            "client_reference_id": payment.reference,
            "customer_email": order.email,
            "locale": "pl" if (order.language or "").startswith("pl") else "auto",
            # one line for the order's total: shipping, discounts and gift cards are already in it
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": payment.currency.lower(),
            "line_items[0][price_data][unit_amount]": str(to_minor(payment.amount)),
            "line_items[0][price_data][product_data][name]": _("Order %(number)s") % {"number": order.number},
            "metadata[payment_reference]": payment.reference,
            "metadata[order_number]": order.number,
            "payment_intent_data[metadata][payment_reference]": payment.reference,
        }
        body = self._call(account, "POST", "/v1/checkout/sessions", data, idempotency_key=payment.reference)
        if not body.get("id") or not body.get("url"):
            raise PaymentGatewayError(
                _("The payment gateway gave an answer we cannot read."), detail=str(body)
            )
        remember_session(payment, provider=self.code, token=body["id"], redirect_url=body["url"])
        Payment.objects.filter(pk=payment.pk).update(gateway_reference=body["id"])
        payment.gateway_reference = body["id"]
        return PaymentStart(redirect_url=body["url"])

    def refund(self, payment: Payment, amount, *, reference: str, reason: str = "") -> RefundResult:
        account = account_for(payment, self.code)
        if not payment.gateway_reference.startswith("pi_"):
            return RefundResult(status="failed", message="no payment intent recorded for this payment")
        data = {
            "payment_intent": payment.gateway_reference,
            "amount": str(to_minor(amount)),
            "metadata[refund_reference]": reference,
        }
        try:
            body = self._call(account, "POST", "/v1/refunds", data, idempotency_key=reference)
        except PaymentGatewayError as exc:
            if exc.status and exc.status < 500:
                return RefundResult(status="failed", message=exc.detail[:255] or exc.message)
            raise
        state = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}.get(
            body.get("status", ""), "failed"
        )
        return RefundResult(
            status=state, gateway_reference=str(body.get("id", "")), message=body.get("status", "")
        )

    def lookup(self, payment: Payment) -> PaymentLookup:
        account = account_for(payment, self.code)
        session = opened_session(payment)
        if session is None:
            return super().lookup(payment)
        body = self._call(account, "GET", f"/v1/checkout/sessions/{session.token}")
        if body.get("payment_status") == "paid":
            status = Payment.Status.PAID
        elif body.get("status") == "expired":
            status = Payment.Status.EXPIRED
        else:
            status = Payment.Status.PENDING
        return PaymentLookup(
            status=status,
            gateway_reference=str(body.get("payment_intent") or body.get("id") or ""),
            amount=from_minor(body["amount_total"]) if body.get("amount_total") is not None else None,
            currency=str(body.get("currency", "")).upper(),
            raw=body,
        )

    def test_connection(self, account) -> ConnectionCheck:
        key = account.secret("secret_key")
        if account.is_sandbox != key.startswith(("sk_test_", "rk_test_")):
            return ConnectionCheck(
                ok=False,
                message=_("Use a test key (sk_test_…) in sandbox mode and a live key in production."),
            )
        try:
            self._call(account, "GET", "/v1/balance")
        except PaymentGatewayError as exc:
            if exc.status == 401:
                return ConnectionCheck(ok=False, message=_("The gateway rejected the secret key."))
            return ConnectionCheck(ok=False, message=exc.message)
        return ConnectionCheck(ok=True, message=_("Connected."))

    # --- webhooks -------------------------------------------------------------------------------

    def handle_notification(self, request):
        from ..services import payment_failed, payment_succeeded

        body = request.body
        store = getattr(request, "store", None)
        account = GatewayAccount.objects.filter(store=store, provider=self.code).first() if store else None
        if account is None:
            record(self.code, body=body, outcome="no gateway account")
            return JsonResponse({"error": "gateway not configured"}, status=404)
        try:
            matched = verify_signature(
                body,
                request.headers.get(SIGNATURE_HEADER, ""),
                account.secret("webhook_secret"),
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except ValueError as exc:
            record(self.code, body=body, outcome=str(exc))
            return JsonResponse({"error": str(exc)}, status=400)
        try:
            event = json.loads(body)
            kind = str(event["type"])
            obj = event["data"]["object"]
        except (ValueError, KeyError, TypeError):
            record(self.code, body=body, outcome="malformed body")
            return JsonResponse({"error": "malformed body"}, status=400)
        if kind.startswith("refund."):
            return self._refund_event(obj, body, matched, kind)
        if not kind.startswith("checkout.session."):
            record(self.code, body=body, status=kind, outcome="ignored event")
            return JsonResponse({"ok": True, "changed": False})
        payment = (
            Payment.objects.select_related("order")
            .filter(
                reference=str(obj.get("client_reference_id") or ""), provider=self.code, order__store=store
            )
            .first()
        )
        try:
            with transaction.atomic():
                notification = record(
                    self.code, body=body, payment=payment, status=kind, outcome="received", signature=matched
                )
        except IntegrityError:
            record(self.code, body=body, payment=payment, status=kind, outcome="replayed notification")
            return JsonResponse({"error": "replayed notification"}, status=400)

        def done(outcome: str, status: int = 200, **answer):
            notification.outcome = outcome
            notification.save(update_fields=["outcome"])
            if outcome not in ("applied", "no change"):
                log.warning(
                    "stripe notification: %s (payment %s)", outcome, payment.reference if payment else "-"
                )
            return JsonResponse(answer or {"ok": True, "changed": outcome == "applied"}, status=status)

        if payment is None:
            return done("unknown payment", 404, error="unknown payment")
        if (session := opened_session(payment)) and obj.get("id") != session.token:
            return done("session id mismatch", 400, error="session does not match the payment")
        if (
            obj.get("amount_total") != to_minor(payment.amount)
            or str(obj.get("currency", "")).upper() != payment.currency
        ):
            return done("amount mismatch", 400, error="amount or currency does not match the payment")
        paid = kind == "checkout.session.async_payment_succeeded" or (
            kind == "checkout.session.completed" and obj.get("payment_status") == "paid"
        )
        if paid:
            changed = payment_succeeded(
                payment=payment, gateway_reference=str(obj.get("payment_intent") or obj["id"])
            )
        elif kind == "checkout.session.completed":
            return done("no change")  # async method (e.g. a bank transfer): wait for its result
        elif kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
            status = Payment.Status.EXPIRED if kind.endswith("expired") else Payment.Status.FAILED
            changed = payment_failed(payment=payment, reason=kind, status=status)
        else:
            return done("ignored event")
        return done("applied" if changed else "no change")

    def _refund_event(self, obj: dict, body: bytes, matched: str, kind: str):
        from .refunds import refund_settled

        reference = str((obj.get("metadata") or {}).get("refund_reference", ""))
        refund = PaymentRefund.objects.filter(reference=reference, payment__provider=self.code).first()
        try:
            with transaction.atomic():
                notification = record(
                    self.code,
                    body=body,
                    payment=refund.payment if refund else None,
                    status=kind,
                    outcome="received",
                    signature=matched,
                )
        except IntegrityError:
            return JsonResponse({"error": "replayed notification"}, status=400)
        changed = False
        if refund is not None and obj.get("status") in ("succeeded", "failed", "canceled"):
            changed = refund_settled(refund=refund, ok=obj["status"] == "succeeded", message=obj["status"])
        notification.outcome = "applied" if changed else "no change"
        notification.save(update_fields=["outcome"])
        return JsonResponse({"ok": True, "changed": changed})
