"""Fakturownia (fakturownia.pl): invoices and corrections through its JSON API.

- ``POST https://{account}.fakturownia.pl/invoices.json`` with ``{"api_token": ..., "invoice": {...}}``
  creates a document (``kind`` ``vat`` or ``correction``) and answers it with its ``id`` and
  ``number``; ``GET /invoices.json`` lists (``page``, ``per_page`` ≤ 100, ``period``), ``GET
  /invoices/{id}.pdf`` is the PDF, ``POST /invoices/{id}/send_by_email.json`` emails it to the buyer.
- Every document carries ``oid`` (our reference: the order number, ``<number>-R<return>`` for a
  correction) with ``oid_unique: "yes"``, so Fakturownia itself refuses a second document with the
  same reference; after a timeout the next attempt looks the reference up (``GET
  /invoices.json?oid=...``) instead of sending again.
- A correction names the corrected invoice (``invoice_id`` and ``from_invoice_id``) and has one
  position per changed line: the difference (negative) plus ``correction_before_attributes`` and
  ``correction_after_attributes``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..connector_client import CircuitOpen, IntegrationHTTPError
from ..connectors.base import ConfigField, register
from .documents import Buyer, DocumentData
from .sink import (
    CORRECTIONS_FIELD,
    INVOICE_MODE_FIELD,
    ONLY_REQUESTED_FIELD,
    AmbiguousOutcome,
    DocumentRejected,
    DocumentSink,
    SendOutcome,
    TemporaryFailure,
)

ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
NAME_MAX = 255

PAYMENT_TYPES = {
    "cod": "cash_on_delivery",
    "bank_transfer": "transfer",
    "payu": "payu",
    "przelewy24": "Przelewy24",
    "stripe_checkout": "card",
    "test_gateway": "transfer",
}


def tax_value(vat_rate: str) -> int | str:
    """Fakturownia's ``tax``: the rate as a number, "zw" for exempt, "np" for outside VAT
    (a gift card sold)."""
    if vat_rate in ("zw", "np"):
        return vat_rate
    return int(vat_rate)


def amount(value: Decimal) -> str:
    return f"{value:.2f}"


def buyer_fields(buyer: Buyer) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "buyer_email": buyer.email,
        "buyer_street": buyer.street,
        "buyer_post_code": buyer.postal_code,
        "buyer_city": buyer.city,
        "buyer_country": buyer.country,
    }
    if buyer.is_company:
        fields.update(
            buyer_company=True,
            buyer_name=(buyer.company_name or buyer.name)[:NAME_MAX],
            buyer_tax_no=buyer.tax_id,
        )
    else:
        fields.update(
            buyer_company=False,
            buyer_name=buyer.name[:NAME_MAX],
            buyer_first_name=buyer.first_name[:NAME_MAX],
            buyer_last_name=buyer.last_name[:NAME_MAX],
        )
    return {k: v for k, v in fields.items() if v not in ("", None)}


@register
class FakturowniaConnector(DocumentSink):
    type = "fakturownia"
    label = gettext_lazy("Fakturownia (invoices)")
    document_kinds = frozenset({"invoice", "correction"})
    config_schema = (
        ConfigField(
            "account",
            gettext_lazy("Account (sub-domain)"),
            required=True,
            help=gettext_lazy("The part before .fakturownia.pl, e.g. 'mojafirma'."),
        ),
        ConfigField(
            "api_token",
            gettext_lazy("API token"),
            secret=True,
            help=gettext_lazy("Settings > Account settings > Integration > API authorisation code."),
        ),
        ConfigField(
            "api_url",
            gettext_lazy("API address"),
            "url",
            help=gettext_lazy("Empty: https://<account>.fakturownia.pl (set only for a custom domain)."),
        ),
        ConfigField(
            "department_id",
            gettext_lazy("Department id (seller)"),
            "int",
            min_value=1,
            max_value=10**12,
            help=gettext_lazy("Empty: the account's default company data."),
        ),
        INVOICE_MODE_FIELD,
        ONLY_REQUESTED_FIELD,
        CORRECTIONS_FIELD,
        ConfigField(
            "send_by_email",
            gettext_lazy("Email the invoice to the buyer from Fakturownia"),
            "bool",
            default=False,
        ),
    )

    @classmethod
    def validate_settings(cls, settings: dict[str, Any]) -> None:
        account = str(settings.get("account") or "").strip().lower()
        if not ACCOUNT_RE.match(account):
            raise ValidationError(
                {"account": [_("Enter the sub-domain only: lower-case letters, digits and hyphens.")]}
            )
        settings["account"] = account

    # --- HTTP --------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return (self.options.get("api_url") or f"https://{self.options['account']}.fakturownia.pl").rstrip(
            "/"
        )

    @property
    def token(self) -> str:
        token = self.secrets.get("api_token", "")
        if not token:
            raise DocumentRejected(_("No Fakturownia API token is stored for this connector."))
        return token

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            # The token goes in a header (Fakturownia's "Authorization: Bearer"), never in a URL
            # that logs and proxies would keep; a POST also carries it in the body as documented.
            headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
            with self.http_client(base_url=self.base_url, headers=headers) as client:
                return client.request(method, path, **kwargs)
        except CircuitOpen as exc:
            raise TemporaryFailure(str(exc)) from exc
        except IntegrationHTTPError as exc:
            # Timeouts and 5xx/429 after the client's own retries: it may have been processed.
            raise AmbiguousOutcome(str(exc)) from exc

    @staticmethod
    def _error_text(response: httpx.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            return response.text[:300]
        message = data.get("message", data) if isinstance(data, dict) else data
        if isinstance(message, dict):
            return "; ".join(
                f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
                for key, value in message.items()
            )[:500]
        return str(message)[:500]

    def _refused(self, response: httpx.Response) -> DocumentRejected:
        if response.status_code in (401, 403):
            return DocumentRejected(
                _("Fakturownia refused the API token (HTTP %(code)d): check the token and the account name.")
                % {"code": response.status_code}
            )
        return DocumentRejected(
            _("Fakturownia refused the document (HTTP %(code)d): %(error)s")
            % {"code": response.status_code, "error": self._error_text(response)}
        )

    # --- payloads ----------------------------------------------------------------------------------

    def _common(self, data: DocumentData) -> dict[str, Any]:
        invoice: dict[str, Any] = {
            "number": None,
            "sell_date": data.sale_date.isoformat(),
            "issue_date": data.issue_date.isoformat(),
            "payment_to": data.issue_date.isoformat(),
            "payment_type": PAYMENT_TYPES.get(
                data.payment_provider, data.payment_method_name[:60] or "transfer"
            ),
            "currency": data.currency,
            "lang": "pl",
            "oid": data.reference,
            "oid_unique": "yes",
            **buyer_fields(data.buyer),
        }
        if self.options.get("department_id"):
            invoice["department_id"] = self.options["department_id"]
        return invoice

    def invoice_payload(self, data: DocumentData) -> dict[str, Any]:
        invoice = self._common(data)
        invoice.update(
            kind="vat",
            status="paid",
            paid=amount(data.total_gross),
            paid_date=data.sale_date.isoformat(),
            positions=[
                {
                    "name": p.name[:NAME_MAX],
                    "code": p.sku,
                    "tax": tax_value(p.vat_rate),
                    "total_price_gross": amount(p.gross),
                    "quantity": p.quantity,
                    "quantity_unit": "szt.",
                }
                for p in data.positions
            ],
        )
        return invoice

    def correction_payload(self, data: DocumentData) -> dict[str, Any]:
        invoice = self._common(data)
        positions = []
        for c in data.corrections:
            if not c.changed:
                continue
            before = {
                "name": c.name[:NAME_MAX],
                "quantity": c.before_quantity,
                "total_price_gross": amount(c.before_gross),
                "tax": tax_value(c.vat_rate),
                "kind": "correction_before",
            }
            after = {**before, "quantity": c.after_quantity, "total_price_gross": amount(c.after_gross)}
            after["kind"] = "correction_after"
            positions.append(
                {
                    "name": c.name[:NAME_MAX],
                    "code": c.sku,
                    "quantity": c.after_quantity - c.before_quantity,
                    "total_price_gross": amount(c.after_gross - c.before_gross),
                    "tax": tax_value(c.vat_rate),
                    "kind": "correction",
                    "correction_before_attributes": before,
                    "correction_after_attributes": after,
                }
            )
        invoice.update(
            kind="correction",
            invoice_id=data.corrects_id,
            from_invoice_id=data.corrects_id,
            correction_reason=(data.reason or _("Return of goods"))[:255],
            positions=positions,
        )
        return invoice

    # --- the sink ----------------------------------------------------------------------------------

    def send_document(self, document, data: DocumentData) -> SendOutcome:
        if data.kind == "correction":
            if not data.corrects_id:
                raise DocumentRejected(_("The corrected invoice has no Fakturownia id."))
            invoice = self.correction_payload(data)
            if not invoice["positions"]:
                raise DocumentRejected(_("The return changes no position of the invoice."))
        else:
            invoice = self.invoice_payload(data)
        # oid_unique makes the create idempotent: a re-sent POST is refused as a duplicate oid.
        response = self._request(
            "POST", "/invoices.json", json={"api_token": self.token, "invoice": invoice}, idempotent=True
        )
        if response.status_code in (200, 201):
            outcome = self._outcome(response, invoice)
            if data.kind == "invoice" and self.options.get("send_by_email"):
                outcome.warnings += self._send_by_email(outcome.external_id)
            return outcome
        if response.status_code in (400, 422) and "oid" in self._error_text(response).lower():
            # Our reference is taken: an earlier attempt created it (its answer was lost).
            existing = self.find_existing(document, data)
            if existing is not None:
                existing.payload = invoice
                return existing
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise self._refused(response)
        raise AmbiguousOutcome(_("HTTP %(code)d from Fakturownia") % {"code": response.status_code})

    def _outcome(self, response: httpx.Response, invoice: dict) -> SendOutcome:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not str(body.get("id") or "").strip():
            raise AmbiguousOutcome(
                _("Fakturownia answered without a readable document id: %(body)s")
                % {"body": response.text[:200]}
            )
        return SendOutcome(
            external_id=str(body["id"])[:64],
            external_number=str(body.get("number") or "")[:100],
            payload=invoice,
        )

    def _send_by_email(self, external_id: str) -> list[str]:
        try:
            response = self._request("POST", f"/invoices/{external_id}/send_by_email.json")
        except (AmbiguousOutcome, TemporaryFailure) as exc:
            return [_("The invoice was created but not emailed: %(e)s") % {"e": exc}]
        if response.status_code >= 300:
            return [
                _("The invoice was created but not emailed (HTTP %(code)d).") % {"code": response.status_code}
            ]
        return []

    def find_existing(self, document, data: DocumentData) -> SendOutcome | None:
        wanted_kind = "correction" if data.kind == "correction" else "vat"
        response = self._request(
            "GET",
            "/invoices.json",
            params={
                "oid": data.reference,
                "period": "all",
                "per_page": 100,
                "page": 1,
            },
        )
        if response.status_code in (401, 403):
            raise self._refused(response)
        if response.status_code != 200:
            raise TemporaryFailure(
                _("Could not look the document up in Fakturownia (HTTP %(code)d).")
                % {"code": response.status_code}
            )
        try:
            rows = response.json()
        except ValueError as exc:
            raise TemporaryFailure(_("Fakturownia's invoice list is not valid JSON.")) from exc
        if not isinstance(rows, list):
            raise TemporaryFailure(_("Fakturownia's invoice list is not a list."))
        for row in rows:
            if (
                isinstance(row, dict)
                and str(row.get("oid") or "") == data.reference
                and row.get("kind", wanted_kind) == wanted_kind
                and row.get("id")
            ):
                return SendOutcome(
                    external_id=str(row["id"])[:64], external_number=str(row.get("number") or "")[:100]
                )
        return None

    def test_connection(self) -> str:
        response = self._request("GET", "/invoices.json", params={"per_page": 1, "page": 1})
        if response.status_code != 200:
            raise self._refused(response)
        try:
            response.json()
        except ValueError as exc:
            raise DocumentRejected(
                _("Fakturownia answered, but not with JSON: is the address right?")
            ) from exc
        return _("Connected to Fakturownia account %(account)s.") % {"account": self.options["account"]}

    def fetch_pdf(self, document) -> bytes | None:
        if not document.external_id:
            return None
        response = self._request("GET", f"/invoices/{document.external_id}.pdf")
        if response.status_code != 200 or not response.content.startswith(b"%PDF"):
            raise DocumentRejected(
                _("Fakturownia did not return a PDF (HTTP %(code)d).") % {"code": response.status_code}
            )
        return response.content
