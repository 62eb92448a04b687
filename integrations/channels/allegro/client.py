"""The Allegro REST API client on the connector client (``integrations.connector_client``).

    with AllegroClient(config) as api:
        offer = api.get(f"/sale/product-offers/{offer_id}")

Every call sends and accepts Allegro's media type ``application/vnd.allegro.public.v1+json``.
The framework's client already waits out 429 (honouring ``Retry-After``), retries 5xx and
timeouts with backoff and keeps a rate limit and a circuit breaker per connector; on top of that
this client

- adds the seller's bearer token, refreshing it shortly before it expires, and once more when
  Allegro answers 401 (another worker may have rotated it meanwhile);
- turns Allegro's error body ``{"errors": [{"code", "message", "userMessage", "path"}]}`` into an
  :class:`AllegroAPIError` that keeps every item (per-field messages for the merchant);
- refuses a body that is not JSON with a clear :class:`AllegroMalformedResponse`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.utils.translation import gettext as _

from integrations.connector_client import ConnectorClient, IntegrationHTTPError, safe_url

MEDIA_TYPE = "application/vnd.allegro.public.v1+json"

API_URLS = {
    "production": "https://api.allegro.pl",
    "sandbox": "https://api.allegro.pl.allegrosandbox.pl",
}
AUTH_URLS = {
    "production": "https://allegro.pl",
    "sandbox": "https://allegro.pl.allegrosandbox.pl",
}

# A successful answer's body is read at most this big (an offer or a checkout form is a few kB).
MAX_BODY_BYTES = 10 * 1024 * 1024


class AllegroError(IntegrationHTTPError):
    """Any failure talking to Allegro; the message is for the merchant."""


class AllegroAuthError(AllegroError):
    """No usable token: the account is not connected, or Allegro refused the token and its refresh."""


class AllegroMalformedResponse(AllegroError):
    """Allegro (or something in between) answered with a body that is not the JSON we expect."""


@dataclass
class ErrorItem:
    code: str = ""
    message: str = ""
    user_message: str = ""
    path: str = ""

    def text(self) -> str:
        words = self.user_message or self.message or self.code or _("unknown error")
        return f"{self.path}: {words}" if self.path else words


class AllegroAPIError(AllegroError):
    """Allegro answered a 4xx/5xx; ``items`` holds its error list."""

    def __init__(self, status: int, items: list[ErrorItem], *, url: str = ""):
        self.status = status
        self.items = items
        self.url = url
        detail = "; ".join(i.text() for i in items) or _("no details")
        super().__init__(
            _("Allegro answered HTTP %(code)d to %(url)s: %(detail)s")
            % {"code": status, "url": url, "detail": detail}
        )

    @property
    def codes(self) -> set[str]:
        return {i.code for i in self.items}


def parse_errors(data: Any) -> list[ErrorItem]:
    """Allegro's error list (``errors``) or an OAuth error (``error``/``error_description``)."""
    if not isinstance(data, dict):
        return []
    items = []
    raw = data.get("errors")
    if isinstance(raw, list):
        for e in raw[:100]:
            if isinstance(e, dict):
                items.append(
                    ErrorItem(
                        code=str(e.get("code") or "")[:200],
                        message=str(e.get("message") or "")[:1000],
                        user_message=str(e.get("userMessage") or "")[:1000],
                        path=str(e.get("path") or "")[:200],
                    )
                )
    elif data.get("error"):
        items.append(
            ErrorItem(code=str(data["error"])[:200], message=str(data.get("error_description") or "")[:1000])
        )
    return items


def decode_json(response: httpx.Response) -> Any:
    """The JSON body of ``response``; a clear error for anything else (HTML error pages, cut-off
    bodies, a proxy's plain text)."""
    raw = response.content
    if len(raw) > MAX_BODY_BYTES:
        raise AllegroMalformedResponse(
            _("Allegro's answer from %(url)s is larger than %(n)d bytes.")
            % {"url": safe_url(response.request.url), "n": MAX_BODY_BYTES}
        )
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AllegroMalformedResponse(
            _("Allegro's answer from %(url)s (HTTP %(code)d) is not valid JSON: %(error)s")
            % {"url": safe_url(response.request.url), "code": response.status_code, "error": exc}
        ) from exc


