"""Finding the store a request is for."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from .models import Store

_CACHE_VERSION_KEY = "stores:version"
_NO_STORE = "no-store"


def _version() -> int:
    return cache.get_or_set(_CACHE_VERSION_KEY, 1)


def forget_cached_stores() -> None:
    """Invalidate every cached host lookup (called when any store is saved)."""
    try:
        cache.incr(_CACHE_VERSION_KEY)
    except ValueError:
        cache.set(_CACHE_VERSION_KEY, 2)


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
    find its store; saving any store bumps the cache version, so changes show at once.
    """
    host = normalise_host(host)
    key = f"stores:v{_version()}:host:{host}"
    cached = cache.get(key)
    if cached is None:
        store = Store.objects.filter(domain=host, is_active=True).first()
        if store is None and settings.STORE_HOST_FALLBACK:
            store = default_store()
        cache.set(key, store if store else _NO_STORE, settings.STORE_CACHE_SECONDS)
        return store
    return None if cached == _NO_STORE else cached


def default_store() -> Store | None:
    return Store.objects.filter(is_default=True, is_active=True).first() or (
        Store.objects.filter(is_active=True).order_by("pk").first()
    )
