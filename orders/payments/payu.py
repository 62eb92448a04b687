"""PayU REST v2.1: https://developers.payu.com/europe/api/

1. OAuth ``client_credentials`` (``POST /pl/standard/user/oauth/authorize``, form-encoded); the
   token is cached until shortly before it expires.
2. ``start`` creates the order (``POST /api/v2_1/orders``, ``extOrderId`` = our
   ``Payment.reference``, amounts as strings in grosze). PayU answers 201 or 302 with a JSON
   ``redirectUri``: redirects are never followed, the shopper is sent there.
3. Notifications carry ``OpenPayu-Signature: sender=checkout;signature=<hex>;algorithm=MD5;
   content=DOCUMENT`` where the signature is hash(raw body + second key), a plain concatenation
   (not an HMAC). Only a verified notification changes anything; COMPLETED pays, CANCELED fails,
   WAITING_FOR_CONFIRMATION is captured (``PUT /api/v2_1/orders/{id}/status``); statuses that
   arrive after a final one are logged and ignored. PayU gets 200 so it stops retrying.
4. Refunds: ``POST /api/v2_1/orders/{id}/refunds`` (``extRefundId`` = our refund reference, so a
   repeated request cannot refund twice); PayU confirms with a refund notification. A refusal
   (``400 Duplicated extRefundId`` after a lost answer, or any other) is checked against
   ``GET /api/v2_1/orders/{id}/refunds`` first: a refund under our reference is never "failed".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.core.cache import cache
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
    webhook_url,
)

log = logging.getLogger("orders.payments")
CODE = "payu"
SIGNATURE_HEADER = "OpenPayu-Signature"
ALGORITHMS = {
    "MD5": hashlib.md5,
    "SHA": hashlib.sha1,
    "SHA1": hashlib.sha1,
    "SHA-1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA-256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA-384": hashlib.sha384,
    "SHA512": hashlib.sha512,
    "SHA-512": hashlib.sha512,
}
FINAL = ("COMPLETED", "CANCELED")
REFUND_STATES = {"FINALIZED": "succeeded", "CANCELED": "failed", "PENDING": "pending"}


def signature(body: bytes, second_key: str, algorithm: str = "MD5") -> str:
    """PayU's notification signature: hex hash of the raw body followed by the second key."""
    return ALGORITHMS[algorithm.upper()](body + second_key.encode("utf-8")).hexdigest()


def parse_signature_header(value: str) -> dict[str, str]:
    parts = {}
    for item in value.split(";"):
        key, sep, val = item.partition("=")
        if sep:
            parts[key.strip().lower()] = val.strip()
    return parts


