"""The HTTP client of every connector: :mod:`shop.outbound` (pooled connections, timeouts, retries
with backoff honouring ``Retry-After``, no blind re-send of a request that may have arrived, size
caps, a rate limit shared by every worker) plus what connectors add on top: a circuit breaker per
connector kept in the cache, failures as :class:`IntegrationHTTPError` with a message for the
merchant, and feed downloads streamed to a file.

    client = ConnectorClient(name="connector-7", auth=("user", "secret"))
    response = client.request("POST", url, json=payload, idempotent=True)   # an upsert
    result = client.download(url, dest, max_bytes=settings.INTEGRATIONS_MAX_FEED_BYTES, etag=old)

Downloads count *decoded* bytes (a gzip bomb is cut off like a huge file) and check that a
``Content-Length`` was honoured (a truncated response is an error, never a short feed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from shop import outbound
from shop.outbound import retry_after_seconds, safe_url

__all__ = [
    "CircuitBreaker",
    "CircuitOpen",
    "ConnectorClient",
    "DownloadResult",
    "FeedTooLarge",
    "IntegrationHTTPError",
    "TruncatedDownload",
    "retry_after_seconds",
    "safe_url",
]

log = logging.getLogger(__name__)


class IntegrationHTTPError(Exception):
    """A request failed for good (after retries); the message is for the merchant.
    ``maybe_sent``: the partner may have received (and acted on) the request."""

    maybe_sent: bool = True
    status: int | None = None

    def __init__(self, message: str = "", *, maybe_sent: bool | None = None, status: int | None = None):
        super().__init__(message)
        # Subclasses may have set these before calling up (AllegroAPIError's status).
        if maybe_sent is not None:
            self.maybe_sent = maybe_sent
        if status is not None:
            self.status = status


class CircuitOpen(IntegrationHTTPError):
    def __init__(self, message: str = ""):
        super().__init__(message, maybe_sent=False)


class FeedTooLarge(IntegrationHTTPError):
    pass


class TruncatedDownload(IntegrationHTTPError):
    pass


@dataclass
class DownloadResult:
    status_code: int
    not_modified: bool
    bytes: int
    etag: str = ""
    last_modified: str = ""


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``cooldown`` seconds one trial call is
    let through (half-open): success closes it, failure opens it again for another cool-down."""

    def __init__(self, key: str, *, threshold: int, cooldown: float):
        self.key = f"integrations:breaker:{key}"
        self.threshold = max(1, threshold)
        self.cooldown = cooldown

    def state(self) -> str:
        data = cache.get(self.key) or {}
        opened = data.get("opened_at")
        if opened is None:
            return "closed"
        return "half-open" if time.time() - opened >= self.cooldown else "open"

    def before_call(self) -> None:
        data = cache.get(self.key) or {}
        opened = data.get("opened_at")
        if opened is None:
            return
        remaining = self.cooldown - (time.time() - opened)
        if remaining > 0:
            raise CircuitOpen(
                _("The service failed %(n)d times in a row; calls are paused for %(s)d more seconds.")
                % {"n": data.get("failures", self.threshold), "s": int(remaining) + 1}
            )
        # Half-open: let exactly one caller try; the others wait for its outcome.
        if not cache.add(f"{self.key}:trial", 1, timeout=max(1, int(self.cooldown))):
            raise CircuitOpen(_("The service is being re-tested after failures; try again shortly."))

    def success(self) -> None:
        cache.delete_many([self.key, f"{self.key}:trial"])

    def failure(self) -> None:
        data = cache.get(self.key) or {"failures": 0}
        data["failures"] = data.get("failures", 0) + 1
        if data["failures"] >= self.threshold or data.get("opened_at") is not None:
            data["opened_at"] = time.time()
        cache.set(self.key, data, timeout=int(self.cooldown * 10) + 60)
        cache.delete(f"{self.key}:trial")


def merchant_message(exc: outbound.OutboundError) -> str:
    """What the merchant reads about a failed call."""
    if exc.kind == "status":
        problem = _("HTTP %(code)d from %(url)s") % {
            "code": exc.status,
            "url": safe_url(exc.response.request.url) if exc.response is not None else "",
        }
    elif exc.kind == "timeout":
        problem = _("timed out")
    else:
        problem = str(exc)
    if exc.attempts == 1 and exc.maybe_sent:
        return _("The request may have reached the partner, so it was not sent again: %(error)s") % {
            "error": problem
        }
    return _("Request failed after %(n)d attempts: %(error)s") % {"n": exc.attempts, "error": problem}


