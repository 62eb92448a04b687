"""iFirma (ifirma.pl): domestic invoices and their corrections through the iFirma API ("iapi").

Authentication (api.ifirma.pl, "Nagłówek autoryzacji"): every request carries

    Authentication: IAPIS user=<login>, hmac-sha1=<hex>

where the HMAC-SHA1 key is the API key of the key name (here ``faktura``) hex-decoded to bytes,
and the message is the request URL without its query string + login + key name + the request body
(UTF-8; nothing for a GET). Answers are ``{"response": {"Kod": 0, "Informacja": ...,
"Identyfikator": ...}}``; a non-zero ``Kod`` is an error (400-403: the header, login or key; 201:
validation; 100: a technical problem at iFirma).

- ``POST /iapi/fakturakraj.json``: a domestic invoice (Polish field names, prices gross with
  ``LiczOd: "BRT"``); the full number comes from ``GET /iapi/fakturakraj/{id}.json`` (``PelnyNumer``).
- ``POST /iapi/fakturakraj/korekta/{id}.json``: the correction of invoice ``id``; its ``Pozycje``
  are the positions as they are after the correction.
- iFirma has no idempotency key: sending is never retried blindly. A POST is made once per attempt
  (no client-side retries), and when its outcome is unknown the next attempt lists the invoices of
  the issue date (``GET /iapi/faktury.json``) and adopts the one with our gross total and buyer.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..connector_client import CircuitOpen, IntegrationHTTPError
from ..connectors.base import ConfigField, register
from .documents import DocumentData, Position
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

KEY_NAME = "faktura"
DEFAULT_API_URL = "https://www.ifirma.pl/iapi"
AUTH_CODES = {400, 401, 402, 403, 499, 500}
NAME_MAX = 255

PAYMENT_TYPES = {
    "cod": "GTK",
    "bank_transfer": "PRZ",
    "payu": "ALG",
    "przelewy24": "ELE",
    "stripe_checkout": "KAR",
    "test_gateway": "ELE",
}


def signature(*, url: str, login: str, key_name: str, body: bytes, key_hex: str) -> str:
    """The hex HMAC-SHA1 iFirma expects (``url`` without its query string)."""
    try:
        key = binascii.unhexlify(key_hex.strip())
    except (binascii.Error, ValueError) as exc:
        raise DocumentRejected(_("The iFirma API key must be the hexadecimal key shown by iFirma.")) from exc
    message = url.split("?", 1)[0].encode() + login.encode() + key_name.encode() + body
    return hmac.new(key, message, hashlib.sha1).hexdigest()


def authentication_header(*, url: str, login: str, key_name: str, body: bytes, key_hex: str) -> str:
    digest = signature(url=url, login=login, key_name=key_name, body=body, key_hex=key_hex)
    return f"IAPIS user={login}, hmac-sha1={digest}"


def vat_fields(vat_rate: str) -> dict[str, Any]:
    if vat_rate == "zw":
        return {"TypStawkiVat": "ZW"}
    if vat_rate == "np":  # outside VAT: a gift card sold (multi-purpose voucher)
        return {"TypStawkiVat": "NP"}
    return {"StawkaVat": float(Decimal(vat_rate) / 100), "TypStawkiVat": "PRC"}


def positions_payload(positions: list[Position]) -> list[dict[str, Any]]:
    rows = []
    for p in positions:
        for quantity, unit in p.unit_splits() if p.quantity else [(0, p.gross)]:
            rows.append(
                {
                    **vat_fields(p.vat_rate),
                    "Ilosc": quantity,
                    "CenaJednostkowa": float(unit),
                    "NazwaPelna": p.name[:NAME_MAX],
                    "Jednostka": "szt.",
                }
            )
    return rows


@register
class IFirmaConnector(DocumentSink):
    type = "ifirma"
    label = gettext_lazy("iFirma (invoices)")
    document_kinds = frozenset({"invoice", "correction"})
    config_schema = (
        ConfigField("login", gettext_lazy("iFirma login"), required=True),
        ConfigField(
            "api_key",
            gettext_lazy("API key 'faktura'"),
            secret=True,
            help=gettext_lazy("Tools > API in iFirma: the hexadecimal key of the key name 'faktura'."),
        ),
        ConfigField("api_url", gettext_lazy("API address"), "url", default=DEFAULT_API_URL),
        ConfigField(
            "series",
            gettext_lazy("Numbering series"),
            help=gettext_lazy("Empty: iFirma's default series."),
        ),
        ConfigField("place", gettext_lazy("Place of issue")),
        INVOICE_MODE_FIELD,
        ONLY_REQUESTED_FIELD,
        CORRECTIONS_FIELD,
    )

    # --- HTTP --------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return (self.options.get("api_url") or DEFAULT_API_URL).rstrip("/")

    def _key(self) -> str:
        key = self.secrets.get("api_key", "")
        if not key:
            raise DocumentRejected(_("No iFirma API key is stored for this connector."))
        return key

    def _request(
        self, method: str, path: str, *, payload: dict | None = None, params: dict | None = None
    ) -> dict:
        url = f"{self.api_url}/{path}"
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8") if payload is not None else b""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json; charset=UTF-8",
            "Authentication": authentication_header(
                url=url, login=self.options["login"], key_name=KEY_NAME, body=body, key_hex=self._key()
            ),
        }
        # A POST creates a document and iFirma has no idempotency key: one try per attempt.
        retries = 0 if method == "POST" else None
        try:
            with self.http_client(retries=retries) as client:
                response = client.request(method, url, content=body or None, params=params, headers=headers)
        except CircuitOpen as exc:
            raise TemporaryFailure(str(exc)) from exc
        except IntegrationHTTPError as exc:
            if method == "POST":
                raise AmbiguousOutcome(str(exc)) from exc
            raise TemporaryFailure(str(exc)) from exc
        return self._answer(response, creating=method == "POST")

    @staticmethod
    def _answer(response: httpx.Response, *, creating: bool) -> dict:
        try:
            data = response.json()
        except ValueError:
            data = None
        inner = data.get("response") if isinstance(data, dict) else None
        if not isinstance(inner, dict) or "Kod" not in inner:
            if response.status_code in (401, 403):
                raise DocumentRejected(
                    _("iFirma refused the login or API key (HTTP %(code)d).") % {"code": response.status_code}
                )
            message = _("iFirma answered HTTP %(code)d without a readable response: %(body)s") % {
                "code": response.status_code,
                "body": response.text[:200],
            }
            if creating and response.status_code < 300:
                raise AmbiguousOutcome(message)
            if 400 <= response.status_code < 500:
                raise DocumentRejected(message)
            raise (AmbiguousOutcome if creating else TemporaryFailure)(message)
        try:
            code = int(inner.get("Kod"))
        except (TypeError, ValueError):
            code = -1
        info = str(inner.get("Informacja") or "")[:500]
        if code == 0:
            return inner
        if code in AUTH_CODES:
            raise DocumentRejected(
                _(
                    "iFirma refused the authentication (code %(code)d: %(info)s): check the login and the 'faktura' key."
                )
                % {"code": code, "info": info}
            )
        if code == 100:
            raise (AmbiguousOutcome if creating else TemporaryFailure)(
                _("iFirma reported a technical problem (code 100): %(info)s") % {"info": info}
            )
        raise DocumentRejected(
            _("iFirma refused the document (code %(code)d): %(info)s") % {"code": code, "info": info}
        )

    # --- payloads ----------------------------------------------------------------------------------

    def _contractor(self, data: DocumentData) -> dict[str, Any]:
        buyer = data.buyer
        contractor: dict[str, Any] = {
            "Nazwa": (buyer.company_name if buyer.is_company and buyer.company_name else buyer.name)[
                :NAME_MAX
            ],
            "Ulica": buyer.street,
            "KodPocztowy": buyer.postal_code,
            "Miejscowosc": buyer.city,
            "Kraj": "Polska" if buyer.country == "PL" else buyer.country,
            "Email": buyer.email,
            "OsobaFizyczna": not buyer.is_company,
        }
        if buyer.is_company:
            contractor["NIP"] = buyer.tax_id
        return {k: v for k, v in contractor.items() if v != ""}

    def invoice_payload(self, data: DocumentData, *, bank_account: str = "") -> dict[str, Any]:
        payload: dict[str, Any] = {
            "Zaplacono": float(data.total_gross),
            "ZaplaconoNaDokumencie": float(data.total_gross),
            "LiczOd": "BRT",
            "DataWystawienia": data.issue_date.isoformat(),
            "DataSprzedazy": data.sale_date.isoformat(),
            "FormatDatySprzedazy": "DZN",
            "SposobZaplaty": PAYMENT_TYPES.get(data.payment_provider, "PRZ"),
            "RodzajPodpisuOdbiorcy": "BPO",
            "Uwagi": _("Order %(number)s") % {"number": data.order_number},
            "Pozycje": positions_payload(data.positions),
            "Kontrahent": self._contractor(data),
        }
        if bank_account:
            payload["NumerKontaBankowego"] = bank_account.replace(" ", "")[:28]
        if self.options.get("place"):
            payload["MiejsceWystawienia"] = self.options["place"][:50]
        if self.options.get("series"):
            payload["NazwaSeriiNumeracji"] = self.options["series"]
        return payload

    def correction_payload(self, data: DocumentData) -> dict[str, Any]:
        return {
            "DataWystawienia": data.issue_date.isoformat(),
            "PowodKorekty": "ZWR_SPRZ_TOW",
            "Zaplacono": 0,
            "SposobZaplaty": PAYMENT_TYPES.get(data.payment_provider, "PRZ"),
            "RodzajPodpisuOdbiorcy": "BPO",
            "SpelnionoWarunki": True,
            "Uwagi": (data.reason or "")[:200],
            "Pozycje": positions_payload(data.after_positions),
        }

    # --- the sink ----------------------------------------------------------------------------------

    def send_document(self, document, data: DocumentData) -> SendOutcome:
        if data.currency != "PLN":
            raise DocumentRejected(
                _("iFirma domestic invoices are in PLN; this order is in %(currency)s.")
                % {"currency": data.currency}
            )
        if data.kind == "correction":
            if not data.corrects_id:
                raise DocumentRejected(_("The corrected invoice has no iFirma id."))
            payload = self.correction_payload(data)
            path = f"fakturakraj/korekta/{data.corrects_id}.json"
        else:
            payload = self.invoice_payload(data, bank_account=document.store.bank_account)
            path = "fakturakraj.json"
        answer = self._request("POST", path, payload=payload)
        external_id = str(answer.get("Identyfikator") or "").strip()
        if not external_id:
            raise AmbiguousOutcome(_("iFirma accepted the document but sent no id."))
        outcome = SendOutcome(external_id=external_id[:64], payload=payload)
        try:
            outcome.external_number = self.number_of(external_id, correction=data.kind == "correction")
        except (TemporaryFailure, DocumentRejected) as exc:
            outcome.warnings.append(_("Created, but its number could not be read: %(e)s") % {"e": exc})
        return outcome

    def number_of(self, external_id: str, *, correction: bool = False) -> str:
        path = f"fakturakraj/korekta/{external_id}.json" if correction else f"fakturakraj/{external_id}.json"
        answer = self._request("GET", path)
        result = answer.get("Wynik")
        number = answer.get("PelnyNumer") or (result.get("PelnyNumer") if isinstance(result, dict) else "")
        return str(number or "")[:100]

    def find_existing(self, document, data: DocumentData) -> SendOutcome | None:
        from .models import ExternalDocument

        day = data.issue_date.isoformat()
        answer = self._request(
            "GET", "faktury.json", params={"dataOd": day, "dataDo": day, "iloscNaStronie": 100}
        )
        rows = answer.get("Wynik") or []
        if not isinstance(rows, list):
            raise TemporaryFailure(_("iFirma's invoice list has an unexpected shape."))
        known = set(
            ExternalDocument.objects.filter(config_id=document.config_id)
            .exclude(pk=document.pk)
            .exclude(external_id="")
            .values_list("external_id", flat=True)
        )
        wanted = data.total_gross if data.kind != "correction" else data.correction_delta
        buyer = (
            data.buyer.company_name if data.buyer.is_company and data.buyer.company_name else data.buyer.name
        )
        candidates = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("FakturaId"):
                continue
            if str(row["FakturaId"]) in known:
                continue
            try:
                gross = Decimal(str(row.get("Brutto")))
            except (InvalidOperation, ValueError):
                continue
            name = row.get("NazwaKontrahenta") or row.get("KontrahentNazwa")
            if gross == wanted and (name is None or str(name).strip() == buyer.strip()):
                candidates.append(row)
        if len(candidates) > 1:
            raise DocumentRejected(
                _(
                    "iFirma has %(n)d invoices of %(day)s with this total and buyer; check which one is this order's and enter its id by hand."
                )
                % {"n": len(candidates), "day": day}
            )
        if not candidates:
            return None
        row = candidates[0]
        return SendOutcome(
            external_id=str(row["FakturaId"])[:64], external_number=str(row.get("PelnyNumer") or "")[:100]
        )

    def test_connection(self) -> str:
        from django.utils import timezone

        day = timezone.localdate().isoformat()
        self._request("GET", "faktury.json", params={"dataOd": day, "dataDo": day, "iloscNaStronie": 1})
        return _("Connected to iFirma as %(login)s.") % {"login": self.options["login"]}
