"""Authentication with brute-force protection for every login form (admin, storefront, API)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from . import ratelimit


class RateLimitedModelBackend(ModelBackend):
    """Email + password login that refuses further attempts once an IP address or an account
    has failed ``LOGIN_RATE_LIMIT`` times within ``LOGIN_RATE_WINDOW`` seconds, even with the
    right password, until the window ends."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (username or kwargs.get("email") or "").strip().lower()
        # Hashed: an attacker's 5,000-character "email" must not become a 5,000-character key.
        keys = [f"login:email:{hashlib.sha256(email.encode()).hexdigest()[:32]}"]
        if request is not None:
            keys.append(f"login:ip:{ratelimit.client_ip(request)}")
        limit, window = settings.LOGIN_RATE_LIMIT, settings.LOGIN_RATE_WINDOW
        if any(ratelimit.is_limited(k, limit=limit, window=window) for k in keys):
            if request is not None:
                request.login_rate_limited = True
            raise PermissionDenied("too many failed login attempts")
        user = super().authenticate(request, username=email or username, password=password, **kwargs)
        if user is None:
            for key in keys:
                ratelimit.allow(key, limit=limit, window=window)
        return user
