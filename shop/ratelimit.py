"""Fixed-window rate limits kept in the cache (Redis in production), shared by every process.

    if not ratelimit.allow(f"coupon:{ip}", limit=10, window=600):
        ...answer 429 with Retry-After: ratelimit.retry_after(...)

Used for logins, voucher codes, checkout attempts and stock alerts: anything an attacker could
guess at or flood.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def _bucket(key: str, window: int) -> tuple[str, int]:
    now = int(time.time())
    start = now - now % window
    return f"rl:{key}:{start}", start + window - now


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one attempt against ``key``; False once more than ``limit`` happened in the window."""
    bucket, ttl = _bucket(key, window)
    if cache.add(bucket, 1, ttl + 1):
        count = 1
    else:
        try:
            count = cache.incr(bucket)
        except ValueError:  # expired between add and incr
            cache.add(bucket, 1, ttl + 1)
            count = 1
    return count <= limit


def is_limited(key: str, *, limit: int, window: int) -> bool:
    """True when ``key`` is over its limit, without counting an attempt."""
    bucket, _ = _bucket(key, window)
    return (cache.get(bucket) or 0) >= limit


def retry_after(*, window: int) -> int:
    """Seconds until the current window ends (for the Retry-After header)."""
    return _bucket("", window)[1]


def client_ip(request) -> str:
    """The client's address. Behind a proxy set USE_X_FORWARDED_FOR and trust only its last hop."""
    from django.conf import settings

    if getattr(settings, "USE_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"
