"""A fake KSeF API 2.0 that speaks the documented protocol (CIRFMF/ksef-docs ``open-api.json``,
``uwierzytelnianie.md``, ``sesja-interaktywna.md``, ``faktury/numer-ksef.md``).

- ``GET /v2/security/public-key-certificates``: two X.509 certificates of the fake's own RSA key
  (usages ``KsefTokenEncryption`` and ``SymmetricKeyEncryption``).
- ``POST /v2/auth/challenge`` -> ``challenge``, ``timestamp``, ``timestampMs``;
  ``POST /v2/auth/ksef-token`` decrypts ``encryptedToken`` (RSA-OAEP SHA-256) and checks it is
  ``{token}|{timestampMs}`` of that challenge for the token registered for the context NIP;
  ``GET /v2/auth/{ref}`` answers 200 or 450; ``POST /v2/auth/token/redeem`` gives the access token
  once.
- ``POST /v2/sessions/online`` decrypts the session's AES key; ``POST .../invoices`` checks the
  hashes and sizes, decrypts the invoice (AES-256-CBC, PKCS#7, the session's IV), validates it
  against the FA(3) XSD and the context NIP, and assigns a KSeF number (NIP-date-hex-CRC-8) or
  a rejection (430 schema, 450 semantics, 440 duplicate of seller NIP + invoice number);
  ``GET /v2/sessions/{ref}/invoices/{ref}`` and ``.../upo``; ``POST .../close`` -> 204.

``down = True`` makes every call answer 503 (KSeF unavailable); ``processing_polls`` answers
"150 processing" to that many status checks; ``reject_next`` rejects the next invoice with 450 and
the given reason; ``upo_failures`` makes that many UPO downloads fail. Received invoices are kept decrypted in ``invoices``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7
from cryptography.x509.oid import NameOID
from lxml import etree

from orders.ksef import fa3
from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def crc8(data: bytes) -> int:
    """CRC-8, polynomial 0x07, initial value 0x00 (faktury/numer-ksef.md)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def ksef_number(nip: str, day: datetime, technical: str) -> str:
    data = f"{nip}-{day:%Y%m%d}-{technical}"
    return f"{data}-{crc8(data.encode()):02X}"


def valid_ksef_number(number: str) -> bool:
    if len(number) != 35:
        return False
    return f"{crc8(number[:32].encode()):02X}" == number[33:]


def _reference(kind: str, counter) -> str:
    # 36 characters like the documented ones: 20250625-SO-2C3E6C8000-B675CF5D68-07
    return f"{datetime.now(UTC):%Y%m%d}-{kind}-{next(counter):010X}-{secrets.token_hex(5).upper()}-{secrets.token_hex(1).upper()}"


@dataclass
class Session:
    reference: str
    nip: str
    key: bytes
    iv: bytes
    closed: bool = False
    invoices: list[str] = field(default_factory=list)


