"""The sink interface every accounting and POS connector implements.

A sink receives :class:`~integrations.accounting.documents.DocumentData` for one
:class:`~integrations.accounting.models.ExternalDocument` and answers with a :class:`SendOutcome`
(the partner's id and number), or raises one of three errors that tell the sending service what to
do next:

- :class:`DocumentRejected`: the partner refused it for good (invalid token, validation error);
  the document fails at once with the partner's message, the merchant fixes and retries it.
- :class:`TemporaryFailure`: nothing reached the partner or it said "later" (429, maintenance);
  retried with backoff.
- :class:`AmbiguousOutcome`: the request may have been processed (timeout after sending, 5xx, an
  unreadable answer); the next attempt first asks the partner with :meth:`DocumentSink.find_existing`
  and only sends when nothing is found, so a timeout never makes a duplicate invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy

from ..connector_client import IntegrationHTTPError
from ..connectors.base import Capability, ConfigField, Connector

if TYPE_CHECKING:  # pragma: no cover
    from .documents import DocumentData
    from .models import ExternalDocument


class SinkError(IntegrationHTTPError):
    """Base of the errors a sink raises; the message is for the merchant. (An IntegrationHTTPError,
    so the generic connector admin's "test the connection" reports it like any other connector's.)"""


class DocumentRejected(SinkError):
    pass


class TemporaryFailure(SinkError):
    pass


class AmbiguousOutcome(SinkError):
    pass


@dataclass
class SendOutcome:
    external_id: str
    external_number: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class InvoiceMode:
    """How a connector's invoices relate to the shop's own PDF invoice."""

    IN_ADDITION = "in_addition"
    INSTEAD = "instead"
    NONE = "none"

    CHOICES = (
        (IN_ADDITION, gettext_lazy("in addition to the shop's own PDF invoice")),
        (INSTEAD, gettext_lazy("instead of the shop's own PDF invoice")),
        (NONE, gettext_lazy("do not send invoices")),
    )


INVOICE_MODE_FIELD = ConfigField(
    "invoice_mode",
    gettext_lazy("Invoices of paid orders"),
    "choice",
    # One sale, one VAT invoice: by default the connector issues it and the shop does not.
    default=InvoiceMode.INSTEAD,
    choices=InvoiceMode.CHOICES,
    help=gettext_lazy(
        "'Instead of' (recommended): the invoice is issued only here, the shop issues none. "
        "'In addition to' gives the buyer two VAT invoices for one sale: choose it only if the "
        "shop's PDF is not declared."
    ),
)
ONLY_REQUESTED_FIELD = ConfigField(
    "only_requested",
    gettext_lazy("Only when the buyer asked for an invoice"),
    "bool",
    default=False,
    help=gettext_lazy(
        "Off: every paid order gets an invoice. On: only orders with 'company invoice requested'."
    ),
)
CORRECTIONS_FIELD = ConfigField(
    "send_corrections",
    gettext_lazy("Send corrections for accepted returns"),
    "bool",
    default=True,
)


class DocumentSink(Connector):
    """Base class of accounting and POS connectors (capability ``invoice_sink``)."""

    capabilities = frozenset({Capability.INVOICE_SINK})
    #: the document kinds this sink can take (``ExternalDocument.Kind`` values)
    document_kinds: ClassVar[frozenset[str]] = frozenset()

    # --- what this connector wants ---------------------------------------------------------------

    def wants(self, kind: str, order) -> bool:
        """Whether a document of ``kind`` should be created for ``order`` (a paid order)."""
        if kind not in self.document_kinds:
            return False
        if kind == "invoice":
            if self.options.get("invoice_mode") == InvoiceMode.NONE:
                return False
            return not (self.options.get("only_requested") and not order.wants_invoice)
        if kind == "correction":
            return bool(self.options.get("send_corrections", True))
        return True

    def replaces_shop_invoice(self) -> bool:
        return "invoice" in self.document_kinds and self.options.get("invoice_mode") == InvoiceMode.INSTEAD

    def doubles_shop_invoice(self) -> bool:
        """True when this connector and the shop both issue a VAT invoice for one sale."""
        return (
            "invoice" in self.document_kinds and self.options.get("invoice_mode") == InvoiceMode.IN_ADDITION
        )

    # --- the interface ---------------------------------------------------------------------------

    def send_document(self, document: ExternalDocument, data: DocumentData) -> SendOutcome:
        raise NotImplementedError

    def find_existing(self, document: ExternalDocument, data: DocumentData) -> SendOutcome | None:
        """The partner's copy of ``document`` when an earlier attempt created it, else None.
        Raises a SinkError when the partner cannot be asked right now."""
        return None

    def test_connection(self) -> str:
        """Check the credentials with a harmless call; returns a message, raises SinkError."""
        raise NotImplementedError

    def fetch_pdf(self, document: ExternalDocument) -> bytes | None:
        """The partner's PDF of a sent document, when the partner offers one."""
        return None
