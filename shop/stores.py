"""Finding the store a request is for."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache

from .models import Store

log = logging.getLogger(__name__)

_CACHE_VERSION_KEY = "stores:version"
_NO_STORE = "no-store"


def _fresh_version() -> int:
    # Not a small counter: if the version key is evicted, a new one must not match old entries.
    return time.time_ns()


def _version() -> int:
    return cache.get_or_set(_CACHE_VERSION_KEY, _fresh_version, None)


def forget_cached_stores() -> None:
    """Invalidate every cached host lookup (called when any store is saved)."""
    try:
        cache.incr(_CACHE_VERSION_KEY)
    except ValueError:
        cache.set(_CACHE_VERSION_KEY, _fresh_version(), None)


def normalise_host(host: str) -> str:
    """``Sklep.Example.PL:8000`` -> ``sklep.example.pl``; IPv6 literals keep their brackets."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    return host.rsplit(":", 1)[0] if ":" in host else host


def store_for_host(host: str) -> Store | None:
    """The active store answering on ``host``, else (when allowed) the default store, else None.

    The Store row itself is cached (not just its id), so a storefront request costs no query to
    find its store; saving any store bumps the cache version, so changes show at once. The
    version and the host's entry (which records the version it was cached under) come back in
    one cache round trip.
    """
    host = normalise_host(host)
    key = f"stores:host:{host}"
    try:
        found = cache.get_many([_CACHE_VERSION_KEY, key])
        version = found.get(_CACHE_VERSION_KEY)
        if version is None:
            version = _version()
    except Exception:  # the cache is down: the database still answers (one query per request)
        log.warning("Cache unavailable: looking up the store for %s in the database", host)
        found, version = {}, None
    cached = found.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == version:
        return None if cached[1] == _NO_STORE else cached[1]
    store = Store.objects.filter(domain=host, is_active=True).first()
    if store is None and settings.STORE_HOST_FALLBACK:
        store = default_store()
    if version is not None:
        cache.set(key, (version, store if store else _NO_STORE), settings.STORE_CACHE_SECONDS)
    return store


def default_store() -> Store | None:
    return Store.objects.filter(is_default=True, is_active=True).first() or (
        Store.objects.filter(is_active=True).order_by("pk").first()
    )
