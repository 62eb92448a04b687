"""Google Merchant API (not the Content API for Shopping, which Google is shutting down): price
and availability of changed products, pushed as product inputs.

Authentication: a service account's key (the JSON file from Google Cloud, stored encrypted)
signs an RS256 JWT with PyJWT (``iss`` = the account's e-mail, ``scope``
``https://www.googleapis.com/auth/content``, ``aud`` = the token URI, one hour) that
``https://oauth2.googleapis.com/token`` exchanges for an access token
(``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``); the token is cached until shortly
before it expires and renewed once on a 401.

Each changed variant is one ``POST
https://merchantapi.googleapis.com/products/v1/accounts/{account}/productInputs:insert
?dataSource=accounts/{account}/dataSources/{id}`` with ``offerId`` (the SKU),
``contentLanguage``, ``feedLabel`` and ``productAttributes.price`` / ``availability``. Use a
*supplemental* API data source for this: it overrides price and availability of the products
the primary source (the shop's Google feed) describes. The Merchant API inserts one product
per call, so a push batch is a loop of calls under the rate limiter, each with its own result.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..connector_client import IntegrationHTTPError
from ..connectors import Capability, ConfigField, register
from .base import ChannelConnector, ListingUpdate, PushResult

API_URL = "https://merchantapi.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret
SCOPE = "https://www.googleapis.com/auth/content"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class GoogleMerchantError(IntegrationHTTPError):
    pass


def service_account(raw: str) -> dict[str, str]:
    """The parsed service-account key; raises ValidationError naming what is wrong."""
    try:
        data = json.loads(raw or "")
    except ValueError:
        raise ValidationError(_("The service account key is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ValidationError(_("The service account key must be a JSON object."))
    missing = [k for k in ("client_email", "private_key") if not isinstance(data.get(k), str) or not data[k]]
    if missing:
        raise ValidationError(_("The service account key lacks %(fields)s.") % {"fields": ", ".join(missing)})
    return data


def signed_jwt(
    *,
    client_email: str,
    private_key_pem: str,
    audience: str,
    now: int | None = None,
    key_id: str = "",
) -> str:
    """An RS256-signed JWT (PyJWT) asking for the Content scope, valid for one hour."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValidationError(_("The service account's private key cannot be read.")) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationError(_("The service account's private key is not an RSA key."))
    issued = int(time.time()) if now is None else now
    claims = {"iss": client_email, "scope": SCOPE, "aud": audience, "iat": issued, "exp": issued + 3600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id} if key_id else None)


def availability_for(quantity: int, *, is_preorder: bool, backorder: bool) -> str:
    if is_preorder:
        return "PREORDER"
    if quantity > 0:
        return "IN_STOCK"
    return "BACKORDER" if backorder else "OUT_OF_STOCK"


