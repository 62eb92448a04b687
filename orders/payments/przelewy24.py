"""Przelewy24 REST v1 (also BLIK): https://developers.przelewy24.pl/

1. ``start`` registers the transaction (``POST /api/v1/transaction/register``, HTTP Basic
   posId:apiKey) with our ``Payment.reference`` as ``sessionId`` and sends the shopper to
   ``/trnRequest/{token}``.
2. P24 notifies ``urlStatus`` (successful payments only) until we verify. ``handle_notification``
   checks the ``sign`` first, then merchant/pos ids, amount and currency against the payment,
   then calls ``PUT /api/v1/transaction/verify``; only a successful verify marks the payment paid
   (without it P24 does not settle the money). A repeated notification is answered 200 and
   changes nothing.
3. Refunds: ``POST /api/v1/transaction/refund``; P24 confirms each refund later with a signed
   notification to the refund's ``urlStatus`` (the same webhook; told apart by ``refundsUuid``).
   A refusal (409 for a repeated ``refundsUuid`` after a lost answer, or any other 4xx) is checked
   against ``GET /api/v1/refund/by/orderId/{orderId}`` first: a refund under our ``requestId``
   there is never "failed".

``sign`` is the SHA-384 hex of the compact JSON (``separators=(",", ":")``,
``ensure_ascii=False``) of the documented fields in the documented order, CRC key last.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..external_accounts import AccountField, digits_only
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
API = "/api/v1"
CODE = "przelewy24"
BLIK_CODE = re.compile(r"^\d{6}$")
LANGUAGES = ("bg", "cs", "de", "en", "es", "fr", "hr", "hu", "it", "nl", "pl", "pt", "se", "sk", "ro")

REGISTER_FIELDS = ("sessionId", "merchantId", "amount", "currency")
NOTIFICATION_FIELDS = (
    "merchantId",
    "posId",
    "sessionId",
    "amount",
    "originAmount",
    "currency",
    "orderId",
    "methodId",
    "statement",
)
VERIFY_FIELDS = ("sessionId", "orderId", "amount", "currency")
REFUND_NOTIFICATION_FIELDS = (
    "orderId",
    "sessionId",
    "refundsUuid",
    "merchantId",
    "amount",
    "currency",
    "status",
)


def sign(fields: dict, crc: str) -> str:
    """SHA-384 hex of the compact JSON of ``fields`` (in their order) with ``crc`` last."""
    text = json.dumps({**fields, "crc": crc}, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha384(text.encode("utf-8")).hexdigest()


def sign_of(data: dict, names: tuple[str, ...], crc: str) -> str:
    return sign({name: data[name] for name in names}, crc)


@register
class Przelewy24(PaymentProvider):
    code = CODE
    webhook_slug = "przelewy24"
    is_online = True
    supports_refunds = True
    url_settings = ("PRZELEWY24_URL", "PRZELEWY24_SANDBOX_URL")  # (production, sandbox)
    account_fields = (
        AccountField(
            "merchant_id",
            gettext_lazy("Merchant ID"),
            required=True,
            validators=(digits_only(gettext_lazy("Przelewy24 ids are numbers.")),),
        ),
        AccountField(
            "pos_id",
            gettext_lazy("POS ID"),
            validators=(digits_only(gettext_lazy("Przelewy24 ids are numbers.")),),
        ),
        AccountField(
            "blik",
            gettext_lazy("BLIK by code in the shop (Przelewy24)"),
            kind="bool",
            default=lambda: settings.PRZELEWY24_BLIK_ENABLED,
            help_text=gettext_lazy(
                "Only when BLIK is switched on for your Przelewy24 account (a separate service at P24)."
            ),
        ),
        AccountField("api_key", gettext_lazy("API key (reports key)"), secret=True, required=True),
        AccountField("crc", gettext_lazy("CRC key"), secret=True, required=True),
    )

    # --- calls ----------------------------------------------------------------------------------

    def _call(self, account, method: str, path: str, body: dict | None = None) -> dict:
        response = call(
            method,
            account.base_url + API + path,
            gateway=self.code,
            auth=(account.get("pos_id") or account.get("merchant_id"), account.secret("api_key")),
            json=body,
        )
        data = json_of(response, gateway=self.code)
        if response.status_code >= 400:
            log.warning("przelewy24: %s %s refused (%s): %s", method, path, response.status_code, data)
            raise PaymentGatewayError(
                _("The payment gateway refused the request."), status=response.status_code, detail=str(data)
            )
        return data

    @staticmethod
    def _ids(account) -> tuple[int, int]:
        merchant = int(account.get("merchant_id"))
        return merchant, int(account.get("pos_id") or merchant)

    def register(self, payment: Payment, *, psu: dict | None = None) -> str:
        """Register ``payment`` at P24; returns the token (reused when already registered)."""
        session = opened_session(payment)
        if session is not None:
            return session.token
        account = account_for(payment, self.code, active_only=True)
        merchant_id, pos_id = self._ids(account)
        order = payment.order
        amount = to_minor(payment.amount)
        language = (order.language or "pl")[:2]
        body = {
            "merchantId": merchant_id,
            "posId": pos_id,
            "sessionId": payment.reference,
            "amount": amount,
            "currency": payment.currency,
            "description": _("Order %(number)s") % {"number": order.number},
            "email": order.email,
            "country": "PL",
            "language": language if language in LANGUAGES else "en",
            "urlReturn": return_url(payment),
            "urlStatus": webhook_url(order.store, self.webhook_slug),
            "sign": sign(
                {
                    "sessionId": payment.reference,
                    "merchantId": merchant_id,
                    "amount": amount,
                    "currency": payment.currency,
                },
                account.secret("crc"),
            ),
        }
        if psu:
            body["additional"] = {"PSU": psu}
        data = self._call(account, "POST", "/transaction/register", body)
        token = str((data.get("data") or {}).get("token") or "")
        if not token:
            raise PaymentGatewayError(
                _("The payment gateway gave an answer we cannot read."), detail=str(data)
            )
        remember_session(
            payment, provider=self.code, token=token, redirect_url=f"{account.base_url}/trnRequest/{token}"
        )
        Payment.objects.filter(pk=payment.pk).update(gateway_reference=token)
        payment.gateway_reference = token
        return token

    def start(self, payment: Payment) -> PaymentStart:
        if payment.status != Payment.Status.PENDING:
            return PaymentStart()
        self.register(payment)
        return PaymentStart(redirect_url=opened_session(payment).redirect_url)

    def charge_blik(self, payment: Payment, *, code: str, ip: str, user_agent: str) -> int:
        """BLIK level 0: register with the payer's IP and user agent, then charge the 6-digit
        code the shopper typed; returns P24's orderId. The result arrives as a notification."""
        code = (code or "").strip()
        if not BLIK_CODE.match(code):
            raise PaymentGatewayError(_("A BLIK code has 6 digits."))
        if opened_session(payment) is None:
            self.register(payment, psu={"IP": ip, "userAgent": user_agent[:255]})
        account = account_for(payment, self.code)
        token = opened_session(payment).token
        data = self._call(
            account, "POST", "/paymentMethod/blik/chargeByCode", {"token": token, "blikCode": code}
        )
        return int((data.get("data") or {}).get("orderId") or 0)

    def verify(self, payment: Payment, notification: dict) -> bool:
        account = account_for(payment, self.code)
        merchant_id, pos_id = self._ids(account)
        body = {
            "merchantId": merchant_id,
            "posId": pos_id,
            "sessionId": payment.reference,
            "amount": notification["amount"],
            "currency": notification["currency"],
            "orderId": notification["orderId"],
        }
        body["sign"] = sign_of(body, VERIFY_FIELDS, account.secret("crc"))
        data = self._call(account, "PUT", "/transaction/verify", body)
        return (data.get("data") or {}).get("status") == "success"

    def refund(self, payment: Payment, amount, *, reference: str, reason: str = "") -> RefundResult:
        account = account_for(payment, self.code)
        body = {
            "requestId": reference,
            "refunds": [
                {
                    "orderId": int(payment.gateway_reference),
                    "sessionId": payment.reference,
                    "amount": to_minor(amount),
                    "description": (reason or _("Refund"))[:35],
                }
            ],
            "refundsUuid": reference[:35],
            "urlStatus": webhook_url(payment.order.store, self.webhook_slug),
        }
        try:
            data = self._call(account, "POST", "/transaction/refund", body)
        except PaymentGatewayError as exc:
            if not exc.status or exc.status >= 500 or exc.status == 429:
                raise
            # A repeated refundsUuid (a request whose answer was lost) is refused with 409, whose
            # wording P24 does not document: a refund under our requestId at P24 is the answer.
            found = self.find_refund(payment, reference=reference)
            if found is not None:
                return found
            return RefundResult(status="failed", message=exc.detail[:255] or exc.message)
        items = data.get("data") or []
        if items and all(item.get("status") is True for item in items):
            return RefundResult(status="pending", gateway_reference=reference, message="accepted")
        return RefundResult(status="failed", message=str(items)[:255])

    def find_refund(self, payment: Payment, *, reference: str) -> RefundResult | None:
        """The refund P24 made under our ``requestId`` (``GET /refund/by/orderId/{orderId}``), or
        None when it has none (404 "Refund with given Order Id not found"). Unreachable:
        PaymentGatewayError."""
        account = account_for(payment, self.code)
        try:
            data = self._call(account, "GET", f"/refund/by/orderId/{int(payment.gateway_reference)}")
        except PaymentGatewayError as exc:
            if exc.status == 404:
                return None
            raise
        found = data.get("data") if isinstance(data.get("data"), dict) else {}
        refunds = found.get("refunds")
        for refund in refunds if isinstance(refunds, list) else []:
            if isinstance(refund, dict) and str(refund.get("requestId", "")) == reference:
                # P24 refund statuses: 1 completed, 2 pending, 3 waiting for acceptance, 4 rejected
                state = {1: "succeeded", 4: "failed"}.get(refund.get("status"), "pending")
                return RefundResult(
                    status=state,
                    gateway_reference=reference,
                    message=f"found at Przelewy24: status {refund.get('status')}",
                )
        return None

    def lookup(self, payment: Payment) -> PaymentLookup:
        account = account_for(payment, self.code)
        data = self._call(account, "GET", f"/transaction/by/sessionId/{payment.reference}").get("data") or {}
        # P24 statuses: 0 no payment, 1 advance payment, 2 payment made, 3 payment returned
        status = {
            0: Payment.Status.PENDING,
            1: Payment.Status.PENDING,
            2: Payment.Status.PAID,
            3: Payment.Status.REFUNDED,
        }
        return PaymentLookup(
            status=status.get(data.get("status"), "unknown"),
            gateway_reference=str(data.get("orderId") or ""),
            amount=from_minor(data["amount"]) if "amount" in data else None,
            currency=data.get("currency", ""),
            raw=data,
        )

    def test_connection(self, account) -> ConnectionCheck:
        try:
            response = call(
                "GET",
                account.base_url + API + "/testAccess",
                gateway=self.code,
                auth=(account.get("pos_id") or account.get("merchant_id"), account.secret("api_key")),
            )
        except PaymentGatewayError as exc:
            return ConnectionCheck(ok=False, message=exc.message)
        if response.status_code == 200 and json_of(response, gateway=self.code).get("data") is True:
            return ConnectionCheck(ok=True, message=_("Connected."))
        if response.status_code == 401:
            return ConnectionCheck(ok=False, message=_("The gateway rejected the POS id or API key."))
        return ConnectionCheck(
            ok=False, message=_("The gateway answered %(status)s.") % {"status": response.status_code}
        )

    # --- notifications --------------------------------------------------------------------------

    def handle_notification(self, request):
        body = request.body
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            record(self.code, body=body, outcome="malformed body")
            return JsonResponse({"error": "malformed body"}, status=400)
        if "refundsUuid" in data:
            return self._refund_notification(data, body)
        if any(name not in data for name in (*NOTIFICATION_FIELDS, "sign")):
            record(self.code, body=body, outcome="malformed body")
            return JsonResponse({"error": "malformed body"}, status=400)
        session_id, received = str(data["sessionId"]), str(data["sign"])
        payment = (
            Payment.objects.select_related("order__store")
            .filter(reference=session_id, provider=self.code)
            .first()
        )
        if payment is None:
            record(self.code, body=body, outcome="unknown payment")
            return JsonResponse({"error": "unknown payment"}, status=404)
        account = GatewayAccount.for_payment(payment, self.code, active_only=False)
        if account is None:
            record(self.code, body=body, payment=payment, outcome="no gateway account")
            return JsonResponse({"error": "gateway not configured"}, status=404)
        if not hmac.compare_digest(sign_of(data, NOTIFICATION_FIELDS, account.secret("crc")), received):
            record(self.code, body=body, payment=payment, outcome="invalid signature")
            return JsonResponse({"error": "invalid signature"}, status=403)
        merchant_id, pos_id = self._ids(account)
        if data["merchantId"] != merchant_id or data["posId"] != pos_id:
            record(self.code, body=body, payment=payment, outcome="merchant or pos id mismatch")
            return JsonResponse({"error": "merchant or pos id does not match"}, status=400)
        if data["amount"] != to_minor(payment.amount) or data["currency"] != payment.currency:
            record(self.code, body=body, payment=payment, outcome="amount mismatch")
            return JsonResponse({"error": "amount or currency does not match the payment"}, status=400)
        if payment.status == Payment.Status.PAID:
            record(self.code, body=body, payment=payment, status="paid", outcome="no change")
            return JsonResponse({"ok": True, "changed": False})
        try:
            verified = self.verify(payment, data)
        except PaymentGatewayError as exc:
            record(self.code, body=body, payment=payment, outcome=f"verify failed: {exc.message}")
            # 5xx: P24 keeps notifying, and the next notification verifies again
            return JsonResponse({"error": "verification failed, retry later"}, status=502)
        if not verified:
            record(self.code, body=body, payment=payment, outcome="verify refused")
            return JsonResponse({"error": "verification refused"}, status=400)
        from ..services import payment_succeeded

        changed = payment_succeeded(payment=payment, gateway_reference=str(data["orderId"]))
        record(
            self.code,
            body=body,
            payment=payment,
            status="paid",
            outcome="applied" if changed else "no change",
        )
        return JsonResponse({"ok": True, "changed": changed})

    def _refund_notification(self, data: dict, body: bytes):
        from .refunds import refund_settled

        if any(name not in data for name in (*REFUND_NOTIFICATION_FIELDS, "sign")):
            record(self.code, body=body, outcome="malformed body")
            return JsonResponse({"error": "malformed body"}, status=400)
        received = str(data["sign"])
        refund = (
            PaymentRefund.objects.select_related("payment__order")
            .filter(reference=str(data["refundsUuid"]), payment__provider=self.code)
            .first()
        )
        if refund is None:
            record(self.code, body=body, outcome="unknown refund")
            return JsonResponse({"error": "unknown refund"}, status=404)
        account = GatewayAccount.for_payment(refund.payment, self.code, active_only=False)
        if account is None:
            record(self.code, body=body, payment=refund.payment, outcome="no gateway account")
            return JsonResponse({"error": "gateway not configured"}, status=404)
        if not hmac.compare_digest(
            sign_of(data, REFUND_NOTIFICATION_FIELDS, account.secret("crc")), received
        ):
            record(self.code, body=body, payment=refund.payment, outcome="invalid signature")
            return JsonResponse({"error": "invalid signature"}, status=403)
        if data["amount"] != to_minor(refund.amount) or data["sessionId"] != refund.payment.reference:
            record(self.code, body=body, payment=refund.payment, outcome="refund mismatch")
            return JsonResponse({"error": "refund does not match"}, status=400)
        changed = refund_settled(refund=refund, ok=data["status"] == 0, message=f"status {data['status']}")
        record(
            self.code,
            body=body,
            payment=refund.payment,
            status="refund",
            outcome="applied" if changed else "no change",
        )
        return JsonResponse({"ok": True, "changed": changed})
