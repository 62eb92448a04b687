"""Talking to KSeF API 2.0 through the ``ksef-client`` SDK (PyPI, MIT; httpx + cryptography).

The SDK does the protocol: the challenge, the KSeF token encrypted with the Ministry's public key
(RSA-OAEP SHA-256), redeeming the access token, the interactive session's AES-256-CBC key
(encrypted with the public key), the encrypted invoice with its hashes, status and UPO. This
module decides what an answer means for the shop:

- :class:`KsefUnavailable`: no answer, a timeout, HTTP 5xx or 429 -- KSeF is down or busy; the
  invoice goes on in offline mode and is sent again later.
- :class:`KsefRefused`: KSeF refused the request itself (401/403/4xx at authentication or
  session), e.g. a revoked token or missing permission; also retried, and shown to the merchant.
- an :class:`InvoiceStatus` with a code: 100/150 processing, 200 accepted (KSeF number), 440
  duplicate (the invoice is already in KSeF: its number is in ``extensions``), other 4xx rejected.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from ksef_client import KsefClient, KsefClientOptions
from ksef_client.exceptions import KsefHttpError
from ksef_client.models import FormCode
from ksef_client.services.workflows import AuthCoordinator, OnlineSessionWorkflow

from .fa3 import FORM_CODE

API_URLS = {
    "test": "https://api-test.ksef.mf.gov.pl",
    "demo": "https://api-demo.ksef.mf.gov.pl",
    "prod": "https://api.ksef.mf.gov.pl",
}
QR_URLS = {
    "test": "https://qr-test.ksef.mf.gov.pl",
    "demo": "https://qr-demo.ksef.mf.gov.pl",
    "prod": "https://qr.ksef.mf.gov.pl",
}
PROCESSING = {100, 150}
ACCEPTED = 200
DUPLICATE = 440


class KsefError(Exception):
    pass


class KsefUnavailable(KsefError):
    """KSeF did not answer usefully (network, timeout, 5xx, 429): try again later."""


class KsefRefused(KsefError):
    """KSeF refused the request (bad token, no permission, invalid request)."""


def api_url(environment: str) -> str:
    overrides = settings.KSEF_API_URLS
    return overrides.get(environment) or API_URLS.get(environment) or API_URLS["test"]


def qr_url(environment: str) -> str:
    overrides = settings.KSEF_QR_URLS
    return overrides.get(environment) or QR_URLS.get(environment) or QR_URLS["test"]


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


@dataclass
class InvoiceStatus:
    code: int
    description: str = ""
    details: list[str] = field(default_factory=list)
    ksef_number: str = ""
    acquisition_date: str = ""

    @property
    def processing(self) -> bool:
        return self.code in PROCESSING

    @property
    def accepted(self) -> bool:
        return self.code in (ACCEPTED, DUPLICATE) and bool(self.ksef_number)

    @property
    def reason(self) -> str:
        return " ".join([f"{self.code} {self.description}".strip(), *self.details]).strip()


@dataclass
class SubmitResult:
    session_reference: str
    invoice_reference: str
    status: InvoiceStatus
    upo: str = ""


def _wrap(exc: KsefHttpError) -> KsefError:
    status = exc.status_code or 0
    # No answer, a server error, throttling, or a success status with a body that is not the
    # documented JSON (a proxy's error page): KSeF is not usable right now.
    if status < 300 or status >= 500 or status in (408, 429):
        return KsefUnavailable(str(exc))
    return KsefRefused(str(exc))


def _status(answer) -> InvoiceStatus:
    info = answer.status
    extensions = getattr(info, "extensions", None) or {}
    number = getattr(answer, "ksef_number", None) or ""
    if info.code == DUPLICATE and not number:
        number = extensions.get("originalKsefNumber") or ""
    return InvoiceStatus(
        code=int(info.code),
        description=info.description or "",
        details=list(info.details or []),
        ksef_number=number or "",
        acquisition_date=getattr(answer, "acquisition_date", None) or "",
    )


class KsefConnection:
    """One conversation with KSeF for one context (the seller's NIP), authenticated with a KSeF
    token. Opened per task run: access tokens live minutes, sessions are cheap."""

    def __init__(
        self,
        *,
        environment: str,
        token: str,
        nip: str,
        timeout: float | None = None,
        poll_interval: float | None = None,
        poll_attempts: int | None = None,
    ) -> None:
        self.environment = environment
        self.token = token
        self.nip = nip
        self.timeout = timeout if timeout is not None else settings.KSEF_TIMEOUT
        self.poll_interval = poll_interval if poll_interval is not None else settings.KSEF_POLL_INTERVAL
        self.poll_attempts = poll_attempts if poll_attempts is not None else 5
        self.options = KsefClientOptions(
            base_url=api_url(environment),
            base_qr_url=qr_url(environment),
            timeout_seconds=self.timeout,
        )

    # --- steps ---------------------------------------------------------------------------------------

    def _certificate(self, client: KsefClient, usage: str):
        return client.security.get_public_key_certificate(usage)

    def _authenticate(self, client: KsefClient) -> str:
        certificate = self._certificate(client, "KsefTokenEncryption")
        result = AuthCoordinator(client.auth).authenticate_with_ksef_token(
            token=self.token,
            public_certificate=certificate.certificate,
            public_key_id=certificate.public_key_id,
            context_identifier_type="Nip",
            context_identifier_value=self.nip,
            poll_interval_seconds=self.poll_interval,
            max_attempts=max(self.poll_attempts, 1),
        )
        return result.access_token

    def _invoice_status(self, client, access: str, session_ref: str, invoice_ref: str) -> InvoiceStatus:
        status = InvoiceStatus(code=100)
        for attempt in range(max(self.poll_attempts, 1)):
            status = _status(
                client.sessions.get_session_invoice_status(session_ref, invoice_ref, access_token=access)
            )
            if not status.processing:
                return status
            if attempt + 1 < self.poll_attempts:
                time.sleep(self.poll_interval)
        return status

    def _upo(self, client, access: str, session_ref: str, invoice_ref: str) -> str:
        try:
            data = client.sessions.get_session_invoice_upo_by_ref(
                session_ref, invoice_ref, access_token=access
            )
        except KsefHttpError:
            return ""  # the UPO can be fetched on a later check
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")

    # --- what the task calls ---------------------------------------------------------------------------

    def submit(
        self,
        xml: bytes,
        *,
        offline: bool,
        on_sent: Callable[[str, str], None] | None = None,
    ) -> SubmitResult:
        """Authenticate, open an interactive session, send the invoice, wait briefly for its
        status, close the session. ``on_sent(session_ref, invoice_ref)`` runs as soon as KSeF took
        the invoice, so a crash afterwards checks its status instead of sending it twice."""
        try:
            with KsefClient(self.options) as client:
                access = self._authenticate(client)
                certificate = self._certificate(client, "SymmetricKeyEncryption")
                workflow = OnlineSessionWorkflow(client.sessions)
                session = workflow.open_session(
                    form_code=FormCode(
                        system_code=FORM_CODE["systemCode"],
                        schema_version=FORM_CODE["schemaVersion"],
                        value=FORM_CODE["value"],
                    ),
                    public_certificate=certificate.certificate,
                    public_key_id=certificate.public_key_id,
                    access_token=access,
                )
                sent = workflow.send_invoice(
                    session_reference_number=session.reference_number,
                    invoice_xml=xml,
                    encryption_data=session.encryption_data,
                    access_token=access,
                    offline_mode=offline,
                )
                if on_sent is not None:
                    on_sent(session.reference_number, sent.reference_number)
                status = self._invoice_status(client, access, session.reference_number, sent.reference_number)
                with contextlib.suppress(KsefHttpError):  # KSeF closes idle sessions itself
                    workflow.close_session(session.reference_number, access)
                upo = ""
                if status.code == ACCEPTED:
                    upo = self._upo(client, access, session.reference_number, sent.reference_number)
                return SubmitResult(session.reference_number, sent.reference_number, status, upo)
        except KsefHttpError as exc:
            raise _wrap(exc) from exc
        except (TimeoutError, RuntimeError) as exc:  # the SDK's auth polling gave up / auth failed
            raise KsefRefused(str(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:  # an answer the SDK could not read
            raise KsefUnavailable(f"unreadable answer: {exc}") from exc

    def check(self, session_reference: str, invoice_reference: str) -> tuple[InvoiceStatus, str]:
        """The status (and UPO once accepted) of an invoice sent earlier."""
        try:
            with KsefClient(self.options) as client:
                access = self._authenticate(client)
                status = self._invoice_status(client, access, session_reference, invoice_reference)
                upo = ""
                if status.code == ACCEPTED:
                    upo = self._upo(client, access, session_reference, invoice_reference)
                return status, upo
        except KsefHttpError as exc:
            raise _wrap(exc) from exc
        except (TimeoutError, RuntimeError) as exc:
            raise KsefRefused(str(exc)) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise KsefUnavailable(f"unreadable answer: {exc}") from exc
