"""The one HTTP client for every call the shop makes to the outside: payment gateways, carriers,
the parcel-locker search, connectors (wholesalers, marketplaces, accounting, Google), SMS and
webhooks. Built on httpx; every app may use it (``shop`` is the bottom layer).

    inpost = outbound.Partner("inpost-points", timeout=4, retries=2, max_bytes=2_000_000)
    response = inpost.request("GET", url, params={"city": "Kraków"})

    payu = outbound.Partner("payu", timeout=15, retries=0)
    try:
        payu.request("POST", url, json=order)            # never sent twice by this module
    except outbound.OutboundError as exc:
        if exc.maybe_sent: ...                          # look the order up before trying again

What every call gets:

- **Shared pooled connections.** One ``httpx.Client`` per process (and per test transport) holds
  the connection pool for every partner; timeouts, redirects, auth and headers are per request.
  No client is built per call.
- **Timeouts** on connect and on every read (``timeout``/``connect_timeout`` per partner).
- **Retries with backoff** (exponential, jittered, at most ``max_backoff``) on connection
  errors, timeouts, a cut-off body and the statuses in ``RETRY_STATUSES``; ``Retry-After`` (seconds
  or an HTTP date) is honoured up to ``max_backoff`` (one call never sleeps longer than that), and
  a failed call carries the partner's ``retry_after`` for the caller's own scheduler.
- **A request that may have been acted on is never re-sent blindly.** Idempotent methods (GET,
  HEAD, OPTIONS, PUT, DELETE) are retried; any other method is retried only while it certainly
  did not reach the partner (the connection was never made) or the partner refused it unread
  (429), unless the caller says ``idempotent=True`` (an upsert, a read sent as POST) or sends an
  ``Idempotency-Key`` header. :attr:`OutboundError.maybe_sent` tells the caller whether it may have arrived.
- **Size caps.** The body is streamed and counted *decoded* (a gzip bomb is cut off like a huge
  body); over ``max_bytes`` the call fails with :class:`ResponseTooLarge`. A body shorter than its
  ``Content-Length`` is :class:`TruncatedBody`, never a short answer.
- **A rate limit per partner**, shared by threads and (through ``shop.ratelimit``, a Redis script
  in production) by every process: at most ``rate_per_second`` calls a second, ``burst`` at once.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import IO, Protocol

import httpx

from shop import ratelimit

log = logging.getLogger("shop.outbound")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
USER_AGENT = "Koszyk/1.0"


class OutboundError(Exception):
    """A call that failed for good.

    ``maybe_sent``: the request may have reached the partner and been acted on (a timeout after
    the request went out, a 5xx, a cut-off answer); False only when it certainly was not (no
    connection, or refused unread with 429). ``kind``: connect, timeout, transport, status,
    too_large, truncated or invalid. ``status``/``response``: the last answer, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        partner: str,
        kind: str,
        maybe_sent: bool,
        attempts: int = 1,
        status: int | None = None,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.partner = partner
        self.kind = kind
        self.maybe_sent = maybe_sent
        self.sent_this_attempt = maybe_sent  # the last attempt alone (maybe_sent covers them all)
        self.attempts = attempts
        self.status = status
        self.response = response
        self.retry_after = retry_after


class ResponseTooLarge(OutboundError):
    """Over the cap: ``limit`` bytes; ``declared`` is the announced length when there was one."""

    limit: int = 0
    declared: int | None = None


class TruncatedBody(OutboundError):
    """Closed before the whole body came (``received`` bytes), or a damaged compressed body."""

    received: int = 0


class Breaker(Protocol):
    """What a circuit breaker offers the client (``integrations`` keeps one per connector)."""

    def before_call(self) -> None: ...
    def success(self) -> None: ...
    def failure(self) -> None: ...


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def safe_url(url) -> str:
    """A URL without credentials or query string, for logs and messages."""
    u = httpx.URL(str(url))
    return str(u.copy_with(username=None, password=None, query=None))


# --- Shared pooled clients ----------------------------------------------------------------------

_pool: dict[tuple, httpx.Client] = {}
_pool_lock = threading.Lock()
POOL_MAX_CLIENTS = 32
POOL_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=40, keepalive_expiry=30)


