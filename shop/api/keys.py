"""Issuing and checking API keys and customer tokens (the services of the credentials).

A credential is ``<kind>_<prefix>_<secret>``: the prefix finds the row, the secret is compared
with a salted SHA-256 in constant time. Both parts are random; nothing about the store or the
user can be read from a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ApiKey, CustomerToken, Scope

API_KEY_KIND = "ksk"
CUSTOMER_TOKEN_KIND = "kct"  # noqa: S105  (a prefix, not a secret)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _new_parts() -> tuple[str, str, str]:
    return secrets.token_hex(6), secrets.token_hex(8), secrets.token_urlsafe(32)


def split_credential(raw: str, kind: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed credential of ``kind``, else None."""
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != kind or not parts[1] or not parts[2] or len(raw) > 200:
        return None
    return parts[1], parts[2]


def clean_scopes(scopes) -> list[str]:
    valid = set(Scope.values)
    scopes = list(dict.fromkeys(scopes or []))
    unknown = [s for s in scopes if s not in valid]
    if unknown:
        raise ValidationError(_("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(map(str, unknown))})
    return scopes


@transaction.atomic
def create_api_key(*, store, name: str, scopes, created_by=None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the full key, which is never available again."""
    scopes = clean_scopes(scopes)
    prefix, salt, secret = _new_parts()
    key = ApiKey.objects.create(
        store=store,
        name=name[:100],
        prefix=prefix,
        salt=salt,
        secret_hash=_hash(salt, secret),
        scopes=scopes,
        created_by=created_by,
    )
    return key, f"{API_KEY_KIND}_{prefix}_{secret}"


def revoke_api_key(*, api_key: ApiKey) -> ApiKey:
    if not api_key.revoked:
        api_key.revoked = True
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked", "revoked_at"])
    return api_key


def _touch(model, pk: int, last_used_at) -> None:
    """Record use at most once a minute per credential (no write on every request)."""
    now = timezone.now()
    if last_used_at is None or now - last_used_at > timedelta(seconds=60):
        model.objects.filter(pk=pk).update(last_used_at=now)


def authenticate_api_key(raw: str) -> ApiKey | None:
    """The live key ``raw`` names, or None (unknown, malformed, revoked, wrong secret)."""
    parts = split_credential(raw, API_KEY_KIND)
    if parts is None:
        return None
    prefix, secret = parts
    key = ApiKey.objects.select_related("store").filter(prefix=prefix).first()
    if key is None or key.revoked or not hmac.compare_digest(key.secret_hash, _hash(key.salt, secret)):
        return None
    _touch(ApiKey, key.pk, key.last_used_at)
    return key


def create_customer_token(*, store, user) -> tuple[CustomerToken, str]:
    prefix, salt, secret = _new_parts()
    token = CustomerToken.objects.create(
        store=store,
        user=user,
        prefix=prefix,
        salt=salt,
        secret_hash=_hash(salt, secret),
        expires_at=timezone.now() + timedelta(days=settings.API_CUSTOMER_TOKEN_DAYS),
    )
    return token, f"{CUSTOMER_TOKEN_KIND}_{prefix}_{secret}"


def authenticate_customer_token(raw: str) -> CustomerToken | None:
    parts = split_credential(raw, CUSTOMER_TOKEN_KIND)
    if parts is None:
        return None
    prefix, secret = parts
    token = CustomerToken.objects.select_related("user").filter(prefix=prefix).first()
    if (
        token is None
        or token.expires_at <= timezone.now()
        or not token.user.is_active
        or not hmac.compare_digest(token.secret_hash, _hash(token.salt, secret))
    ):
        return None
    _touch(CustomerToken, token.pk, token.last_used_at)
    return token


def revoke_customer_token(*, token: CustomerToken) -> None:
    token.delete()
