"""Who may call what: public, shopper (customer), and merchant key with one scope."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from .models import ApiKey, CustomerToken


def api_key_of(request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class IsCustomer(permissions.BasePermission):
    """A shopper logged in with a customer token or a session (never a merchant key)."""

    message = _("Log in as a customer to use this endpoint.")

    def has_permission(self, request, view) -> bool:
        if api_key_of(request) is not None:
            return False
        return bool(request.user and request.user.is_authenticated) and (
            request.auth is None or isinstance(request.auth, CustomerToken)
        )


class HasScope(permissions.BasePermission):
    """A merchant API key with the scope the view names in ``required_scopes`` (per method:
    ``{"GET": "catalog:read", "POST": "catalog:write"}``) or ``required_scope``."""

    message = _("This API key lacks the scope this endpoint needs.")

    def has_permission(self, request, view) -> bool:
        key = api_key_of(request)
        if key is None:
            self.message = _("A merchant API key is required.")
            return False
        scope = required_scope(view, request.method)
        if scope is None or not key.has_scope(scope):
            self.message = _("This API key lacks the scope “%(scope)s”.") % {"scope": scope}
            return False
        return True


def required_scope(view, method: str) -> str | None:
    by_method = getattr(view, "required_scopes", None)
    if by_method:
        if method in ("HEAD", "OPTIONS"):
            method = "GET"
        return by_method.get(method)
    return getattr(view, "required_scope", None)
