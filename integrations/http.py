"""The one small HTTP client every connector uses: httpx with timeouts, retries with exponential
backoff on transport errors, 5xx and 429 (honouring ``Retry-After``), a token-bucket rate limiter
and a circuit breaker, both kept in the cache (Redis in production) so every worker process of a
connector shares them.

    client = ConnectorClient(name="connector-7", auth=("user", "secret"))
    response = client.request("POST", url, json=payload)
    result = client.download(url, dest, max_bytes=settings.INTEGRATIONS_MAX_FEED_BYTES, etag=old)

Downloads are streamed to a file, counting *decoded* bytes (a gzip bomb is cut off like a huge
file) and checking that a ``Content-Length`` was honoured (a truncated response is an error, never
a short feed).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class IntegrationHTTPError(Exception):
    """A request failed for good (after retries); the message is for the merchant."""


class CircuitOpen(IntegrationHTTPError):
    pass


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


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; state in the shared cache.

    Updates are serialised with a short cache lock (``cache.add``), so processes sharing Redis
    never exceed the rate together; with a per-process cache the limit is per process.
    """

    def __init__(self, key: str, *, rate: float, burst: int, sleep: Callable[[float], None] = time.sleep):
        self.key = f"integrations:bucket:{key}"
        self.rate = rate
        self.burst = max(1, burst)
        self.sleep = sleep

    def _with_lock(self, fn):
        lock = f"{self.key}:lock"
        for _attempt in range(200):
            if cache.add(lock, 1, timeout=2):
                try:
                    return fn()
                finally:
                    cache.delete(lock)
            time.sleep(0.005)
        return fn()  # a stuck lock must never stop the connector; it expires in 2 s anyway

    def take(self) -> float:
        """Take one token, sleeping until one is there; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        waited = 0.0
        while True:

            def attempt():
                now = time.time()
                state = cache.get(self.key) or {"tokens": float(self.burst), "ts": now}
                tokens = min(self.burst, state["tokens"] + (now - state["ts"]) * self.rate)
                if tokens >= 1:
                    cache.set(self.key, {"tokens": tokens - 1, "ts": now}, timeout=3600)
                    return 0.0
                cache.set(self.key, {"tokens": tokens, "ts": now}, timeout=3600)
                return (1 - tokens) / self.rate

            wait = self._with_lock(attempt)
            if wait <= 0:
                return waited
            self.sleep(wait)
            waited += wait


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


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class ConnectorClient:
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
        self.retries = s.INTEGRATIONS_HTTP_RETRIES if retries is None else retries
        self.backoff = s.INTEGRATIONS_HTTP_BACKOFF_SECONDS if backoff is None else backoff
        self.max_backoff = s.INTEGRATIONS_HTTP_MAX_BACKOFF_SECONDS if max_backoff is None else max_backoff
        self.sleep = sleep
        self.bucket = TokenBucket(
            name,
            rate=s.INTEGRATIONS_RATE_PER_SECOND if rate_per_second is None else rate_per_second,
            burst=s.INTEGRATIONS_RATE_BURST if burst is None else burst,
            sleep=sleep,
        )
        self.breaker = CircuitBreaker(
            name,
            threshold=s.INTEGRATIONS_BREAKER_THRESHOLD if breaker_threshold is None else breaker_threshold,
            cooldown=s.INTEGRATIONS_BREAKER_COOLDOWN_SECONDS
            if breaker_cooldown is None
            else breaker_cooldown,
        )
        read = s.INTEGRATIONS_HTTP_TIMEOUT if timeout is None else timeout
        connect = s.INTEGRATIONS_HTTP_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            headers={"User-Agent": "Koszyk-Integrations/1.0", **(headers or {})},
            timeout=httpx.Timeout(read, connect=connect),
            transport=transport,
            follow_redirects=True,
            trust_env=False,
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            hinted = retry_after_seconds(response.headers.get("Retry-After"))
            if hinted is not None:
                return min(hinted, self.max_backoff)
        base = self.backoff * (2**attempt)
        return min(self.max_backoff, base + random.uniform(0, self.backoff))

    def _attempts(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        """Run ``send`` with the breaker, the rate limiter and retries; returns the final response
        (which may be a 4xx the caller interprets) or raises IntegrationHTTPError."""
        last_error = ""
        last_exc: Exception | None = None
        for attempt in range(self.retries + 1):
            self.breaker.before_call()
            self.bucket.take()
            response = None
            try:
                response = send()
            except (httpx.TimeoutException, httpx.TransportError, TruncatedDownload) as exc:
                self.breaker.failure()
                last_exc = exc
                last_error = _describe_transport_error(exc)
                log.info("%s: attempt %d failed: %s", self.name, attempt + 1, last_error)
            else:
                if response.status_code in RETRY_STATUSES:
                    self.breaker.failure()
                    last_error = _("HTTP %(code)d from %(url)s") % {
                        "code": response.status_code,
                        "url": _safe_url(response.request.url),
                    }
                    response.close()
                else:
                    self.breaker.success()
                    return response
            if attempt < self.retries:
                self.sleep(self._delay(attempt, response))
        if isinstance(last_exc, TruncatedDownload):
            raise last_exc
        raise IntegrationHTTPError(
            _("Request failed after %(n)d attempts: %(error)s") % {"n": self.retries + 1, "error": last_error}
        )

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        return self._attempts(lambda: self._client.request(method, url, **kwargs))

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
        result: dict = {}

        def send() -> httpx.Response:
            request = self._client.build_request("GET", url, headers=headers)
            response = self._client.send(request, stream=True)
            if response.status_code in RETRY_STATUSES or response.status_code >= 300:
                response.read()
                response.close()
                return response
            try:
                result["bytes"] = _stream_to_file(response, dest, max_bytes=max_bytes, chunk_size=chunk_size)
            finally:
                response.close()
            return response

        try:
            response = self._attempts(send)
        except httpx.HTTPError as exc:  # pragma: no cover - _attempts wraps transport errors
            raise IntegrationHTTPError(str(exc)) from exc
        if response.status_code == 304:
            return DownloadResult(304, True, 0, etag, last_modified)
        if response.status_code == 401 or response.status_code == 403:
            raise IntegrationHTTPError(
                _("The wholesaler refused the login (HTTP %(code)d): check the user name and password.")
                % {"code": response.status_code}
            )
        if response.status_code >= 300:
            raise IntegrationHTTPError(
                _("HTTP %(code)d from %(url)s") % {"code": response.status_code, "url": _safe_url(url)}
            )
        return DownloadResult(
            response.status_code,
            False,
            result.get("bytes", 0),
            response.headers.get("ETag", ""),
            response.headers.get("Last-Modified", ""),
        )


def _stream_to_file(response: httpx.Response, dest: Path, *, max_bytes: int, chunk_size: int) -> int:
    declared = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if declared and declared.isdigit() and not encoded and int(declared) > max_bytes:
        raise FeedTooLarge(
            _("The file is %(size)s bytes, more than the limit of %(limit)s bytes.")
            % {"size": declared, "limit": max_bytes}
        )
    written = 0
    with open(dest, "wb") as fh:
        try:
            for chunk in response.iter_bytes(chunk_size):
                written += len(chunk)
                if written > max_bytes:
                    raise FeedTooLarge(
                        _("The file is larger than the limit of %(limit)s bytes; download stopped.")
                        % {"limit": max_bytes}
                    )
                fh.write(chunk)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise TruncatedDownload(
                _("The download was cut off after %(n)d bytes (%(error)s).") % {"n": written, "error": exc}
            ) from exc
        except httpx.DecodingError as exc:
            raise TruncatedDownload(
                _("The compressed download is damaged or cut off (%(error)s).") % {"error": exc}
            ) from exc
    if declared and declared.isdigit() and not encoded and written < int(declared):
        raise TruncatedDownload(
            _("The download was cut off: %(n)d of %(total)s bytes.") % {"n": written, "total": declared}
        )
    return written


def _safe_url(url) -> str:
    """A URL without credentials or query string, for logs and messages."""
    u = httpx.URL(str(url))
    return str(u.copy_with(username=None, password=None, query=None))


def _describe_transport_error(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return _("timed out")
    if isinstance(exc, TruncatedDownload):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
