"""One small httpx client per carrier account: timeouts, a shared rate limit, retries for reads.

Reads (GET, and Apaczka's read routes) are retried with exponential backoff on timeouts, transport
errors, 5xx and 429. Creating a shipment is never retried inside one call: a timeout may mean the
carrier did create it, so the caller records that and the next attempt looks the parcel up by our
reference first. (``integrations/http.py`` does the same for connectors, but orders sits below
integrations and must not import it; this client keeps only what carriers need.)
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .base import CarrierError

log = logging.getLogger("orders.carriers")

RETRY_STATUSES = {429, 500, 502, 503, 504}

# Tests swap this for a transport of their own; production leaves it None (real network).
transport: httpx.BaseTransport | None = None
sleep: Callable[[float], None] = time.sleep


def _take_token(key: str) -> None:
    """A token bucket in the shared cache: ``CARRIER_RATE_PER_SECOND`` calls per account, so all
    worker processes together stay within a carrier's limit (per process with a local cache)."""
    rate = settings.CARRIER_RATE_PER_SECOND
    if rate <= 0:
        return
    bucket = f"carriers:bucket:{key}"
    for _attempt in range(100):
        now = time.time()
        state = cache.get(bucket) or {"tokens": rate, "ts": now}
        tokens = min(rate, state["tokens"] + (now - state["ts"]) * rate)
        if tokens >= 1:
            cache.set(bucket, {"tokens": tokens - 1, "ts": now}, timeout=600)
            return
        cache.set(bucket, {"tokens": tokens, "ts": now}, timeout=600)
        sleep((1 - tokens) / rate)


_pool: dict[tuple, httpx.Client] = {}
_pool_lock = threading.Lock()
POOL_SIZE = 32


def _shared_client(base_url: str) -> httpx.Client:
    """One pooled httpx client per carrier host and settings, kept for the worker's life: building
    a client (SSL context) and a connection per call cost more than the call itself."""
    timeout = (settings.CARRIER_HTTP_TIMEOUT_SECONDS, settings.CARRIER_HTTP_CONNECT_TIMEOUT_SECONDS)
    key = (base_url, timeout, id(transport))
    with _pool_lock:
        client = _pool.get(key)
        if client is None or client.is_closed:
            if len(_pool) >= POOL_SIZE:
                for old in _pool.values():
                    old.close()
                _pool.clear()
            client = httpx.Client(
                base_url=base_url,
                headers={"User-Agent": "Koszyk-Carriers/1.0"},
                timeout=httpx.Timeout(timeout[0], connect=timeout[1]),
                transport=transport,
                follow_redirects=False,
                trust_env=False,
            )
            _pool[key] = client
        return client


class CarrierClient:
    """Requests to one carrier account: its headers (credentials) on a shared pooled client."""

    def __init__(self, *, name: str, base_url: str, headers: dict[str, str] | None = None):
        self.name = name
        self.headers = dict(headers or {})
        self._client = _shared_client(base_url)

    def close(self) -> None:
        """Nothing to close: the pooled client outlives one conversation."""

    def __enter__(self) -> CarrierClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, url: str, *, retry: bool, **kwargs) -> httpx.Response:
        """Send one request; returns any response below 500 (the caller reads 4xx). Raises
        :class:`CarrierError` (retryable) on timeouts, transport errors and 5xx/429 that outlast
        the retries, and on a body larger than ``CARRIER_LABEL_MAX_BYTES``."""
        attempts = settings.CARRIER_HTTP_RETRIES + 1 if retry else 1
        last = ""
        sent = False
        for attempt in range(attempts):
            _take_token(self.name)
            try:
                response = self._send(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                # A read timeout means the request went out: the carrier may have acted on it.
                sent = sent or not isinstance(exc, httpx.ConnectTimeout)
                last = _("the carrier did not answer in time")
                log.warning("%s: %s %s timed out (attempt %d)", self.name, method, url, attempt + 1)
            except httpx.TransportError as exc:
                sent = sent or not isinstance(exc, httpx.ConnectError)
                last = _("the carrier cannot be reached (%(error)s)") % {"error": type(exc).__name__}
                log.warning("%s: %s %s failed: %s", self.name, method, url, exc)
            else:
                if response.status_code not in RETRY_STATUSES:
                    return response
                sent = True
                last = _("the carrier answered HTTP %(code)d") % {"code": response.status_code}
                log.warning(
                    "%s: %s %s answered %s: %s",
                    self.name,
                    method,
                    url,
                    response.status_code,
                    response.text[:300],
                )
            if attempt + 1 < attempts:
                base = settings.CARRIER_HTTP_BACKOFF_SECONDS * (2**attempt)
                sleep(base + random.uniform(0, settings.CARRIER_HTTP_BACKOFF_SECONDS))
        raise CarrierError(
            _("Carrier unavailable: %(problem)s. It will be tried again.") % {"problem": last},
            retryable=True,
            maybe_created=sent,
        )

    def _send(self, method: str, url: str, **kwargs) -> httpx.Response:
        """Stream the body and stop at ``CARRIER_LABEL_MAX_BYTES`` (labels are the big answers);
        a body cut short of its Content-Length is a transport error, never a short label."""
        limit = settings.CARRIER_LABEL_MAX_BYTES
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        request = self._client.build_request(method, url, headers=headers, **kwargs)
        response = self._client.send(request, stream=True)
        try:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise CarrierError(
                        _("The carrier's answer is larger than %(limit)d bytes; refused.") % {"limit": limit}
                    )
                chunks.append(chunk)
        finally:
            response.close()
        body = b"".join(chunks)
        declared = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if declared.isdigit() and not encoded and len(body) < int(declared):
            raise httpx.ReadError(f"body cut off after {len(body)} of {declared} bytes")
        # The body is decoded already: pass it on without the encoding headers.
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)


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
