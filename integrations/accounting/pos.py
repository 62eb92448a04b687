"""POS / fiscal printer hand-off: a paid order's receipt as a documented JSON payload, dropped in a
directory or POSTed to an HTTP endpoint.

A fiscal printer cannot be driven from a web server, but the program next to it (a BSX/Posnet
printer driver, a POS such as Dotykačka with an import hook, a small script) can pick the receipt
up. The payload (``docs/integrations.md``, "POS receipt payload") has the lines with their PTU
letters (A = 23 %, B = 8 %, C = 5 %, D = 0 %, E = exempt, as Polish fiscal printers program them;
F and G are free and can be mapped), the payment type, totals per PTU letter and the buyer's NIP
for a "paragon z NIP".

- Directory: one file per receipt, ``<order number>.json``, written to a temporary file and linked
  into place, so a reader never sees half a file and an existing receipt is never overwritten (a
  second delivery with the same content is a no-op, with different content an error).
- HTTP: ``POST`` with ``Idempotency-Key: <receipt id>`` and ``X-Koszyk-Signature: t=<unix>,
  v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; any 2xx is a hand-off.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import tempfile
import time
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import vat

from ..connector_client import CircuitOpen, IntegrationHTTPError
from ..connectors.base import ConfigField, register
from .documents import NOT_SUBJECT, VAT_RATES, DocumentData
from .sink import AmbiguousOutcome, DocumentRejected, DocumentSink, SendOutcome, TemporaryFailure

PAYLOAD_FORMAT = "koszyk.pos-receipt"
PAYLOAD_VERSION = 1
DEFAULT_PTU = {"23": "A", "8": "B", "5": "C", "0": "D", "zw": "E"}
PTU_LETTERS = set("ABCDEFG")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
SUBDIR_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SIGNATURE_HEADER = "X-Koszyk-Signature"

PAYMENT_TYPES = {
    "cod": "cash",
    "stripe_checkout": "card",
    "bank_transfer": "transfer",
    "przelewy24": "transfer",
    "payu": "transfer",
    "test_gateway": "transfer",
}


def receipt_filename(order_number: str) -> str:
    name = SAFE_NAME.sub("_", order_number).strip("._") or "receipt"
    return f"{name[:120]}.json"


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _net(gross: Decimal, rate: str) -> Decimal:
    """Net of a rate's gross total: VAT per rate from the gross (orders.vat, art. 106e ust. 7-8)."""
    return vat.split(gross, rate)[0]


def receipt_payload(data: DocumentData, *, ptu: dict[str, str], name_length: int, store) -> dict[str, Any]:
    lines = []
    totals: dict[str, dict[str, Decimal | str]] = OrderedDict()
    for p in data.positions:
        # A gift card sold is outside VAT (a multi-purpose voucher is no supply): it is no fiscal
        # sale, so it has no PTU letter and stays out of the per-rate summary.
        fiscal = p.vat_rate != NOT_SUBJECT
        letter = ptu[p.vat_rate] if fiscal else None
        for quantity, unit in p.unit_splits():
            lines.append(
                {
                    "name": p.name[:name_length],
                    "full_name": p.name,
                    "sku": p.sku,
                    "quantity": quantity,
                    "unit_price": f"{unit:.2f}",
                    "total": f"{unit * quantity:.2f}",
                    "vat_rate": p.vat_rate,
                    "ptu": letter,
                    "fiscal": fiscal,
                }
            )
        if not fiscal:
            continue
        group = totals.setdefault(letter, {"ptu": letter, "vat_rate": p.vat_rate, "gross": Decimal("0.00")})
        group["gross"] += p.gross
    summary = []
    for group in sorted(totals.values(), key=lambda g: g["ptu"]):
        net = _net(group["gross"], group["vat_rate"])
        summary.append(
            {
                "ptu": group["ptu"],
                "vat_rate": group["vat_rate"],
                "gross": f"{group['gross']:.2f}",
                "net": f"{net:.2f}",
                "vat": f"{group['gross'] - net:.2f}",
            }
        )
    return {
        "format": PAYLOAD_FORMAT,
        "version": PAYLOAD_VERSION,
        "receipt_id": data.reference,
        "order_number": data.order_number,
        "created_at": timezone.now().isoformat(timespec="seconds"),
        "sale_date": data.sale_date.isoformat(),
        "store": {"name": store.company_name or store.name, "tax_id": store.company_tax_id},
        "currency": data.currency,
        "buyer_tax_id": data.buyer.tax_id or None,
        "lines": lines,
        "vat_summary": summary,
        "payments": [
            {
                "type": PAYMENT_TYPES.get(data.payment_provider, "other"),
                "name": data.payment_method_name,
                "amount": f"{data.total_gross:.2f}",
            }
        ],
        "total": f"{data.total_gross:.2f}",
    }