def shared_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The process's pooled client (one per test transport). Keyed by process id as well: a
    client inherited over ``fork`` (gunicorn, Celery prefork) would share sockets with the parent."""
    key = (os.getpid(), id(transport) if transport is not None else None)
    client = _pool.get(key)
    if client is not None and not client.is_closed:
        return client
    with _pool_lock:
        client = _pool.get(key)
        if client is None or client.is_closed:
            client = httpx.Client(
                transport=transport,
                limits=POOL_LIMITS,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=False,
            )
            if len(_pool) >= POOL_MAX_CLIENTS:  # test transports come and go; forget the oldest
                del _pool[next(iter(_pool))]
            _pool[key] = client
        return client


# --- Rate limit -----------------------------------------------------------------------------------


class RateLimiter:
    """At most ``rate`` calls a second per ``key``, ``burst`` at once: a sliding log of ``burst``
    calls over ``burst / rate`` seconds in ``shop.ratelimit`` (one atomic Redis script in
    production, a locked cache value or per-process memory otherwise), so threads and worker
    processes sharing the cache share the limit."""

    def __init__(self, key: str, *, rate: float, burst: int = 1, sleep: Callable[[float], None] = time.sleep):
        self.key = f"outbound:{key}"
        self.rate = rate
        self.burst = max(1, int(burst))
        self.sleep = sleep

    def take(self, *, max_wait: float = 300.0) -> float:
        """Wait for a place and take it; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        window = self.burst / self.rate
        waited = 0.0
        while True:
            verdict = ratelimit.hit(self.key, limit=self.burst, window=window)
            if verdict.allowed or waited >= max_wait:
                return waited
            # The verdict is in whole seconds; one place frees every 1/rate seconds on average.
            wait = min(float(verdict.retry_after), 1.0 / self.rate)
            self.sleep(wait)
            waited += wait


# --- The client -----------------------------------------------------------------------------------

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_INVALID = (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError)
_DEFAULT = object()