@dataclass
class ReceivedInvoice:
    reference: str
    session: str
    xml: bytes
    offline_mode: bool
    status: dict
    ksef_number: str = ""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class FakeKsef:
    def __init__(self, *, tokens: dict[str, str] | None = None):
        self.tokens = dict(tokens or {})  # NIP -> the KSeF token that authenticates it
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.server.route("GET", "/v2/", self._dispatch)
        self.server.route("POST", "/v2/", self._dispatch)
        self.down = False
        self.processing_polls = 0
        self.reject_next: str | None = None
        self.upo_failures = 0  # this many UPO downloads answer 503
        self.malformed = False  # every answer is 200 with a body that is not the documented JSON
        self._counter = itertools.count(0x2C3E6C8000)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._certificate = self._make_certificate()
        self.challenges: dict[str, int] = {}
        self.auth_ops: dict[str, dict] = {}  # auth reference -> {token, nip, ok, redeemed}
        self.access_tokens: dict[str, str] = {}  # access token -> NIP
        self.sessions: dict[str, Session] = {}
        self.invoices: dict[str, ReceivedInvoice] = {}

    # --- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> FakeKsef:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("").rstrip("/")

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def accepted(self) -> list[ReceivedInvoice]:
        return [i for i in self.invoices.values() if i.status["code"] == 200]

    # --- helpers --------------------------------------------------------------------------------------

    def _make_certificate(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ministerstwo Finansów (fake)")])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
            .not_valid_after(datetime(2049, 12, 31, tzinfo=UTC))
            .sign(self._key, hashes.SHA256())
        )

    def _public_key_id(self) -> str:
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(der).digest()).decode()

    @staticmethod
    def _json(status: int, data) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _problem(self, status: int, code: int, description: str, details: str = "") -> FakeResponse:
        return self._json(
            status,
            {
                "exception": {
                    "exceptionDetailList": [
                        {
                            "exceptionCode": code,
                            "exceptionDescription": description,
                            "details": [details] if details else [],
                        }
                    ],
                    "timestamp": datetime.now(UTC).isoformat(),
                }
            },
        )

    def _bearer(self, request: RecordedRequest) -> str:
        value = request.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else ""

    # --- dispatch -------------------------------------------------------------------------------------

    def _dispatch(self, request: RecordedRequest) -> FakeResponse:
        if self.down:
            return self._json(
                503, {"title": "Service Unavailable", "status": 503, "detail": "KSeF niedostępny (fake)."}
            )
        if self.malformed:
            return FakeResponse(200, b"<html>proxy error page</html>", {"Content-Type": "application/json"})
        path = request.path[len("/v2") :]
        routes = [
            ("GET", r"/security/public-key-certificates", self._certificates),
            ("POST", r"/auth/challenge", self._challenge),
            ("POST", r"/auth/ksef-token", self._ksef_token),
            ("POST", r"/auth/token/redeem", self._redeem),
            ("GET", r"/auth/(?P<ref>[^/]+)", self._auth_status),
            ("POST", r"/sessions/online", self._open_session),
            ("POST", r"/sessions/online/(?P<ref>[^/]+)/invoices", self._send_invoice),
            ("POST", r"/sessions/online/(?P<ref>[^/]+)/close", self._close_session),
            ("GET", r"/sessions/(?P<ref>[^/]+)/invoices/(?P<inv>[^/]+)/upo", self._upo),
            ("GET", r"/sessions/(?P<ref>[^/]+)/invoices/(?P<inv>[^/]+)", self._invoice_status),
        ]
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if method == request.method and match:
                return handler(request, **match.groupdict())
        return self._problem(404, 0, "Not found", path)

    # --- security and authentication ------------------------------------------------------------------

    def _certificates(self, request) -> FakeResponse:
        der = self._certificate.public_bytes(serialization.Encoding.DER)
        entry = {
            "certificate": base64.b64encode(der).decode(),
            "certificateId": base64.b64encode(hashlib.sha256(der).digest()).decode(),
            "publicKeyId": self._public_key_id(),
            "validFrom": "2020-01-01T00:00:00+00:00",
            "validTo": "2049-12-31T00:00:00+00:00",
        }
        return self._json(
            200,
            [{**entry, "usage": ["KsefTokenEncryption"]}, {**entry, "usage": ["SymmetricKeyEncryption"]}],
        )

    def _challenge(self, request) -> FakeResponse:
        now = datetime.now(UTC)
        challenge = f"{now:%Y%m%d}-CR-{secrets.token_hex(5).upper()}-{secrets.token_hex(5).upper()}-{secrets.token_hex(1).upper()}"
        ms = int(now.timestamp() * 1000)
        self.challenges[challenge] = ms
        return self._json(
            200,
            {
                "challenge": challenge,
                "timestamp": now.isoformat(),
                "timestampMs": ms,
                "clientIp": "127.0.0.1",
            },
        )

    def _ksef_token(self, request) -> FakeResponse:
        try:
            body = json.loads(request.body)
            challenge = body["challenge"]
            context = body["contextIdentifier"]
            plain = self._key.decrypt(base64.b64decode(body["encryptedToken"]), OAEP).decode()
        except (ValueError, KeyError, TypeError):
            return self._problem(400, 21405, "Błąd walidacji danych wejściowych.")
        if challenge not in self.challenges:
            return self._problem(400, 21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
        token, _, stamp = plain.rpartition("|")
        nip = context.get("value", "")
        ok = (
            context.get("type") == "Nip"
            and self.tokens.get(nip) == token
            and stamp == str(self.challenges.pop(challenge))
        )
        reference = _reference("AU", self._counter)
        auth_token = secrets.token_urlsafe(24)
        self.auth_ops[reference] = {"token": auth_token, "nip": nip, "ok": ok, "redeemed": False}
        valid = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        return self._json(
            202,
            {"referenceNumber": reference, "authenticationToken": {"token": auth_token, "validUntil": valid}},
        )

    def _auth_op(self, request, reference: str | None = None) -> dict | None:
        token = self._bearer(request)
        for ref, op in self.auth_ops.items():
            if op["token"] == token and (reference is None or ref == reference):
                return op
        return None

    def _auth_status(self, request, ref: str) -> FakeResponse:
        op = self._auth_op(request, ref)
        if op is None:
            return self._json(
                401, {"title": "Unauthorized", "status": 401, "detail": "Brak uwierzytelnienia."}
            )
        status = (
            {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
            if op["ok"]
            else {
                "code": 450,
                "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
                "details": ["Nieprawidłowy token"],
            }
        )
        return self._json(
            200,
            {
                "startDate": datetime.now(UTC).isoformat(),
                "authenticationMethod": "Token",
                "authenticationMethodInfo": {
                    "category": "Token",
                    "code": "token.ksef",
                    "displayName": "Token KSeF",
                },
                "status": status,
            },
        )

    def _redeem(self, request) -> FakeResponse:
        op = self._auth_op(request)
        if op is None or not op["ok"] or op["redeemed"]:
            return self._problem(400, 21301, "Brak autoryzacji.")
        op["redeemed"] = True
        access = secrets.token_urlsafe(32)
        self.access_tokens[access] = op["nip"]
        valid = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
        return self._json(
            200,
            {
                "accessToken": {"token": access, "validUntil": valid},
                "refreshToken": {"token": secrets.token_urlsafe(32), "validUntil": valid},
            },
        )

    def _context(self, request) -> str | None:
        return self.access_tokens.get(self._bearer(request))

    # --- sessions and invoices ------------------------------------------------------------------------

    def _open_session(self, request) -> FakeResponse:
        nip = self._context(request)
        if nip is None:
            return self._json(
                401, {"title": "Unauthorized", "status": 401, "detail": "Wymagane jest uwierzytelnienie."}
            )
        try:
            body = json.loads(request.body)
            assert body["formCode"] == {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
            key = self._key.decrypt(base64.b64decode(body["encryption"]["encryptedSymmetricKey"]), OAEP)
            iv = base64.b64decode(body["encryption"]["initializationVector"])
            assert len(key) == 32 and len(iv) == 16
        except (ValueError, KeyError, TypeError, AssertionError):
            return self._problem(400, 21405, "Błąd walidacji danych wejściowych.")
        reference = _reference("SO", self._counter)
        self.sessions[reference] = Session(reference, nip, key, iv)
        valid = (datetime.now(UTC) + timedelta(hours=12)).isoformat()
        return self._json(201, {"referenceNumber": reference, "validUntil": valid})

    def _session(self, request, ref: str) -> Session | FakeResponse:
        nip = self._context(request)
        if nip is None:
            return self._json(
                401, {"title": "Unauthorized", "status": 401, "detail": "Wymagane jest uwierzytelnienie."}
            )
        session = self.sessions.get(ref)
        if session is None or session.nip != nip:
            return self._problem(400, 21173, "Brak sesji o wskazanym numerze referencyjnym.", ref)
        return session

    def _send_invoice(self, request, ref: str) -> FakeResponse:
        session = self._session(request, ref)
        if isinstance(session, FakeResponse):
            return session
        if session.closed:
            return self._problem(400, 21180, "Status sesji nie pozwala na wykonanie operacji.")
        try:
            body = json.loads(request.body)
            encrypted = base64.b64decode(body["encryptedInvoiceContent"])
            assert (
                body["encryptedInvoiceHash"] == base64.b64encode(hashlib.sha256(encrypted).digest()).decode()
            )
            assert body["encryptedInvoiceSize"] == len(encrypted)
            decryptor = Cipher(algorithms.AES(session.key), modes.CBC(session.iv)).decryptor()
            unpadder = PKCS7(128).unpadder()
            xml = unpadder.update(decryptor.update(encrypted) + decryptor.finalize()) + unpadder.finalize()
            assert body["invoiceHash"] == base64.b64encode(hashlib.sha256(xml).digest()).decode()
            assert body["invoiceSize"] == len(xml)
        except (ValueError, KeyError, TypeError, AssertionError):
            return self._problem(400, 21405, "Błąd walidacji danych wejściowych.", "hash, size or encryption")
        reference = _reference("EE", self._counter)
        received = ReceivedInvoice(reference, ref, xml, bool(body.get("offlineMode")), {})
        received.status, received.ksef_number = self._verify(session, xml)
        session.invoices.append(reference)
        self.invoices[reference] = received
        return self._json(202, {"referenceNumber": reference})

    def _verify(self, session: Session, xml: bytes) -> tuple[dict, str]:
        errors = fa3.validation_errors(xml)
        if errors:
            return {"code": 430, "description": "Błąd weryfikacji pliku faktury", "details": errors[:3]}, ""
        tree = etree.fromstring(xml)
        ns = {"f": fa3.NS}
        seller = tree.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP", namespaces=ns)
        number = tree.findtext("f:Fa/f:P_2", namespaces=ns)
        if seller != session.nip:
            return {
                "code": 410,
                "description": "Nieprawidłowy zakres uprawnień",
                "details": [f"NIP sprzedawcy {seller} nie odpowiada kontekstowi {session.nip}."],
            }, ""
        if self.reject_next is not None:
            reason, self.reject_next = self.reject_next, None
            return {
                "code": 450,
                "description": "Błąd weryfikacji semantyki dokumentu faktury",
                "details": [reason],
            }, ""
        for other in self.invoices.values():
            if other.ksef_number and other.xml and self._key_of(other.xml) == (seller, number):
                return {
                    "code": 440,
                    "description": "Duplikat faktury",
                    "details": [
                        f"Duplikat faktury. Faktura o numerze KSeF: {other.ksef_number} została już prawidłowo przesłana."
                    ],
                    "extensions": {
                        "originalSessionReferenceNumber": other.session,
                        "originalKsefNumber": other.ksef_number,
                    },
                }, ""
        number_ksef = ksef_number(seller, datetime.now(UTC), secrets.token_hex(6).upper())
        return {"code": 200, "description": "Sukces"}, number_ksef

    @staticmethod
    def _key_of(xml: bytes) -> tuple[str | None, str | None]:
        tree = etree.fromstring(xml)
        ns = {"f": fa3.NS}
        return (
            tree.findtext("f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP", namespaces=ns),
            tree.findtext("f:Fa/f:P_2", namespaces=ns),
        )

    def _close_session(self, request, ref: str) -> FakeResponse:
        session = self._session(request, ref)
        if isinstance(session, FakeResponse):
            return session
        session.closed = True
        return FakeResponse(204, b"")

    def _received(self, request, ref: str, inv: str) -> ReceivedInvoice | FakeResponse:
        session = self._session(request, ref)
        if isinstance(session, FakeResponse):
            return session
        invoice = self.invoices.get(inv)
        if invoice is None or invoice.session != ref:
            return self._problem(400, 21405, "Błąd walidacji danych wejściowych.", "unknown invoice")
        return invoice

    def _invoice_status(self, request, ref: str, inv: str) -> FakeResponse:
        invoice = self._received(request, ref, inv)
        if isinstance(invoice, FakeResponse):
            return invoice
        status = invoice.status
        if self.processing_polls > 0:
            self.processing_polls -= 1
            status = {"code": 150, "description": "Trwa przetwarzanie"}
        body = {
            "ordinalNumber": self.sessions[ref].invoices.index(inv) + 1,
            "referenceNumber": inv,
            "invoiceHash": base64.b64encode(hashlib.sha256(invoice.xml).digest()).decode(),
            "invoicingDate": invoice.received_at.isoformat(),
            "invoicingMode": "Offline" if invoice.offline_mode else "Online",
            "status": status,
        }
        if status["code"] == 200:
            body["ksefNumber"] = invoice.ksef_number
            body["acquisitionDate"] = invoice.received_at.isoformat()
        return self._json(200, body)

    def _upo(self, request, ref: str, inv: str) -> FakeResponse:
        invoice = self._received(request, ref, inv)
        if isinstance(invoice, FakeResponse):
            return invoice
        if invoice.status["code"] != 200:
            return self._problem(400, 21405, "Błąd walidacji danych wejściowych.", "no UPO for this invoice")
        if self.upo_failures > 0:
            self.upo_failures -= 1
            return self._json(
                503, {"title": "Service Unavailable", "status": 503, "detail": "UPO niedostępne."}
            )
        digest = base64.b64encode(hashlib.sha256(invoice.xml).digest()).decode()
        upo = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3">'
            f"<NumerReferencyjnySesji>{ref}</NumerReferencyjnySesji>"
            f"<Dokument><NumerKSeFDokumentu>{invoice.ksef_number}</NumerKSeFDokumentu>"
            f"<SkrotDokumentu>{digest}</SkrotDokumentu></Dokument></Potwierdzenie>"
        ).encode()
        headers = {
            "Content-Type": "application/xml",
            "x-ms-meta-hash": base64.b64encode(hashlib.sha256(upo).digest()).decode(),
        }
        return FakeResponse(200, upo, headers)