def drop_root() -> Path:
    return Path(settings.ACCOUNTING_POS_DROP_ROOT)


@register
class PosDropConnector(DocumentSink):
    type = "pos_drop"
    label = gettext_lazy("POS / fiscal printer (file or HTTP drop)")
    document_kinds = frozenset({"receipt"})
    config_schema = (
        ConfigField(
            "target",
            gettext_lazy("Hand receipts over"),
            "choice",
            required=True,
            default="directory",
            choices=(
                ("directory", gettext_lazy("as files in a directory")),
                ("http", gettext_lazy("by HTTP POST")),
            ),
        ),
        ConfigField(
            "directory",
            gettext_lazy("Directory"),
            help=gettext_lazy(
                "A sub-directory of ACCOUNTING_POS_DROP_ROOT (letters, digits, '.', '_', '-')."
            ),
        ),
        ConfigField("endpoint_url", gettext_lazy("Endpoint URL"), "url"),
        ConfigField(
            "signing_secret",
            gettext_lazy("Signing secret"),
            secret=True,
            help=gettext_lazy("Signs every POST (X-Koszyk-Signature header)."),
        ),
        ConfigField(
            "only_without_invoice",
            gettext_lazy("Only orders without a company invoice"),
            "bool",
            default=True,
            help=gettext_lazy("On: orders whose buyer asked for a company invoice get no receipt."),
        ),
        ConfigField(
            "name_length",
            gettext_lazy("Longest line name the printer takes"),
            "int",
            default=40,
            min_value=8,
            max_value=255,
        ),
        ConfigField(
            "ptu_letters",
            gettext_lazy("PTU letter per VAT rate (JSON)"),
            "json",
            default=DEFAULT_PTU,
            help=gettext_lazy(
                'As programmed in the printer, e.g. {"23": "A", "8": "B", "5": "C", "0": "D", "zw": "E"}.'
            ),
        ),
    )

    @classmethod
    def validate_settings(cls, settings_: dict[str, Any]) -> None:
        errors: dict[str, list[str]] = {}
        if settings_.get("target") == "directory":
            directory = str(settings_.get("directory") or "").strip()
            if not SUBDIR_RE.match(directory) or ".." in directory:
                errors["directory"] = [
                    _("Enter a directory name (letters, digits, '.', '_', '-'), not a path.")
                ]
        elif not settings_.get("endpoint_url"):
            errors["endpoint_url"] = [_("Enter the endpoint URL.")]
        ptu = settings_.get("ptu_letters") or DEFAULT_PTU
        if (
            not isinstance(ptu, dict)
            or set(ptu) != set(VAT_RATES)
            or not all(isinstance(v, str) and v in PTU_LETTERS for v in ptu.values())
            or len(set(ptu.values())) != len(ptu)
        ):
            errors["ptu_letters"] = [_("Give each VAT rate (23, 8, 5, 0, zw) its own letter from A to G.")]
        if errors:
            raise ValidationError(errors)

    def wants(self, kind: str, order) -> bool:
        if kind != "receipt":
            return False
        return not (self.options.get("only_without_invoice", True) and order.wants_invoice)

    def payload(self, document, data: DocumentData) -> dict[str, Any]:
        return receipt_payload(
            data,
            ptu=self.options.get("ptu_letters") or DEFAULT_PTU,
            name_length=self.options.get("name_length") or 40,
            store=document.store,
        )

    def send_document(self, document, data: DocumentData) -> SendOutcome:
        if data.currency != "PLN":
            raise DocumentRejected(
                _("Fiscal receipts are printed in PLN; this order is in %(currency)s.")
                % {"currency": data.currency}
            )
        payload = self.payload(document, data)
        if self.options.get("target") == "http":
            return self._post(payload)
        return self._write(payload)

    # --- directory ---------------------------------------------------------------------------------

    def directory(self) -> Path:
        return drop_root() / self.options["directory"]

    def _write(self, payload: dict[str, Any]) -> SendOutcome:
        directory = self.directory()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TemporaryFailure(_("Cannot create the drop directory: %(e)s") % {"e": exc}) from exc
        final = directory / receipt_filename(payload["receipt_id"])
        comparable = {k: v for k, v in payload.items() if k != "created_at"}
        if final.exists():
            return self._existing(final, comparable, payload)
        body = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
        fd, tmp = tempfile.mkstemp(prefix=".receipt-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, final)  # fails if the file exists: never overwrites
            except FileExistsError:
                return self._existing(final, comparable, payload)
        except OSError as exc:
            raise TemporaryFailure(_("Cannot write the receipt file: %(e)s") % {"e": exc}) from exc
        finally:
            with_suppressed_unlink(tmp)
        return SendOutcome(external_id=final.name, payload=payload)

    @staticmethod
    def _existing(final: Path, comparable: dict, payload: dict) -> SendOutcome:
        try:
            old = json.loads(final.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if isinstance(old, dict) and {k: v for k, v in old.items() if k != "created_at"} == comparable:
            return SendOutcome(external_id=final.name, payload=payload)
        raise DocumentRejected(
            _("A different receipt file %(name)s is already in the drop directory; it was not overwritten.")
            % {"name": final.name}
        )

    # --- HTTP --------------------------------------------------------------------------------------

    def _post(self, payload: dict[str, Any]) -> SendOutcome:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": payload["receipt_id"],
        }
        secret = self.secrets.get("signing_secret", "")
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret=secret, body=body, timestamp=int(time.time()))
        try:
            with self.http_client(headers=headers) as client:
                # The receiver deduplicates on Idempotency-Key: sending again is safe.
                response = client.request("POST", self.options["endpoint_url"], content=body, idempotent=True)
        except CircuitOpen as exc:
            raise TemporaryFailure(str(exc)) from exc
        except IntegrationHTTPError as exc:
            # The receiver deduplicates on Idempotency-Key, so sending again is safe.
            raise TemporaryFailure(str(exc)) from exc
        if 200 <= response.status_code < 300:
            external = payload["receipt_id"]
            try:
                data = response.json()
                if isinstance(data, dict) and data.get("id"):
                    external = str(data["id"])
            except ValueError:
                pass
            return SendOutcome(external_id=external[:64], payload=payload)
        if 400 <= response.status_code < 500:
            raise DocumentRejected(
                _("The POS endpoint refused the receipt (HTTP %(code)d): %(body)s")
                % {"code": response.status_code, "body": response.text[:300]}
            )
        raise AmbiguousOutcome(_("HTTP %(code)d from the POS endpoint") % {"code": response.status_code})

    def test_connection(self) -> str:
        if self.options.get("target") == "http":
            try:
                with self.http_client(retries=0) as client:
                    response = client.request("HEAD", self.options["endpoint_url"])
            except IntegrationHTTPError as exc:
                raise TemporaryFailure(str(exc)) from exc
            return _("The endpoint answered HTTP %(code)d.") % {"code": response.status_code}
        directory = self.directory()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-", delete=True):
                pass
        except OSError as exc:
            raise DocumentRejected(
                _("Cannot write to %(dir)s: %(e)s") % {"dir": directory, "e": exc}
            ) from exc
        return _("Receipts are written to %(dir)s.") % {"dir": directory}


def with_suppressed_unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