@register
class PayU(PaymentProvider):
    code = CODE
    webhook_slug = "payu"
    is_online = True
    supports_refunds = True
    url_settings = ("PAYU_URL", "PAYU_SANDBOX_URL")  # (production, sandbox)
    account_fields = (
        AccountField("pos_id", gettext_lazy("POS ID")),
        AccountField("client_id", gettext_lazy("OAuth client ID"), required=True),
        AccountField("client_secret", gettext_lazy("OAuth client secret"), secret=True, required=True),
        AccountField("second_key", gettext_lazy("second key (MD5)"), secret=True, required=True),
    )

    # --- OAuth ----------------------------------------------------------------------------------

    def _token(self, account: GatewayAccount, *, fresh: bool = False) -> str:
        key = f"payu:token:{account.pk}:{account.base_url}:{account.get('client_id')}"
        token = None if fresh else cache.get(key)
        if token:
            return token
        response = call(
            "POST",
            account.base_url + "/pl/standard/user/oauth/authorize",
            gateway=self.code,
            data={
                "grant_type": "client_credentials",
                "client_id": account.get("client_id"),
                "client_secret": account.secret("client_secret"),
            },
        )
        data = json_of(response, gateway=self.code)
        if response.status_code != 200 or not data.get("access_token"):
            log.warning("payu: OAuth refused (%s): %s", response.status_code, data)
            raise PaymentGatewayError(
                _("The payment gateway rejected the shop's credentials."),
                status=response.status_code,
                detail=str(data),
            )
        ttl = max(int(data.get("expires_in") or 0) - 60, 0)
        if ttl:
            cache.set(key, data["access_token"], ttl)
        return data["access_token"]

    def _call(self, account, method: str, path: str, body: dict | None = None, *, ok=(200, 201, 302)) -> dict:
        headers = {"Authorization": f"Bearer {self._token(account)}"}
        response = call(method, account.base_url + path, gateway=self.code, headers=headers, json=body)
        if response.status_code == 401:  # token revoked or expired early: once more, fresh
            headers["Authorization"] = f"Bearer {self._token(account, fresh=True)}"
            response = call(method, account.base_url + path, gateway=self.code, headers=headers, json=body)
        data = json_of(response, gateway=self.code)
        if response.status_code not in ok:
            log.warning("payu: %s %s refused (%s): %s", method, path, response.status_code, data)
            raise PaymentGatewayError(
                _("The payment gateway refused the request."), status=response.status_code, detail=str(data)
            )
        return data

    # --- payments -------------------------------------------------------------------------------

    def start(self, payment: Payment) -> PaymentStart:
        if payment.status != Payment.Status.PENDING:
            return PaymentStart()
        session = opened_session(payment)
        if session is not None:
            return PaymentStart(redirect_url=session.redirect_url)
        account = account_for(payment, self.code, active_only=True)
        order = payment.order
        address = order.billing_address or order.shipping_address
        body = {
            "notifyUrl": webhook_url(order.store, self.webhook_slug),
            "continueUrl": return_url(payment),
            "customerIp": account.get("customer_ip", "127.0.0.1"),
            "merchantPosId": account.get("pos_id"),
            "description": _("Order %(number)s") % {"number": order.number},
            "currencyCode": payment.currency,
            "totalAmount": str(to_minor(payment.amount)),
            "extOrderId": payment.reference,
            "buyer": {
                "email": order.email,
                "phone": order.phone,
                "firstName": address.first_name if address else "",
                "lastName": address.last_name if address else "",
                "language": (order.language or "pl")[:2],
            },
            "products": [
                {
                    "name": line.product_name[:255],
                    "unitPrice": str(to_minor(line.unit_price)),
                    "quantity": str(line.quantity),
                }
                for line in order.lines.all()
            ],
        }
        data = self._call(account, "POST", "/api/v2_1/orders", body)
        redirect = data.get("redirectUri") or ""
        order_id = str(data.get("orderId") or "")
        if (data.get("status") or {}).get("statusCode") != "SUCCESS" or not redirect or not order_id:
            raise PaymentGatewayError(
                _("The payment gateway gave an answer we cannot read."), detail=str(data)
            )
        remember_session(payment, provider=self.code, token=order_id, redirect_url=redirect)
        Payment.objects.filter(pk=payment.pk).update(gateway_reference=order_id)
        payment.gateway_reference = order_id
        return PaymentStart(redirect_url=redirect)

    def capture(self, payment: Payment) -> bool:
        account = account_for(payment, self.code)
        order_id = payment.gateway_reference
        data = self._call(
            account,
            "PUT",
            f"/api/v2_1/orders/{order_id}/status",
            {"orderId": order_id, "orderStatus": "COMPLETED"},
            ok=(200,),
        )
        return (data.get("status") or {}).get("statusCode") == "SUCCESS"

    def refund(self, payment: Payment, amount, *, reference: str, reason: str = "") -> RefundResult:
        account = account_for(payment, self.code)
        body = {
            "refund": {
                "description": (reason or _("Refund"))[:255],
                "amount": str(to_minor(amount)),
                "extRefundId": reference,
                "currencyCode": payment.currency,
            }
        }
        try:
            data = self._call(
                account, "POST", f"/api/v2_1/orders/{payment.gateway_reference}/refunds", body, ok=(200,)
            )
        except PaymentGatewayError as exc:
            if not exc.status or exc.status >= 500 or exc.status == 429:
                raise
            # A refusal may be "Duplicated extRefundId": a request whose answer was lost made the
            # refund. Whatever the wording, a refund under our reference at PayU is the answer.
            found = self.find_refund(payment, reference=reference)
            if found is not None:
                return found
            if "duplicated" in exc.detail.lower():  # PayU has it but does not list it (yet)
                return RefundResult(status="unknown", message=exc.detail[:255])
            return RefundResult(status="failed", message=exc.detail[:255] or exc.message)
        refund = data.get("refund") or {}
        return RefundResult(
            status=REFUND_STATES.get(refund.get("status", ""), "pending"),
            gateway_reference=str(refund.get("refundId", "")),
            message=str(data.get("status", ""))[:255],
        )

    def find_refund(self, payment: Payment, *, reference: str) -> RefundResult | None:
        """The refund PayU made under our ``extRefundId`` (``GET /api/v2_1/orders/{id}/refunds``),
        or None when it has none. Unreachable (timeout, 5xx): PaymentGatewayError."""
        account = account_for(payment, self.code)
        try:
            data = self._call(
                account, "GET", f"/api/v2_1/orders/{payment.gateway_reference}/refunds", ok=(200,)
            )
        except PaymentGatewayError as exc:
            if exc.status == 404:
                return None
            raise
        refunds = data.get("refunds", data.get("data"))  # documented as a list; seen as {"refunds": [...]}
        for refund in refunds if isinstance(refunds, list) else []:
            if isinstance(refund, dict) and str(refund.get("extRefundId", "")) == reference:
                return RefundResult(
                    status=REFUND_STATES.get(str(refund.get("status", "")), "pending"),
                    gateway_reference=str(refund.get("refundId", ""))[:100],
                    message=f"found at PayU: {refund.get('status', '')}"[:255],
                )
        return None

    def lookup(self, payment: Payment) -> PaymentLookup:
        account = account_for(payment, self.code)
        data = self._call(account, "GET", f"/api/v2_1/orders/{payment.gateway_reference}", ok=(200,))
        found = (data.get("orders") or [{}])[0]
        status = {
            "NEW": Payment.Status.PENDING,
            "PENDING": Payment.Status.PENDING,
            "WAITING_FOR_CONFIRMATION": Payment.Status.PENDING,
            "COMPLETED": Payment.Status.PAID,
            "CANCELED": Payment.Status.CANCELLED,
        }.get(found.get("status", ""), "unknown")
        return PaymentLookup(
            status=status,
            gateway_reference=str(found.get("orderId", "")),
            amount=from_minor(found["totalAmount"]) if found.get("totalAmount") else None,
            currency=found.get("currencyCode", ""),
            raw=found,
        )

    def test_connection(self, account) -> ConnectionCheck:
        try:
            self._token(account, fresh=True)
        except PaymentGatewayError as exc:
            return ConnectionCheck(ok=False, message=exc.message)
        return ConnectionCheck(ok=True, message=_("Connected."))

    # --- notifications --------------------------------------------------------------------------

    def handle_notification(self, request):
        from ..services import payment_failed, payment_succeeded

        body = request.body
        header = parse_signature_header(request.headers.get(SIGNATURE_HEADER, ""))
        received, algorithm = header.get("signature", ""), header.get("algorithm", "MD5").upper()
        if not received or algorithm not in ALGORITHMS:
            record(self.code, body=body, outcome="missing or malformed signature header")
            return JsonResponse({"error": "missing or malformed signature header"}, status=400)
        try:
            data = json.loads(body)
            if "refund" in data:
                ext_order_id = str(data["extOrderId"])
            else:
                order = data["order"]
                ext_order_id = str(order["extOrderId"])
        except (ValueError, KeyError, TypeError):
            record(self.code, body=body, outcome="malformed body")
            return JsonResponse({"error": "malformed body"}, status=400)
        payment = (
            Payment.objects.select_related("order__store")
            .filter(reference=ext_order_id, provider=self.code)
            .first()
        )
        if payment is None:
            record(self.code, body=body, outcome="unknown payment")
            return JsonResponse({"error": "unknown payment"}, status=404)
        account = GatewayAccount.for_payment(payment, self.code, active_only=False)
        if account is None:
            record(self.code, body=body, payment=payment, outcome="no gateway account")
            return JsonResponse({"error": "gateway not configured"}, status=404)
        if not hmac.compare_digest(
            signature(body, account.secret("second_key"), algorithm), received.lower()
        ):
            record(self.code, body=body, payment=payment, outcome="invalid signature")
            return JsonResponse({"error": "invalid signature"}, status=403)
        if "refund" in data:
            return self._refund_notification(data, payment, body)

        status = str(order.get("status", ""))
        if payment.gateway_reference and str(order.get("orderId")) != payment.gateway_reference:
            record(self.code, body=body, payment=payment, status=status, outcome="order id mismatch")
            return JsonResponse({"error": "orderId does not match the payment"}, status=400)
        if (
            str(order.get("totalAmount")) != str(to_minor(payment.amount))
            or order.get("currencyCode") != payment.currency
        ):
            record(self.code, body=body, payment=payment, status=status, outcome="amount mismatch")
            return JsonResponse({"error": "amount or currency does not match the payment"}, status=400)
        if payment.status != Payment.Status.PENDING:
            # a final state was reached already: a late PENDING/CANCELED changes nothing
            outcome = (
                "no change"
                if status == "COMPLETED" and payment.status == Payment.Status.PAID
                else "out of order: ignored"
            )
            record(self.code, body=body, payment=payment, status=status, outcome=outcome)
            return JsonResponse({"ok": True, "changed": False})
        if status == "COMPLETED":
            changed = payment_succeeded(payment=payment, gateway_reference=str(order["orderId"]))
        elif status == "CANCELED":
            changed = payment_failed(
                payment=payment, reason="cancelled at PayU", status=Payment.Status.CANCELLED
            )
        elif status == "WAITING_FOR_CONFIRMATION":
            try:
                changed = self.capture(payment)
            except PaymentGatewayError as exc:
                record(
                    self.code,
                    body=body,
                    payment=payment,
                    status=status,
                    outcome=f"capture failed: {exc.message}",
                )
                return JsonResponse({"error": "capture failed, retry later"}, status=502)
            record(self.code, body=body, payment=payment, status=status, outcome="captured")
            return JsonResponse({"ok": True, "changed": False})
        elif status in ("PENDING", "NEW"):
            changed = False
        else:
            record(self.code, body=body, payment=payment, status=status, outcome="unknown status")
            return JsonResponse({"error": "unknown status"}, status=400)
        record(
            self.code,
            body=body,
            payment=payment,
            status=status,
            outcome="applied" if changed else "no change",
        )
        return JsonResponse({"ok": True, "changed": changed})

    def _refund_notification(self, data: dict, payment: Payment, body: bytes):
        from .refunds import refund_settled

        info = data.get("refund") or {}
        refund = PaymentRefund.objects.filter(
            payment=payment, reference=str(info.get("extRefundId", ""))
        ).first()
        if refund is None:
            record(self.code, body=body, payment=payment, status="refund", outcome="unknown refund")
            return JsonResponse({"error": "unknown refund"}, status=404)
        if str(info.get("amount")) != str(to_minor(refund.amount)):
            record(self.code, body=body, payment=payment, status="refund", outcome="refund mismatch")
            return JsonResponse({"error": "refund does not match"}, status=400)
        state = info.get("status", "")
        if state not in ("FINALIZED", "CANCELED"):
            record(self.code, body=body, payment=payment, status="refund", outcome="no change")
            return JsonResponse({"ok": True, "changed": False})
        changed = refund_settled(refund=refund, ok=state == "FINALIZED", message=state)
        record(
            self.code,
            body=body,
            payment=payment,
            status="refund",
            outcome="applied" if changed else "no change",
        )
        return JsonResponse({"ok": True, "changed": changed})