class Partner:
    """Calls to one partner (an account of a gateway, a carrier, a connector): its name keys the
    rate limit and the logs; ``base_url``, ``headers`` and ``auth`` are added to every request."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str = "",
        headers: dict[str, str] | None = None,
        auth=None,
        timeout: float = 10.0,
        connect_timeout: float | None = None,
        retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        rate_per_second: float = 0.0,
        burst: int = 1,
        follow_redirects: bool = False,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        breaker: Breaker | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.auth = auth
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, connect_timeout or timeout))
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.follow_redirects = follow_redirects
        self.retry_statuses = frozenset(retry_statuses)
        self.breaker = breaker
        self.transport = transport
        self._sleep = sleep
        self.limiter = RateLimiter(name, rate=rate_per_second, burst=burst, sleep=sleep)

    @property
    def sleep(self) -> Callable[[float], None]:
        return self._sleep

    @sleep.setter
    def sleep(self, fn: Callable[[float], None]) -> None:
        self._sleep = fn
        self.limiter.sleep = fn

    @property
    def client(self) -> httpx.Client:
        return shared_client(self.transport)

    def url(self, url: str) -> str:
        if not self.base_url or "://" in url:
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: ``Retry-After`` when the partner gave
        one, otherwise exponential backoff with jitter; never more than ``max_backoff``."""
        if response is not None:
            hinted = retry_after_seconds(response.headers.get("Retry-After"))
            if hinted is not None:
                return min(hinted, self.max_backoff)
        base = self.backoff * (2**attempt)
        return min(self.max_backoff, base + random.uniform(0, self.backoff))

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        retries: int | None = None,
        max_bytes: int | None = None,
        headers: dict[str, str] | None = None,
        auth=_DEFAULT,
        follow_redirects: bool | None = None,
        timeout: float | None = None,
        sink: Callable[[], IO[bytes]] | None = None,
        truncate: bool = False,
        **kwargs,
    ) -> httpx.Response:
        """Send one request (with the retries it may have) and return the answer, its body read.

        Any status outside ``retry_statuses`` is returned for the caller to read; a retry status
        that outlasts the retries, a transport failure, an oversized or cut-off body raise
        :class:`OutboundError`. ``idempotent`` overrides the method's rule (True: safe to send
        again even after it arrived; False: never re-send once it may have arrived). ``sink``:
        a function opening a fresh binary file, to stream a 2xx body into instead of memory
        (called again for each attempt); the returned response then has an empty body.
        ``truncate``: keep the first ``max_bytes`` of a bigger body instead of failing (for an
        answer only logged as an excerpt); the response's ``extensions["truncated"]`` says so.
        """
        method = method.upper()
        merged = {**self.headers, **(headers or {})}
        if idempotent is None:
            keyed = any(k.lower() == "idempotency-key" and v for k, v in merged.items())
            idempotent = keyed or method in IDEMPOTENT_METHODS
        attempts = (self.retries if retries is None else max(0, retries)) + 1
        cap = self.max_bytes if max_bytes is None else max_bytes
        send_auth = self.auth if auth is _DEFAULT else auth
        redirects = self.follow_redirects if follow_redirects is None else follow_redirects
        request_timeout = self.timeout if timeout is None else httpx.Timeout(timeout)
        target = self.url(url)
        maybe_sent = False
        last: OutboundError | None = None
        for attempt in range(attempts):
            if self.breaker is not None:
                self.breaker.before_call()
            self.limiter.take()
            response = None
            try:
                response = self._send_once(
                    method,
                    target,
                    headers=merged,
                    auth=send_auth,
                    follow_redirects=redirects,
                    timeout=request_timeout,
                    cap=cap,
                    sink=sink,
                    truncate=truncate,
                    **kwargs,
                )
            except OutboundError as exc:
                exc.attempts = attempt + 1
                if exc.kind == "invalid":
                    raise
                maybe_sent = maybe_sent or exc.maybe_sent
                exc.maybe_sent = maybe_sent
                last = exc
                # A cap breach is the partner's answer, not a passing fault: trying again cannot help.
                retryable = exc.kind != "too_large" and (idempotent or not exc.sent_this_attempt)
            else:
                if response.status_code not in self.retry_statuses:
                    if self.breaker is not None:
                        self.breaker.success()
                    return response
                refused_unread = response.status_code == 429
                maybe_sent = maybe_sent or not refused_unread
                last = OutboundError(
                    f"{self.name}: HTTP {response.status_code} from {safe_url(response.request.url)}",
                    partner=self.name,
                    kind="status",
                    maybe_sent=maybe_sent,
                    attempts=attempt + 1,
                    status=response.status_code,
                    response=response,
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
                retryable = idempotent or refused_unread
            if self.breaker is not None:
                self.breaker.failure()
            log.info(
                "%s: %s %s attempt %d failed: %s", self.name, method, safe_url(target), attempt + 1, last
            )
            if not retryable or attempt + 1 >= attempts:
                break
            self._sleep(self.delay(attempt, response))
        assert last is not None
        raise last

    def _send_once(
        self, method, url, *, headers, auth, follow_redirects, timeout, cap, sink, truncate, **kwargs
    ):
        client = self.client
        try:
            request = client.build_request(method, url, headers=headers, timeout=timeout, **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
            raise self._error(exc, "invalid", sent=False) from exc
        try:
            response = client.send(request, auth=auth, stream=True, follow_redirects=follow_redirects)
        except _INVALID as exc:
            raise self._error(exc, "invalid", sent=False) from exc
        except _NOT_SENT as exc:
            kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connect"
            raise self._error(exc, kind, sent=False) from exc
        except httpx.TimeoutException as exc:
            raise self._error(exc, "timeout", sent=True) from exc
        except httpx.HTTPError as exc:
            raise self._error(exc, "transport", sent=True) from exc
        try:
            return self._read(
                response, cap=cap, sink=sink if 200 <= response.status_code < 300 else None, truncate=truncate
            )
        finally:
            response.close()

    def _read(self, response: httpx.Response, *, cap: int, sink, truncate: bool = False) -> httpx.Response:
        declared = response.headers.get("Content-Length", "")
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        announced = int(declared) if declared.isdigit() and not encoded else None
        status = response.status_code
        if announced is not None and announced > cap and not truncate:
            raise self._body_error(
                "too_large",
                f"is {announced} bytes, more than the limit of {cap} bytes",
                status=status,
                limit=cap,
                declared=announced,
            )
        size, cut = 0, False
        chunks: list[bytes] = []
        out = sink() if sink is not None else None
        try:
            for chunk in response.iter_bytes(65536):
                size += len(chunk)
                if size > cap and truncate:
                    chunk, size, cut = chunk[: len(chunk) - (size - cap)], cap, True
                if size > cap:
                    raise self._body_error(
                        "too_large",
                        f"is larger than the limit of {cap} bytes; refused",
                        status=status,
                        limit=cap,
                    )
                if out is not None:
                    out.write(chunk)
                else:
                    chunks.append(chunk)
                if cut:
                    break
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError) as exc:
            raise self._body_error(
                "truncated",
                f"was cut off after {size} bytes ({type(exc).__name__}: {exc})",
                status=status,
                received=size,
            ) from exc
        except httpx.TimeoutException as exc:
            raise self._error(exc, "timeout", sent=True) from exc
        finally:
            if out is not None:
                out.close()
        if announced is not None and size < announced and not cut:
            raise self._body_error(
                "truncated", f"was cut off: {size} of {announced} bytes", status=status, received=size
            )
        # The body is decoded already: pass it on without the encoding headers.
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        result = httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
            history=response.history,
        )
        result.extensions["body_bytes"] = size
        result.extensions["truncated"] = cut
        return result

    def _body_error(self, kind: str, what: str, *, status: int, **details) -> OutboundError:
        """An answer that arrived but cannot be used (too large, cut off): the request was sent."""
        error = self._error(None, kind, sent=True, message=f"{self.name}: the answer {what}", status=status)
        for name, value in details.items():
            setattr(error, name, value)
        return error

    def _error(self, exc, kind: str, *, sent: bool, message: str = "", status: int | None = None):
        cls = {"too_large": ResponseTooLarge, "truncated": TruncatedBody}.get(kind, OutboundError)
        text = message or f"{self.name}: {kind} ({type(exc).__name__}: {exc})"
        return cls(text, partner=self.name, kind=kind, maybe_sent=sent, status=status)
