"""Rate limits per client IP and per API key, kept in the cache (Redis in production), so every
web process counts together. A throttled request gets 429 with ``Retry-After``.

Rates come from settings (``API_THROTTLE_*``, e.g. ``"300/min"``); tests set them low. The IP
is ``REMOTE_ADDR`` unless ``API_NUM_PROXIES`` says how many proxies to trust in
``X-Forwarded-For`` (never trusted by default: a client could name any address).
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .permissions import api_key_of


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self):
        # Read per request (not at import) so operators' and tests' settings always apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class IpRateThrottle(_SettingsRate):
    """Every request, per client IP (merchant keys are limited by their key instead)."""

    scope = "ip"

    def get_cache_key(self, request, view):
        if api_key_of(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ApiKeyRateThrottle(_SettingsRate):
    """Requests made with one merchant API key, wherever they come from."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        key = api_key_of(request)
        if key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.pk}


class SensitiveRateThrottle(_SettingsRate):
    """Stricter limit for guessable or costly calls (login, checkout, voucher codes), per IP."""

    scope = "sensitive"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
