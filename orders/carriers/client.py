"""Carrier calls on the shop's one outbound client (:mod:`shop.outbound`): pooled connections,
timeouts, a rate limit per carrier account shared by every worker, answers capped at
``CARRIER_LABEL_MAX_BYTES`` (labels are the big ones).

Reads (``retry=True``: GET, and Apaczka's read routes) are retried with exponential backoff on
timeouts, transport errors, 5xx and 429. Anything else (creating or cancelling a shipment) is
sent again only while it certainly did not reach the carrier: a timeout may mean the carrier did
create it, so the caller records that (``maybe_created``) and the next attempt looks the parcel up
by our reference first.
"""

from __future__ import annotations

import logging

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from shop import outbound

from .base import CarrierError

log = logging.getLogger("orders.carriers")

# Tests may route carrier calls through an httpx transport of their own; production leaves None.
transport: httpx.BaseTransport | None = None


class CarrierClient:
    """Requests to one carrier account: its headers (credentials) on the shared pooled client."""

    def __init__(self, *, name: str, base_url: str, headers: dict[str, str] | None = None):
        rate = settings.CARRIER_RATE_PER_SECOND
        self.name = name
        self.partner = outbound.Partner(
            f"carrier:{name}",
            base_url=base_url,
            headers={"User-Agent": "Koszyk-Carriers/1.0", **(headers or {})},
            timeout=settings.CARRIER_HTTP_TIMEOUT_SECONDS,
            connect_timeout=settings.CARRIER_HTTP_CONNECT_TIMEOUT_SECONDS,
            retries=settings.CARRIER_HTTP_RETRIES,
            backoff=settings.CARRIER_HTTP_BACKOFF_SECONDS,
            max_bytes=settings.CARRIER_LABEL_MAX_BYTES,
            rate_per_second=rate,
            burst=max(1, int(rate)),
            transport=transport,
        )

    def close(self) -> None:
        """Nothing to close: the pooled client outlives one conversation."""

    def __enter__(self) -> CarrierClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, url: str, *, retry: bool, **kwargs) -> httpx.Response:
        """Send one request; returns any response below 500 (the caller reads 4xx). Raises
        :class:`CarrierError` (retryable) on timeouts, transport errors and 5xx/429 that outlast
        the retries, and on a body larger than ``CARRIER_LABEL_MAX_BYTES``. ``retry``: the call
        is a read, safe to send again even after it arrived."""
        try:
            return self.partner.request(method, url, idempotent=retry, **kwargs)
        except outbound.ResponseTooLarge as exc:
            raise CarrierError(
                _("The carrier's answer is larger than %(limit)d bytes; refused.") % {"limit": exc.limit}
            ) from exc
        except outbound.OutboundError as exc:
            if exc.kind == "timeout":
                problem = _("the carrier did not answer in time")
            elif exc.kind == "status":
                problem = _("the carrier answered HTTP %(code)d") % {"code": exc.status}
                log.warning(
                    "%s: %s %s answered %s: %s",
                    self.name,
                    method,
                    url,
                    exc.status,
                    exc.response.text[:300] if exc.response is not None else "",
                )
            else:
                cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else type(exc).__name__
                problem = _("the carrier cannot be reached (%(error)s)") % {"error": cause}
            log.warning("%s: %s %s failed: %s", self.name, method, url, exc)
            raise CarrierError(
                _("Carrier unavailable: %(problem)s. It will be tried again.") % {"problem": problem},
                retryable=True,
                maybe_created=exc.maybe_sent,
            ) from exc


def json_body(response: httpx.Response, *, carrier: str) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        log.warning("%s: answer is not JSON (%s): %s", carrier, response.status_code, response.text[:300])
        raise CarrierError(
            _("The carrier gave an answer we cannot read (HTTP %(code)d).") % {"code": response.status_code},
            retryable=response.status_code >= 500,
            status=response.status_code,
        ) from exc
    if not isinstance(data, dict):
        raise CarrierError(_("The carrier gave an answer we cannot read."), status=response.status_code)
    return data