@dataclass
class Answer:
    """A successful answer: status, headers we care about and the decoded JSON body."""

    status: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @property
    def retry_after(self) -> float | None:
        from integrations.connector_client import retry_after_seconds

        return retry_after_seconds(self.headers.get("retry-after"))


def api_url(options: dict) -> str:
    return (options.get("api_url") or API_URLS[options.get("environment") or "production"]).rstrip("/")


def auth_url(options: dict) -> str:
    return (options.get("auth_url") or AUTH_URLS[options.get("environment") or "production"]).rstrip("/")


class AllegroClient:
    """Seller calls of one connector. ``tokens`` is the :mod:`oauth` token store."""

    def __init__(self, config, *, transport: httpx.BaseTransport | None = None, http=None):
        from . import oauth

        self.config = config
        from .connector import AllegroConnector

        self.options = AllegroConnector.typed_options(config.settings)
        self.base_url = api_url(self.options)
        self.tokens = oauth.TokenStore(config)
        self._transport = transport
        self._once: ConnectorClient | None = None
        self.http = http or ConnectorClient(
            name=f"connector-{config.pk}",
            base_url=self.base_url,
            headers={"Accept": MEDIA_TYPE},
            transport=transport,
        )

    def _single_shot(self) -> ConnectorClient:
        if self._once is None:
            self._once = ConnectorClient(
                name=f"connector-{self.config.pk}",
                base_url=self.base_url,
                headers={"Accept": MEDIA_TYPE},
                transport=self._transport,
                retries=0,
            )
        return self._once

    def close(self) -> None:
        self.http.close()
        if self._once is not None:
            self._once.close()

    def __enter__(self) -> AllegroClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- calls ----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Any = None,
        ok: tuple[int, ...] = (200, 201, 202),
        follow_redirects: bool = True,
        once: bool = False,
    ) -> Answer:
        """Call ``path`` and return the answer when its status is in ``ok``; raise otherwise.

        ``once``: no automatic retry of timeouts, 429 and 5xx (for a create whose lost answer must
        be looked up before it is sent again, see ``offers.publish_listing``).
        """
        http = self._single_shot() if once else self.http
        headers = {"Accept": MEDIA_TYPE}
        content = None
        if body is not None:
            headers["Content-Type"] = MEDIA_TYPE
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        token = self.tokens.access_token()
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {token}"
            response = http.request(
                method,
                path,
                content=content,
                params=params,
                headers=headers,
                follow_redirects=follow_redirects,
            )
            if response.status_code == 401 and attempt == 1:
                token = self.tokens.refresh(failed_token=token)
                continue
            break
        url = safe_url(response.request.url)
        if response.status_code == 401:
            self.tokens.mark_refused()
            raise AllegroAuthError(
                _(
                    "Allegro refused the access token even after refreshing it (HTTP 401 from %(url)s): "
                    "connect the Allegro account again."
                )
                % {"url": url}
            )
        if response.status_code not in ok:
            try:
                data = decode_json(response)
            except AllegroMalformedResponse:
                data = None
            raise AllegroAPIError(response.status_code, parse_errors(data), url=url)
        data = decode_json(response) if response.status_code not in (204, 303) else {}
        return Answer(
            status=response.status_code,
            data=data,
            headers={k.lower(): v for k, v in response.headers.items()},
        )

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs).data

    def put(self, path: str, body: Any, **kwargs) -> Answer:
        return self.request("PUT", path, body=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs) -> Answer:
        return self.request("PATCH", path, body=body, **kwargs)

    def post(self, path: str, body: Any, **kwargs) -> Answer:
        return self.request("POST", path, body=body, **kwargs)

    def sleep(self, seconds: float) -> None:
        """Waiting between polls goes through the HTTP client's sleep (tests make it instant)."""
        if seconds > 0:
            (self.http.sleep or time.sleep)(seconds)