class ConnectorClient:
    """One connector's calls on the shared outbound client (the connection pool is the process's,
    so building one of these is cheap); the rate limit and the breaker are keyed on ``name``."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str = "",
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        max_backoff: float | None = None,
        rate_per_second: float | None = None,
        burst: int | None = None,
        breaker_threshold: int | None = None,
        breaker_cooldown: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        s = settings
        self.name = name
        self.breaker = CircuitBreaker(
            name,
            threshold=s.INTEGRATIONS_BREAKER_THRESHOLD if breaker_threshold is None else breaker_threshold,
            cooldown=s.INTEGRATIONS_BREAKER_COOLDOWN_SECONDS
            if breaker_cooldown is None
            else breaker_cooldown,
        )
        self.partner = outbound.Partner(
            name,
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": "Koszyk-Integrations/1.0", **(headers or {})},
            timeout=s.INTEGRATIONS_HTTP_TIMEOUT if timeout is None else timeout,
            connect_timeout=s.INTEGRATIONS_HTTP_CONNECT_TIMEOUT
            if connect_timeout is None
            else connect_timeout,
            retries=s.INTEGRATIONS_HTTP_RETRIES if retries is None else retries,
            backoff=s.INTEGRATIONS_HTTP_BACKOFF_SECONDS if backoff is None else backoff,
            max_backoff=s.INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS if max_backoff is None else max_backoff,
            rate_per_second=s.INTEGRATIONS_RATE_PER_SECOND if rate_per_second is None else rate_per_second,
            burst=s.INTEGRATIONS_RATE_BURST if burst is None else burst,
            follow_redirects=True,
            breaker=self.breaker,
            transport=transport,
            sleep=sleep,
        )

    @property
    def retries(self) -> int:
        return self.partner.retries

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.partner.sleep

    @sleep.setter
    def sleep(self, fn: Callable[[float], None]) -> None:
        self.partner.sleep = fn

    def close(self) -> None:
        """Nothing to close: the pooled connections outlive one connector run."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, method: str, url: str, *, idempotent: bool | None = None, **kwargs) -> httpx.Response:
        """The answer (any status the caller interprets, e.g. a 4xx), or IntegrationHTTPError.
        A POST or PATCH is sent again only when it certainly did not arrive, unless
        ``idempotent=True`` (an upsert, a read sent as POST, a call with an idempotency key)."""
        try:
            return self.partner.request(method, url, idempotent=idempotent, **kwargs)
        except outbound.ResponseTooLarge as exc:
            raise IntegrationHTTPError(
                _("The file is larger than the limit of %(limit)s bytes; download stopped.")
                % {"limit": exc.limit},
                maybe_sent=exc.maybe_sent,
                status=exc.status,
            ) from exc
        except outbound.OutboundError as exc:
            raise IntegrationHTTPError(
                merchant_message(exc), maybe_sent=exc.maybe_sent, status=exc.status
            ) from exc

    def download(
        self,
        url: str,
        dest: Path,
        *,
        max_bytes: int,
        etag: str = "",
        last_modified: str = "",
        chunk_size: int = 65536,
    ) -> DownloadResult:
        """Stream ``url`` to ``dest``; never holds more than one chunk in memory.

        Sends ``If-None-Match``/``If-Modified-Since`` when given (a 304 leaves ``dest`` alone).
        Raises FeedTooLarge past ``max_bytes`` (decoded), TruncatedDownload when the server closed
        early, IntegrationHTTPError on any other failure (401, 404, retries exhausted).
        """
        headers = {"Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            response = self.partner.request(
                "GET",
                url,
                headers=headers,
                max_bytes=max_bytes,
                sink=lambda: open(dest, "wb"),  # noqa: SIM115 - the client closes it after each attempt
            )
        except outbound.ResponseTooLarge as exc:
            if exc.declared is not None:
                message = _("The file is %(size)s bytes, more than the limit of %(limit)s bytes.") % {
                    "size": exc.declared,
                    "limit": max_bytes,
                }
            else:
                message = _("The file is larger than the limit of %(limit)s bytes; download stopped.") % {
                    "limit": max_bytes
                }
            raise FeedTooLarge(message) from exc
        except outbound.TruncatedBody as exc:
            raise TruncatedDownload(
                _("The download was cut off after %(n)d bytes (%(error)s).")
                % {"n": exc.received, "error": exc}
            ) from exc
        except outbound.OutboundError as exc:
            raise IntegrationHTTPError(
                merchant_message(exc), maybe_sent=exc.maybe_sent, status=exc.status
            ) from exc
        if response.status_code == 304:
            return DownloadResult(304, True, 0, etag, last_modified)
        if response.status_code in (401, 403):
            raise IntegrationHTTPError(
                _("The wholesaler refused the login (HTTP %(code)d): check the user name and password.")
                % {"code": response.status_code},
                status=response.status_code,
            )
        if response.status_code >= 300:
            raise IntegrationHTTPError(
                _("HTTP %(code)d from %(url)s") % {"code": response.status_code, "url": safe_url(url)},
                status=response.status_code,
            )
        return DownloadResult(
            response.status_code,
            False,
            response.extensions.get("body_bytes", 0),
            response.headers.get("ETag", ""),
            response.headers.get("Last-Modified", ""),
        )
