"""The shop's one rate limiter: sliding windows kept in the cache (Redis in production), shared by
every process, used for logins, voucher codes, checkout attempts, BLIK codes, stock alerts, account
forms and the API's throttles -- anything an attacker could guess at or flood::

    verdict = ratelimit.hit(f"coupon:ip:{ip}", limit=10, window=600)
    if not verdict.allowed:
        ...answer 429 with Retry-After: verdict.retry_after

**Sliding log.** A key holds the times of the attempts it accepted in the last ``window`` seconds
(a Redis sorted set, changed atomically by one Lua script). An attempt is accepted while fewer
than ``limit`` are in the log; a refused one is not recorded, so the log never holds more than
``limit`` entries. A lock therefore lasts until the oldest counted attempt is ``window`` seconds
old -- never "until the next quarter hour" -- and no ``window``-long stretch of time holds more
than ``limit`` accepted attempts (a fixed window let 2 x limit through around its boundary).

**Outages degrade, never break.** When the cache cannot be reached (Redis down, timing out), the
limiter counts in this process's memory instead, logs that once a minute (not once a request),
and tries the cache again after ``RATELIMIT_CACHE_RETRY_SECONDS``. Each process then enforces the
limit on its own share of the traffic: looser by the number of processes, never open, never 500.
On the non-Redis caches (the embedded default's file cache, tests' memory cache) the same log is
kept as a cache value (read-modify-write: two processes can undercount by an attempt at worst).

**Client address.** :func:`client_ip` is the one reading of the client's address for every limit:
``REMOTE_ADDR`` unless ``TRUSTED_PROXIES`` says how many proxies in front of the shop append to
``X-Forwarded-For`` (0 by default: a client could write any address there).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import ngettext

log = logging.getLogger("shop.ratelimit")


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer: ``allowed``, how many attempts the key holds in its window, and
    ``retry_after`` -- whole seconds until an attempt would be accepted again (0 when allowed)."""

    allowed: bool
    count: int
    retry_after: int


# --- Redis: one Lua script, atomic ---------------------------------------------------------------

# KEYS[1] the log; ARGV: now, window, limit, record (1: count an accepted attempt), member.
# Returns {allowed, count, seconds until the next attempt is accepted (string: Lua numbers
# become integers on the way out)}.
_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[4] == '1' then
    redis.call('ZADD', key, now, ARGV[5])
    redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
    count = count + 1
  end
  return {1, count, '0'}
end
local nth = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, count, tostring(tonumber(nth[2]) + window - now)}
"""


def _redis_client():
    """The cache's own Redis client, or None when the cache is not Redis."""
    inner = getattr(cache, "_cache", None)
    if inner is None or not hasattr(inner, "get_client"):
        return None
    return inner.get_client(write=True)


_scripts: dict[int, object] = {}


def _redis_hit(client, key: str, *, limit: int, window: float, now: float, record: bool) -> Verdict:
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_SCRIPT)
    member = f"{now:.6f}:{secrets.token_hex(4)}"
    allowed, count, wait = script(
        keys=[cache.make_key(f"rl:{key}")], args=[repr(now), window, limit, "1" if record else "0", member]
    )
    return Verdict(bool(allowed), int(count), _whole(float(wait)))


# --- The sliding log kept elsewhere (cache value or process memory) -------------------------------


def _slide(times: list[float], *, limit: int, window: float, now: float, record: bool):
    """The same rule as the Lua script on a plain list; returns (new list, Verdict)."""
    times = [t for t in times if t > now - window]
    if len(times) < limit:
        if record:
            times.append(now)
        return times, Verdict(True, len(times), 0)
    oldest_to_go = sorted(times)[len(times) - limit]
    return times, Verdict(False, len(times), _whole(oldest_to_go + window - now))


_cache_lock = threading.Lock()


def _cache_hit(key: str, *, limit: int, window: float, now: float, record: bool) -> Verdict:
    name = f"rl:{key}"
    with _cache_lock:
        times, verdict = _slide(cache.get(name) or [], limit=limit, window=window, now=now, record=record)
        if record and verdict.allowed:
            cache.set(name, times, math.ceil(window) + 1)
    return verdict


class _LocalLimiter:
    """Per-process sliding logs for when the cache is down; bounded (least recently used keys
    go first), so a flood of distinct keys cannot grow the process."""

    MAX_KEYS = 20_000

    def __init__(self):
        self._logs: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window: float, now: float, record: bool) -> Verdict:
        with self._lock:
            times, verdict = _slide(
                self._logs.get(key, []), limit=limit, window=window, now=now, record=record
            )
            self._logs[key] = times
            self._logs.move_to_end(key)
            while len(self._logs) > self.MAX_KEYS:
                self._logs.popitem(last=False)
        return verdict

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()


