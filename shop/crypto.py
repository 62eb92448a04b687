"""Secrets at rest, encrypted with Fernet (AES-128-CBC + HMAC-SHA256), shared by every app.

The key is ``INTEGRATIONS_ENCRYPTION_KEY`` (a urlsafe-base64 32-byte Fernet key, or any
passphrase, stretched with HKDF) or, when that is empty, derived from ``SECRET_KEY`` with HKDF.
Every caller names a *purpose* ("payments", "integrations", ...): the purpose is bound into the
HKDF salt and info, so a key derived for one purpose cannot read another purpose's secrets.
With ``purpose="integrations"`` the derivation is the one ``integrations/crypto.py`` uses, so
integrations can switch to this module without re-encrypting anything.

Several keys may be given, separated by commas (newest first): values are encrypted with the
first and decrypted with any (``MultiFernet``), so keys can be rotated without downtime.
Secrets are never shown back in full: use :func:`mask`.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretsUnreadable(Exception):
    """The stored secrets cannot be decrypted with the configured key(s)."""


def _derive(material: str, purpose: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=f"koszyk-{purpose}".encode(),
        info=f"koszyk.{purpose}.secrets.v1".encode(),
    )
    return base64.urlsafe_b64encode(hkdf.derive(material.encode("utf-8")))


def _as_fernet_key(text: str, purpose: str) -> bytes:
    raw = text.strip().encode("ascii", "ignore")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return _derive(text.strip(), purpose)


@lru_cache(maxsize=16)
def _fernet(purpose: str, key_setting: str, secret_key: str) -> MultiFernet:
    if key_setting.strip():
        keys = [_as_fernet_key(k, purpose) for k in key_setting.split(",") if k.strip()]
    else:
        keys = [_derive(secret_key, purpose)]
    return MultiFernet([Fernet(k) for k in keys])


def fernet(purpose: str) -> MultiFernet:
    return _fernet(purpose, settings.INTEGRATIONS_ENCRYPTION_KEY or "", settings.SECRET_KEY)


def encrypt_secrets(values: dict[str, str], *, purpose: str) -> str:
    """Encrypt a dict of secret strings into one token (empty dict -> empty string)."""
    clean = {k: v for k, v in values.items() if v}
    if not clean:
        return ""
    return fernet(purpose).encrypt(json.dumps(clean, sort_keys=True).encode("utf-8")).decode("ascii")


def decrypt_secrets(token: str, *, purpose: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(fernet(purpose).decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError) as exc:
        raise SecretsUnreadable(
            f"{purpose} secrets cannot be decrypted: was SECRET_KEY or INTEGRATIONS_ENCRYPTION_KEY changed?"
        ) from exc


def mask(value: str) -> str:
    """``"s3cr3t-1234"`` -> ``"••••1234"``; short secrets show no characters at all."""
    if not value:
        return ""
    return "••••" + (value[-4:] if len(value) >= 10 else "")
