"""Putting labels together: PDFs merged page by page (pypdf), ZPL documents concatenated (a
thermal printer reads one ``^XA..^XZ`` block after another)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from .base import CarrierError, LabelDocument

CONTENT_TYPES = {"pdf": "application/pdf", "zpl": "application/zpl"}
EXTENSIONS = {"pdf": "pdf", "zpl": "zpl"}


def merge_labels(documents: list[bytes], fmt: str) -> LabelDocument:
    if not documents:
        raise CarrierError(_("There are no labels to print."))
    if fmt == "zpl":
        content = b"\n".join(doc.strip() for doc in documents) + b"\n"
    elif len(documents) == 1:
        content = documents[0]
    else:
        writer = PdfWriter()
        try:
            for doc in documents:
                for page in PdfReader(io.BytesIO(doc)).pages:
                    writer.add_page(page)
        except (PdfReadError, ValueError, OSError) as exc:
            raise CarrierError(_("A label PDF from the carrier is damaged."), retryable=True) from exc
        out = io.BytesIO()
        writer.write(out)
        content = out.getvalue()
    return LabelDocument(content=content, content_type=CONTENT_TYPES[fmt], extension=EXTENSIONS[fmt])
