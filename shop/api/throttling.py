"""Rate limits per client IP and per API key, counted by the shop's one limiter
(:mod:`shop.ratelimit`: sliding windows in Redis shared by every web process, a per-process
fallback while Redis is down). A throttled request gets 429 with ``Retry-After`` and a message in
the shopper's language (:func:`throttled_message`).

Rates come from settings (``API_THROTTLE_*``, e.g. ``"300/min"``); tests set them low. The IP is
:func:`shop.ratelimit.client_ip` (``TRUSTED_PROXIES``).
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from shop import ratelimit

from .permissions import api_key_of


def throttled_message(wait: int | None) -> str:
    """ "Too many requests. Try again in 50 seconds." -- wholly translated, with plural forms
    (DRF's own message formats the number before looking the sentence up, so it never is)."""
    from django.utils.translation import gettext

    message = gettext("Too many requests.")
    return f"{message} {ratelimit.try_again_message(wait)}" if wait else message


def throttled(message: str, *, wait: int):
    """A 429 ``throttled`` error whose answer carries ``Retry-After: wait``."""
    from .errors import ApiError  # not at import: DRF loads this module while errors.py loads DRF

    error = ApiError(message, code="throttled", status_code=429)
    error.wait = max(1, int(wait))
    return error


class _LimiterThrottle(BaseThrottle):
    scope = ""

    def __init__(self):
        self._wait = None

    def ident(self, request) -> str | None:
        """What is counted (None: this throttle does not apply to the request)."""
        raise NotImplementedError

    def allow_request(self, request, view):
        ident = self.ident(request)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # per request: settings can change
        if ident is None or rate is None:
            return True
        limit, window = SimpleRateThrottle.parse_rate(None, rate)
        verdict = ratelimit.hit(f"api:{self.scope}:{ident}", limit=limit, window=window)
        self._wait = verdict.retry_after
        return verdict.allowed

    def wait(self):
        return self._wait


class IpRateThrottle(_LimiterThrottle):
    """Every request, per client IP (merchant keys are limited by their key instead)."""

    scope = "ip"

    def ident(self, request):
        if api_key_of(request) is not None:
            return None
        return ratelimit.client_ip(request._request)


class ApiKeyRateThrottle(_LimiterThrottle):
    """Requests made with one merchant API key, wherever they come from."""

    scope = "api_key"

    def ident(self, request):
        key = api_key_of(request)
        return None if key is None else str(key.pk)


class SensitiveRateThrottle(_LimiterThrottle):
    """Stricter limit for guessable or costly calls (login, checkout, voucher codes), per IP."""

    scope = "sensitive"

    def ident(self, request):
        return ratelimit.client_ip(request._request)
