"""Authentication with brute-force protection for every login form (admin, storefront, API).

A locked login says so, and when to try again (``request.login_retry_after`` seconds), instead of
"wrong e-mail or password": the lock is counted per IP address and per typed e-mail address --
known or unknown alike -- so the message tells nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from . import ratelimit


def login_keys(request, email: str) -> list[str]:
    # Hashed: an attacker's 5,000-character "email" must not become a 5,000-character key.
    keys = [f"login:email:{hashlib.sha256(email.encode()).hexdigest()[:32]}"]
    if request is not None:
        keys.append(f"login:ip:{ratelimit.client_ip(request)}")
    return keys


class RateLimitedModelBackend(ModelBackend):
    """Email + password login that refuses further attempts once an IP address or an account
    has failed ``LOGIN_RATE_LIMIT`` times within the last ``LOGIN_RATE_WINDOW`` seconds (a sliding
    window), even with the right password, until the oldest of those failures is that old."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        email = (username or kwargs.get("email") or "").strip().lower()
        keys = login_keys(request, email)
        limit, window = settings.LOGIN_RATE_LIMIT, settings.LOGIN_RATE_WINDOW
        verdict = ratelimit.check_all(keys, limit=limit, window=window)
        if not verdict.allowed:
            if request is not None:
                request.login_rate_limited = True
                request.login_retry_after = verdict.retry_after
            raise PermissionDenied("too many failed login attempts")
        user = super().authenticate(request, username=email or username, password=password, **kwargs)
        if user is None:
            for key in keys:
                ratelimit.hit(key, limit=limit, window=window)
        return user


def lockout_message(request) -> str | None:
    """What a locked login form says (None when the last attempt was not refused by the lock)."""
    if not getattr(request, "login_rate_limited", False):
        return None
    return "{} {}".format(
        gettext("Too many failed login attempts: logging in is paused for a while."),
        ratelimit.try_again_message(getattr(request, "login_retry_after", 0) or settings.LOGIN_RATE_WINDOW),
    )


class _LockoutAware:
    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            message = lockout_message(self.request)
            if message is None:
                raise
            raise forms.ValidationError(message, code="locked") from None


class LoginForm(_LockoutAware, AuthenticationForm):
    """The storefront's login form."""


class AdminLoginForm(_LockoutAware, AdminAuthenticationForm):
    """The admin's login form."""
