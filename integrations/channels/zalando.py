"""Zalando zDirect (Partner Program): stock and prices per EAN and sales channel.

- Token: ``POST /auth/token`` with HTTP Basic ``client_id:client_secret`` and
  ``grant_type=client_credentials``; the bearer token is cached (shared cache) until shortly
  before ``expires_in``; a 401 drops it and fetches a new one once.
- Stock: ``POST /merchants/{merchant_id}/stocks`` ``{"items": [{"sales_channel_id", "ean",
  "quantity"}]}``; the answer repeats each item with ``result.status`` (``ACCEPTED`` or a
  refusal with its ``code``/``description``), recorded per listing.
- Prices: ``POST /merchants/{merchant_id}/prices`` ``{"product_prices": [{"ean",
  "sales_channel_id", "regular_price": {"amount", "currency"}}]}``, up to 1,000 per call. The
  API only pre-validates: an ``ACCEPTED`` price is validated asynchronously by Zalando (results
  in zDirect's price reports), so its listing stays *pending*; a ``REJECTED`` one fails with
  the reason.

Listings are keyed by EAN (a variant without an EAN cannot be offered on Zalando). Every
listing goes to every configured sales channel; prices only to channels in the store's currency
(zDirect converts nothing, and neither do we).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..connector_client import IntegrationHTTPError
from ..connectors import Capability, ConfigField, register
from .base import ChannelConnector, ListingUpdate, PushResult

API_URL = "https://api.merchants.zalando.com"
MAX_ITEMS = 1000
ACCEPTED = {"ACCEPTED", "AWAITING_ONBOARDING", "SUCCESS", "OK"}


class ZalandoError(IntegrationHTTPError):
    pass


@register
class ZalandoConnector(ChannelConnector):
    type = "zalando"
    label = "Zalando zDirect"
    capabilities: ClassVar = frozenset({Capability.STOCK_PRICE_SINK})
    max_batch_size = MAX_ITEMS
    config_schema = (
        *ChannelConnector.common_fields(),
        ConfigField(
            "api_url",
            gettext_lazy("API address"),
            "url",
            required=True,
            default=API_URL,
            help=gettext_lazy("Sandbox: https://api-sandbox.merchants.zalando.com"),
        ),
        ConfigField("merchant_id", gettext_lazy("Merchant id"), required=True),
        ConfigField("client_id", gettext_lazy("Client id"), required=True),
        ConfigField("client_secret", gettext_lazy("Client secret"), secret=True),
        ConfigField(
            "sales_channels",
            gettext_lazy("Sales channels"),
            "json",
            required=True,
            default=[],
            help=gettext_lazy(
                'A list of {"id": "<sales channel id>", "currency": "PLN"}, one per Zalando shop '
                "the stock and prices go to."
            ),
        ),
        ConfigField(
            "requests_per_minute",
            gettext_lazy("Requests per minute"),
            "int",
            default=30,
            min_value=1,
            max_value=600,
        ),
    )

    @classmethod
    def validate_settings(cls, settings_: dict[str, Any]) -> None:
        super().validate_settings(settings_)
        channels = settings_.get("sales_channels")
        if not isinstance(channels, list) or not channels:
            raise ValidationError({"sales_channels": _("Give at least one sales channel.")})
        for channel in channels:
            if (
                not isinstance(channel, dict)
                or not str(channel.get("id") or "").strip()
                or len(str(channel.get("currency") or "")) != 3
            ):
                raise ValidationError(
                    {"sales_channels": _('Every sales channel needs an "id" and a three-letter "currency".')}
                )
        if len(channels) > MAX_ITEMS:
            raise ValidationError({"sales_channels": _("Too many sales channels.")})

    def __init__(self, config):
        super().__init__(config)
        self._http = None

    # --- client ---------------------------------------------------------------------------------

    @property
    def http(self):
        if self._http is None:
            rate = (self.options.get("requests_per_minute") or 30) / 60
            self._http = self.http_client(
                base_url=self.options["api_url"].rstrip("/"),
                rate_per_second=rate if settings.INTEGRATIONS_RATE_PER_SECOND else 0,
                burst=1,
            )
        return self._http

    @property
    def _token_key(self) -> str:
        return f"channels:zalando:token:{self.config.pk}"

    def access_token(self, *, fresh: bool = False) -> str:
        if not fresh:
            cached = cache.get(self._token_key)
            if cached:
                return cached
        secret = self.secrets.get("client_secret", "")
        if not secret:
            raise ZalandoError(_("The Zalando client secret is not set."))
        response = self.http.request(
            "POST",
            "/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.options["client_id"], secret),
            idempotent=True,  # asking for a token twice is harmless
        )
        if response.status_code in (400, 401, 403):
            raise ZalandoError(
                _("Zalando refused the client id or secret (HTTP %(code)d).") % {"code": response.status_code}
            )
        data = _json(response, _("token"))
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ZalandoError(_("Zalando's token answer has no access_token."))
        try:
            expires = int(data.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires = 3600
        cache.set(self._token_key, token, timeout=max(1, expires - settings.CHANNELS_TOKEN_MARGIN_SECONDS))
        return token

    def _post(self, path: str, payload: dict) -> Any:
        for attempt in range(2):
            token = self.access_token(fresh=attempt > 0)
            # Stock and price updates set absolute values: sending one again changes nothing.
            response = self.http.request(
                "POST", path, json=payload, headers={"Authorization": f"Bearer {token}"}, idempotent=True
            )
            if response.status_code == 401 and attempt == 0:
                cache.delete(self._token_key)
                continue
            if response.status_code in (401, 403):
                raise ZalandoError(
                    _("Zalando refused the call (HTTP %(code)d): check the app's scopes and the merchant id.")
                    % {"code": response.status_code}
                )
            if response.status_code not in (200, 201, 202, 207):
                raise ZalandoError(
                    _("Zalando answered HTTP %(code)d: %(body)s")
                    % {"code": response.status_code, "body": response.text[:300]}
                )
            return _json(response, path)
        raise ZalandoError(_("Zalando refused a fresh token."))  # pragma: no cover

    def test_connection(self) -> str:
        self.access_token(fresh=True)
        return _("Zalando issued an access token for merchant %(id)s.") % {"id": self.options["merchant_id"]}

    # --- listings and pushes --------------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        channels = max(1, len(self.options.get("sales_channels") or []))
        return max(1, min(super().batch_size, MAX_ITEMS // channels))

    def prepare_listings(self, listings: list, *, run) -> None:
        for listing in listings:
            if listing.variant.ean:
                listing.external_id = listing.variant.ean
            else:
                listing.error = _("%(sku)s has no EAN: Zalando offers are identified by EAN.") % {
                    "sku": listing.variant.sku
                }

    def push_stock_prices(self, batch: list[ListingUpdate]) -> list[PushResult]:
        channels = self.options.get("sales_channels") or []
        merchant = self.options["merchant_id"]
        errors: dict[str, str] = {}
        pending: set[str] = set()
        answered: set[str] = set()
        stock_items = [
            {"sales_channel_id": str(c["id"]), "ean": u.external_id, "quantity": u.quantity}
            for u in batch
            if u.quantity_changed
            for c in channels
        ]
        currency = self.config.store.currency
        price_items = [
            {
                "ean": u.external_id,
                "sales_channel_id": str(c["id"]),
                "regular_price": {"amount": float(u.price), "currency": currency},
            }
            for u in batch
            if u.price_changed
            for c in channels
            if str(c.get("currency", "")).upper() == currency
        ]
        for start in range(0, len(stock_items), MAX_ITEMS):
            answer = self._post(
                f"/merchants/{merchant}/stocks", {"items": stock_items[start : start + MAX_ITEMS]}
            )
            for entry in _entries(answer, "items"):
                item = entry.get("item") if isinstance(entry.get("item"), dict) else {}
                result = entry.get("result") if isinstance(entry.get("result"), dict) else {}
                status = str(result.get("status") or "").upper()
                answered.add(str(item.get("ean")))
                if status not in ACCEPTED:
                    errors.setdefault(str(item.get("ean")), _describe(result, status))
        for start in range(0, len(price_items), MAX_ITEMS):
            answer = self._post(
                f"/merchants/{merchant}/prices", {"product_prices": price_items[start : start + MAX_ITEMS]}
            )
            for entry in _entries(answer, "results"):
                price = entry.get("product_price") if isinstance(entry.get("product_price"), dict) else {}
                status = str(entry.get("status") or "").upper()
                ean = str(price.get("ean"))
                answered.add(ean)
                if status in ACCEPTED:
                    pending.add(ean)  # validated asynchronously by Zalando
                else:
                    errors.setdefault(ean, _describe(entry, status))
        sent = {i["ean"] for i in stock_items} | {i["ean"] for i in price_items}
        results = []
        for u in batch:
            error = errors.get(u.external_id)
            if error is None and u.external_id in sent and u.external_id not in answered:
                error = _("Zalando's answer did not mention this EAN.")
            results.append(
                PushResult(
                    listing_id=u.listing_id,
                    ok=error is None,
                    error=error or "",
                    pending=u.external_id in pending,
                    data={"price_submitted_at": int(time.time())} if u.external_id in pending else None,
                )
            )
        return results


def _json(response, what: str) -> dict:
    if len(response.content) > settings.CHANNELS_MAX_RESPONSE_BYTES:
        raise ZalandoError(_("Zalando's answer (%(what)s) is too large.") % {"what": what})
    try:
        data = response.json()
    except ValueError:
        raise ZalandoError(_("Zalando's answer (%(what)s) is not JSON.") % {"what": what}) from None
    if not isinstance(data, dict):
        raise ZalandoError(_("Zalando's answer (%(what)s) is not an object.") % {"what": what})
    return data


def _entries(answer: dict, key: str) -> list[dict]:
    entries = answer.get(key)
    if not isinstance(entries, list):
        raise ZalandoError(_("Zalando's answer has no %(key)s list.") % {"key": key})
    return [e for e in entries if isinstance(e, dict)]


def _describe(result: dict, status: str) -> str:
    parts = [status or _("no status")]
    for key in ("code", "description", "message"):
        if result.get(key) not in (None, ""):
            parts.append(str(result[key])[:300])
    return _("Zalando did not accept it: %(why)s") % {"why": " ".join(parts)}