@register
class GoogleMerchantConnector(ChannelConnector):
    type = "google_merchant"
    label = "Google Merchant API"
    capabilities: ClassVar = frozenset({Capability.STOCK_PRICE_SINK})
    max_batch_size = 100
    config_schema = (
        *ChannelConnector.common_fields(),
        ConfigField("api_url", gettext_lazy("API address"), "url", required=True, default=API_URL),
        ConfigField("token_url", gettext_lazy("Token address"), "url", required=True, default=TOKEN_URL),
        ConfigField("account_id", gettext_lazy("Merchant Center account id"), required=True),
        ConfigField(
            "data_source_id",
            gettext_lazy("API data source id"),
            required=True,
            help=gettext_lazy("A supplemental API data source: it overrides price and availability."),
        ),
        ConfigField("content_language", gettext_lazy("Content language"), default="pl"),
        ConfigField("feed_label", gettext_lazy("Feed label"), default="PL"),
        ConfigField(
            "service_account_json",
            gettext_lazy("Service account key (JSON)"),
            "text",
            secret=True,
            help=gettext_lazy(
                "The key file of a service account added as a user of the Merchant Center account."
            ),
        ),
        ConfigField(
            "requests_per_minute",
            gettext_lazy("Requests per minute"),
            "int",
            default=120,
            min_value=1,
            max_value=6000,
        ),
    )

    @classmethod
    def validate_settings(cls, settings_: dict[str, Any]) -> None:
        super().validate_settings(settings_)
        for name in ("account_id", "data_source_id"):
            if not str(settings_.get(name) or "").isdigit():
                raise ValidationError({name: _("Give the number shown in Merchant Center.")})
        if len(str(settings_.get("content_language") or "")) != 2:
            raise ValidationError({"content_language": _("A two-letter language code, e.g. pl.")})

    def __init__(self, config):
        super().__init__(config)
        self._http = None

    @property
    def http(self):
        if self._http is None:
            rate = (self.options.get("requests_per_minute") or 120) / 60
            self._http = self.http_client(
                rate_per_second=rate if settings.INTEGRATIONS_RATE_PER_SECOND else 0, burst=5
            )
        return self._http

    @property
    def _token_key(self) -> str:
        return f"channels:google:token:{self.config.pk}"

    def access_token(self, *, fresh: bool = False) -> str:
        if not fresh:
            cached = cache.get(self._token_key)
            if cached:
                return cached
        account = service_account(self.secrets.get("service_account_json", ""))
        token_url = self.options["token_url"]
        assertion = signed_jwt(
            client_email=account["client_email"],
            private_key_pem=account["private_key"],
            audience=token_url,
            key_id=str(account.get("private_key_id") or ""),
        )
        response = self.http.request(
            "POST", token_url, data={"grant_type": JWT_GRANT, "assertion": assertion}, idempotent=True
        )
        if response.status_code in (400, 401, 403):
            raise GoogleMerchantError(
                _("Google refused the service account (HTTP %(code)d): %(body)s")
                % {"code": response.status_code, "body": response.text[:300]}
            )
        data = _json(response)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise GoogleMerchantError(_("Google's token answer has no access_token."))
        try:
            expires = int(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires = 3600
        cache.set(self._token_key, token, timeout=max(1, expires - settings.CHANNELS_TOKEN_MARGIN_SECONDS))
        return token

    def test_connection(self) -> str:
        self.access_token(fresh=True)
        url = f"{self.options['api_url'].rstrip('/')}/datasources/v1/accounts/{self.options['account_id']}/dataSources/{self.options['data_source_id']}"
        response = self._send("GET", url)
        if response.status_code != 200:
            raise GoogleMerchantError(
                _("Data source %(id)s answered HTTP %(code)d: %(body)s")
                % {
                    "id": self.options["data_source_id"],
                    "code": response.status_code,
                    "body": response.text[:300],
                }
            )
        name = _json(response).get("displayName") or self.options["data_source_id"]
        return _("Data source %(name)s is reachable.") % {"name": name}

    def _send(self, method: str, url: str, **kwargs):
        for attempt in range(2):
            token = self.access_token(fresh=attempt > 0)
            response = self.http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            if response.status_code == 401 and attempt == 0:
                cache.delete(self._token_key)
                continue
            return response
        return response  # pragma: no cover

    def insert_url(self) -> str:
        account = self.options["account_id"]
        source = quote(f"accounts/{account}/dataSources/{self.options['data_source_id']}", safe="/")
        return (
            f"{self.options['api_url'].rstrip('/')}/products/v1/accounts/{account}/productInputs:insert"
            f"?dataSource={source}"
        )

    def push_stock_prices(self, batch: list[ListingUpdate]) -> list[PushResult]:
        from catalog.models import Variant

        variants = {
            v.pk: v
            for v in Variant.objects.filter(pk__in=[u.variant_id for u in batch]).only(
                "is_preorder", "backorder"
            )
        }
        url = self.insert_url()
        currency = self.config.store.currency
        results = []
        for u in batch:
            variant = variants.get(u.variant_id)
            body = {
                "offerId": u.external_id or u.sku,
                "contentLanguage": self.options["content_language"],
                "feedLabel": self.options["feed_label"],
                "productAttributes": {
                    "price": {
                        "amountMicros": str(int(u.price * Decimal(1_000_000))),
                        "currencyCode": currency,
                    },
                    "availability": availability_for(
                        u.quantity,
                        is_preorder=bool(variant and variant.is_preorder),
                        backorder=bool(variant and variant.backorder == Variant.Backorder.ALLOW),
                    ),
                },
            }
            # productInputs:insert replaces the input with the same offer id: safe to send again.
            response = self._send("POST", url, json=body, idempotent=True)
            if response.status_code in (401, 403):
                raise GoogleMerchantError(
                    _(
                        "Google refused the call (HTTP %(code)d): is the service account a user of account %(a)s?"
                    )
                    % {"code": response.status_code, "a": self.options["account_id"]}
                )
            if response.status_code == 200:
                try:
                    answer = _json(response)
                except GoogleMerchantError as exc:
                    results.append(PushResult(listing_id=u.listing_id, ok=False, error=str(exc)))
                    continue
                results.append(
                    PushResult(
                        listing_id=u.listing_id,
                        ok=True,
                        data={"product": str(answer.get("product") or "")[:200]},
                    )
                )
            else:
                results.append(PushResult(listing_id=u.listing_id, ok=False, error=_error_text(response)))
        return results


def _json(response) -> dict:
    if len(response.content) > settings.CHANNELS_MAX_RESPONSE_BYTES:
        raise GoogleMerchantError(_("Google's answer is too large."))
    try:
        data = response.json()
    except ValueError:
        raise GoogleMerchantError(_("Google's answer is not JSON.")) from None
    if not isinstance(data, dict):
        raise GoogleMerchantError(_("Google's answer is not an object."))
    return data


def _error_text(response) -> str:
    try:
        error = response.json().get("error") or {}
        message = error.get("message") or ""
    except (ValueError, AttributeError):
        message = response.text[:300]
    return _("Google refused it (HTTP %(code)d): %(message)s") % {
        "code": response.status_code,
        "message": message,
    }