_local = _LocalLimiter()
_cache_down_until = 0.0
_last_warning = 0.0
_WARN_EVERY_SECONDS = 60


def _cache_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - redis is a dependency
        return (OSError,)
    return (RedisError, OSError)


def _fall_back(exc: BaseException, now: float) -> None:
    global _cache_down_until, _last_warning
    _cache_down_until = now + settings.RATELIMIT_CACHE_RETRY_SECONDS
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        log.error(
            "Rate limits fall back to this process's memory: the cache is unreachable (%s: %s). "
            "Retrying the cache every %ss; logged at most once a minute.",
            type(exc).__name__,
            exc,
            settings.RATELIMIT_CACHE_RETRY_SECONDS,
        )


def _verdict(key: str, *, limit: int, window: float, record: bool) -> Verdict:
    limit, window = max(0, int(limit)), float(window)
    if limit <= 0:
        return Verdict(False, 0, _whole(window))
    now = time.time()
    if now >= _cache_down_until:
        try:
            client = _redis_client()
            if client is not None:
                return _redis_hit(client, key, limit=limit, window=window, now=now, record=record)
            return _cache_hit(key, limit=limit, window=window, now=now, record=record)
        except _cache_errors() as exc:
            _fall_back(exc, now)
    return _local.hit(key, limit=limit, window=window, now=now, record=record)


def _whole(seconds: float) -> int:
    return max(1, math.ceil(seconds - 1e-6)) if seconds > 0 else 0


# --- The API every caller uses ----------------------------------------------------------------------


def hit(key: str, *, limit: int, window: float) -> Verdict:
    """Count one attempt against ``key`` if it is allowed: at most ``limit`` in any ``window``
    seconds. A refused attempt is not counted."""
    return _verdict(key, limit=limit, window=window, record=True)


def check(key: str, *, limit: int, window: float) -> Verdict:
    """Whether an attempt against ``key`` would be allowed now, without counting one."""
    return _verdict(key, limit=limit, window=window, record=False)


def hit_all(keys: list[str], *, limit: int, window: float) -> Verdict:
    """One attempt against each of ``keys`` (e.g. the IP and the cart); refused when any is over
    its limit -- then nothing is counted -- with the longest wait of them."""
    refused = [v for v in (check(k, limit=limit, window=window) for k in keys) if not v.allowed]
    if refused:
        return max(refused, key=lambda v: v.retry_after)
    verdicts = [hit(k, limit=limit, window=window) for k in keys]
    return max(verdicts, key=lambda v: (not v.allowed, v.retry_after))


def check_all(keys: list[str], *, limit: int, window: float) -> Verdict:
    """:func:`check` for several keys: refused when any is, with the longest wait."""
    verdicts = [check(k, limit=limit, window=window) for k in keys]
    return max(verdicts, key=lambda v: (not v.allowed, v.retry_after), default=Verdict(True, 0, 0))


def allow(key: str, *, limit: int, window: float) -> bool:
    """:func:`hit`, as a yes/no."""
    return hit(key, limit=limit, window=window).allowed


def is_limited(key: str, *, limit: int, window: float) -> bool:
    """True when ``key`` is at its limit (the next attempt would be refused), counting nothing."""
    return not check(key, limit=limit, window=window).allowed


def retry_after(key: str | None = None, *, window: float, limit: int | None = None) -> int:
    """Seconds until ``key`` accepts an attempt again; without a key (or limit), the whole window:
    a sliding window frees a place within ``window`` seconds at the latest."""
    if key is None or limit is None:
        return _whole(window)
    return check(key, limit=limit, window=window).retry_after


def reset_local() -> None:
    """Forget the in-memory fallback's counts and the cache's state (tests)."""
    global _cache_down_until, _last_warning
    _local.clear()
    _scripts.clear()
    _cache_down_until = _last_warning = 0.0


def try_again_message(seconds: int) -> str:
    """ "Try again in 3 minutes." for a shopper, in their language with its plural forms."""
    if seconds < 60:
        n = max(1, int(seconds))
        return ngettext("Try again in %(n)d second.", "Try again in %(n)d seconds.", n) % {"n": n}
    n = math.ceil(seconds / 60)
    return ngettext("Try again in %(n)d minute.", "Try again in %(n)d minutes.", n) % {"n": n}


def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXIES`` proxies the address
    the outermost trusted one saw (that many entries from the right of ``X-Forwarded-For``)."""
    trusted = int(settings.TRUSTED_PROXIES or 0)
    address = request.META.get("REMOTE_ADDR", "")
    if trusted > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if hops:
            address = hops[-min(trusted, len(hops))]
    address = address[:64]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address or "unknown"
