"""The KSeF verification QR codes printed on an invoice (kody-qr.md).

KOD I (always): ``{qr}/invoice/{seller NIP}/{issue date DD-MM-YYYY}/{SHA-256 of the XML, base64url}``
with the KSeF number under it once known, ``OFFLINE`` before. KOD II (offline invoices only):
``{qr}/certificate/Nip/{context NIP}/{seller NIP}/{certificate serial}/{hash}/{signature}``,
signed with the private key of the seller's KSeF certificate of type Offline, labelled
``CERTYFIKAT``; without such a certificate it cannot be made, and the admin says so.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date

import segno
from ksef_client import KsefClientOptions
from ksef_client.services.verification_link import VerificationLinkService

from .client import api_url, qr_url


def _links(environment: str) -> VerificationLinkService:
    return VerificationLinkService(
        KsefClientOptions(base_url=api_url(environment), base_qr_url=qr_url(environment))
    )


def invoice_hash(xml: bytes) -> str:
    """SHA-256 of the invoice file, base64 (as KSeF and the submission store it)."""
    return base64.b64encode(hashlib.sha256(xml).digest()).decode("ascii")


def invoice_url(*, environment: str, seller_nip: str, issue_date: date, xml_hash: str) -> str:
    """KOD I."""
    return _links(environment).build_invoice_verification_url(seller_nip, issue_date, xml_hash)


def certificate_url(
    *,
    environment: str,
    seller_nip: str,
    certificate_serial: str,
    xml_hash: str,
    private_key_pem: str,
) -> str:
    """KOD II, signed with the offline certificate's private key (RSA-PSS or ECDSA P-256)."""
    return _links(environment).build_certificate_verification_url(
        seller_nip=seller_nip,
        context_identifier_type="Nip",
        context_identifier_value=seller_nip,
        certificate_serial=certificate_serial,
        invoice_hash=xml_hash,
        private_key_pem=private_key_pem,
    )


def png_data_uri(url: str) -> str:
    """The QR code of ``url`` as a PNG data URI for the PDF (ISO/IEC 18004, error level M)."""
    return segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=2)
