"""SMS: a small provider interface, SMSAPI.pl over HTTP, and a console provider for development.

SMSAPI protocol used (https://www.smsapi.pl/docs, also spoken by tests/fakes/smsapi.py):
``POST {SMSAPI_URL}/sms.do`` with ``Authorization: Bearer <token>`` and form fields ``to``,
``message``, ``from`` (optional sender name), ``encoding=utf-8``, ``format=json``, ``idx`` (our
reminder key) and ``check_idx=1`` (the provider refuses a second message with the same idx:
error 53). Success: ``{"count": 1, "list": [{"id": "...", "points": 0.16, "number": "48...",
"date_sent": 1700000000, "submitted_number": "...", "status": "QUEUE"}]}``. Failure (HTTP 200 or
4xx): ``{"error": <code>, "message": "...", "invalid_numbers": [...]}``.
"""

from __future__ import annotations

import logging

from django.conf import settings

from shop import outbound, phones

from . import AmbiguousError, OutgoingMessage, PermanentError, TransientError, sms_configuration_problem

log = logging.getLogger(__name__)

DUPLICATE_IDX = 53
# Codes where trying again later may work (auth/credit problems the merchant can fix, and the
# provider's own internal errors and rate limits).
TRANSIENT_CODES = {8, 52, 101, 102, 103, 105, 200, 201, 202, 203, 999}


class ConsoleProvider:
    """Writes the SMS to the log: development and demos."""

    name = "console"
    idempotent = True

    def send(self, *, to: str, text: str, idx: str) -> str:
        log.info("SMS to %s (idx %s): %s", to, idx, text)
        return f"console-{idx}"


class SmsapiProvider:
    name = "smsapi"
    idempotent = True  # idx + check_idx=1

    def __init__(
        self, *, base_url: str, token: str, sender: str = "", timeout: float = 10, test: bool = False
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.sender = sender
        self.test = test
        # The shop's pooled outbound client; at most 100 requests a second from all workers
        # together. No retry inside the call: the reminder is retried with backoff by the sender
        # (the same idx, so the provider never sends a second SMS).
        self.partner = outbound.Partner(
            "smsapi",
            timeout=timeout,
            connect_timeout=min(timeout, 5.0),
            retries=0,
            max_bytes=1024 * 1024,
            rate_per_second=100,
            burst=10,
        )

    def send(self, *, to: str, text: str, idx: str) -> str:
        data = {
            "to": to,
            "message": text,
            "encoding": "utf-8",
            "format": "json",
            "idx": idx[:36],
            "check_idx": "1",
        }
        if self.sender:
            data["from"] = self.sender
        if self.test:
            data["test"] = "1"
        try:
            response = self.partner.request(
                "POST",
                f"{self.base_url}/sms.do",
                data=data,
                headers={"Authorization": f"Bearer {self.token}"},
                idempotent=True,  # idx + check_idx=1: the provider refuses a second message
            )
        except outbound.OutboundError as exc:
            if exc.kind == "status":
                raise TransientError(f"SMSAPI HTTP {exc.status}") from exc
            if not exc.maybe_sent:
                raise TransientError(f"SMSAPI unreachable: {exc}") from exc
            # The request may have arrived; resubmitting with the same idx is safe (check_idx).
            raise TransientError(f"SMSAPI request failed: {exc}") from exc
        if response.status_code >= 500:
            raise TransientError(f"SMSAPI HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"SMSAPI answered HTTP {response.status_code} without JSON") from exc
        if "error" in body:
            code = int(body.get("error") or 0)
            message = body.get("message", "")
            if code == DUPLICATE_IDX:
                return f"idx:{idx}"  # already accepted earlier: this is the confirmation
            if code in TRANSIENT_CODES:
                raise TransientError(f"SMSAPI error {code}: {message}")
            raise PermanentError(f"SMSAPI error {code}: {message}")
        items = body.get("list") or []
        if not items:
            raise AmbiguousError("SMSAPI answered without a message list")
        return str(items[0].get("id", ""))


def get_provider():
    problem = sms_configuration_problem()
    if problem:
        raise PermanentError(problem)
    if settings.RECOVERY_SMS_PROVIDER == "console":
        return ConsoleProvider()
    return SmsapiProvider(
        base_url=settings.SMSAPI_URL,
        token=settings.SMSAPI_TOKEN,
        sender=settings.SMSAPI_SENDER,
        timeout=settings.SMSAPI_TIMEOUT,
        test=settings.SMSAPI_TEST_MODE,
    )


class SmsChannel:
    name = "sms"
    resubmit_is_idempotent = True

    def send(self, message: OutgoingMessage) -> str:
        number = phones.sms_digits(message.to)
        if not number:
            raise PermanentError("no valid phone number")
        return get_provider().send(to=number, text=message.text, idx=message.idempotency_key)
