"""Who is calling: a merchant's API key, a shopper's token, or a shopper's browser session.

``Authorization: Bearer ksk_…`` authenticates a merchant integration: ``request.user`` stays
anonymous and ``request.auth`` is the :class:`~shop.api.models.ApiKey`. ``Authorization: Bearer
kct_…`` authenticates a shopper (``request.user`` is the account). A key or a token only works on
its own store's host: a key of store A is unknown on store B.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from . import keys


def _bearer(request) -> str | None:
    header = authentication.get_authorization_header(request)
    if not header:
        return None
    try:
        parts = header.decode("latin-1").split()
    except UnicodeDecodeError:
        return None
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        raw = _bearer(request)
        if raw is None or not raw.startswith(f"{keys.API_KEY_KIND}_"):
            return None
        key = keys.authenticate_api_key(raw)
        store = getattr(request._request, "store", None)
        if key is None or store is None or key.store_id != store.pk:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class CustomerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = _bearer(request)
        if raw is None:
            return None
        if not raw.startswith(f"{keys.CUSTOMER_TOKEN_KIND}_"):
            if raw.startswith(f"{keys.API_KEY_KIND}_"):
                return None
            raise exceptions.AuthenticationFailed(_("Unknown kind of bearer token."))
        token = keys.authenticate_customer_token(raw)
        store = getattr(request._request, "store", None)
        if token is None or store is None or token.store_id != store.pk:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The storefront's session (a logged-in shopper in the browser); CSRF-checked for writes."""
