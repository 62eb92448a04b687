"""A fake Google OAuth token endpoint and Merchant API (products v1, data sources v1).

The token endpoint checks the JWT bearer grant: RS256 signature against the service account's
public key, ``iss``, ``scope`` (the Content scope), ``aud`` and the expiry. productInputs:insert
needs a valid bearer token, the account in the path, the ``dataSource`` query of that account,
``offerId``/``contentLanguage``/``feedLabel`` and a price in micros with a currency; it answers
the stored ProductInput, or a Google-style error ``{"error": {"code", "message", "status"}}``.

Misbehaviour: ``script`` (FakeResponse before the real answer, one per request), ``reject_offers``
(offer ids answered 400), ``expire_tokens()``.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.http_server import FakeHTTPServer, FakeResponse, RecordedRequest
from tests.fakes.przelewy24 import PrefixRoutes

SCOPE = "https://www.googleapis.com/auth/content"


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def make_service_account(
    email: str = "koszyk@project.iam.gserviceaccount.com", token_uri: str = ""
) -> tuple[dict, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "koszyk",
        "private_key_id": secrets.token_hex(8),
        "private_key": pem,
        "client_email": email,
        "token_uri": token_uri,
    }
    return info, key.public_key()


def verify_jwt(token: str, public_key: rsa.RSAPublicKey) -> dict:
    """Claims of an RS256 JWT signed by the key's owner; raises ValueError otherwise."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
    except ValueError:
        raise ValueError("not a JWT") from None
    header = json.loads(b64decode(header_b64))
    if header.get("alg") != "RS256":
        raise ValueError("alg must be RS256")
    try:
        public_key.verify(
            b64decode(signature_b64),
            f"{header_b64}.{claims_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise ValueError("bad signature") from None
    return json.loads(b64decode(claims_b64))


class FakeGoogleMerchant:
    def __init__(
        self, *, account_id="123456", data_source_id="104628", email="koszyk@project.iam.gserviceaccount.com"
    ):
        self.account_id, self.data_source_id = account_id, data_source_id
        self.server = FakeHTTPServer()
        self.server.routes = PrefixRoutes()
        self.service_account, self.public_key = make_service_account(email)
        self.tokens: dict[str, float] = {}
        self.token_requests = 0
        self.products: dict[str, dict] = {}
        self.reject_offers: set[str] = set()
        self.script: list[FakeResponse] = []
        self.server.route("POST", "/token", self._token)
        self.server.route("POST", "/products/v1/accounts/", self._insert)
        self.server.route("GET", "/datasources/v1/accounts/", self._data_source)

    def __enter__(self) -> FakeGoogleMerchant:
        self.server.start()
        self.service_account["token_uri"] = self.token_url
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url("").rstrip("/")

    @property
    def token_url(self) -> str:
        return self.server.url("/token")

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _json(self, status: int, data) -> FakeResponse:
        return FakeResponse(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _error(self, code: int, status: str, message: str) -> FakeResponse:
        return self._json(code, {"error": {"code": code, "message": message, "status": status}})

    def _token(self, request: RecordedRequest) -> FakeResponse:
        self.token_requests += 1
        if self.script:
            return self.script.pop(0)
        form = parse_qs(request.body.decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return self._json(400, {"error": "unsupported_grant_type"})
        try:
            claims = verify_jwt((form.get("assertion") or [""])[0], self.public_key)
        except ValueError as exc:
            return self._json(400, {"error": "invalid_grant", "error_description": str(exc)})
        now = time.time()
        if claims.get("iss") != self.service_account["client_email"]:
            return self._json(400, {"error": "invalid_grant", "error_description": "unknown issuer"})
        if claims.get("aud") != self.token_url or claims.get("scope") != SCOPE:
            return self._json(400, {"error": "invalid_grant", "error_description": "bad audience or scope"})
        if (
            not (claims.get("iat", 0) - 60 <= now <= claims.get("exp", 0))
            or claims["exp"] - claims["iat"] > 3600
        ):
            return self._json(400, {"error": "invalid_grant", "error_description": "expired or too long"})
        token = "ya29." + secrets.token_hex(16)
        self.tokens[token] = now + 3600
        return self._json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _authorised(self, request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and self.tokens.get(auth[7:], 0) > time.time()

    def _data_source(self, request: RecordedRequest) -> FakeResponse:
        if not self._authorised(request):
            return self._error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        expected = f"/datasources/v1/accounts/{self.account_id}/dataSources/{self.data_source_id}"
        if request.path != expected:
            return self._error(404, "NOT_FOUND", "Data source not found.")
        return self._json(200, {"name": expected[15:], "displayName": "Koszyk: ceny i dostępność"})

    def _insert(self, request: RecordedRequest) -> FakeResponse:
        if self.script:
            return self.script.pop(0)
        if not self._authorised(request):
            return self._error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if request.path != f"/products/v1/accounts/{self.account_id}/productInputs:insert":
            return self._error(403, "PERMISSION_DENIED", "The caller does not have access to this account.")
        source = parse_qs(request.query).get("dataSource", [""])[0]
        if source != f"accounts/{self.account_id}/dataSources/{self.data_source_id}":
            return self._error(400, "INVALID_ARGUMENT", "dataSource is missing or of another account.")
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        missing = [k for k in ("offerId", "contentLanguage", "feedLabel") if not body.get(k)]
        if missing:
            return self._error(400, "INVALID_ARGUMENT", f"Missing {', '.join(missing)}.")
        attributes = body.get("productAttributes") or {}
        price = attributes.get("price") or {}
        if not str(price.get("amountMicros", "")).isdigit() or len(price.get("currencyCode", "")) != 3:
            return self._error(400, "INVALID_ARGUMENT", "price needs amountMicros and currencyCode.")
        if attributes.get("availability") not in ("IN_STOCK", "OUT_OF_STOCK", "PREORDER", "BACKORDER"):
            return self._error(400, "INVALID_ARGUMENT", "Invalid availability.")
        if body["offerId"] in self.reject_offers:
            return self._error(
                400, "INVALID_ARGUMENT", f"Offer {body['offerId']} is not in the primary data source."
            )
        name = f"accounts/{self.account_id}/productInputs/{body['contentLanguage']}~{body['feedLabel']}~{body['offerId']}"
        stored = {**body, "name": name, "product": name.replace("productInputs", "products")}
        self.products[body["offerId"]] = stored
        return self._json(200, stored)
