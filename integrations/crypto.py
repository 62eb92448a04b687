"""Connector secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The key is ``INTEGRATIONS_ENCRYPTION_KEY`` (a urlsafe-base64 32-byte Fernet key, or any passphrase,
which is stretched with HKDF) or, when that is empty, derived from ``SECRET_KEY`` with HKDF and a
fixed, purpose-bound ``info`` so the derived key is useless for anything else. Secrets are never
shown back in full: the admin shows :func:`mask` (``••••1234``).

Several keys may be given, separated by commas (newest first): values are encrypted with the
first and decrypted with any (``MultiFernet``), so keys can be rotated without downtime.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"koszyk.integrations.secrets.v1"


class SecretsUnreadable(Exception):
    """The stored secrets cannot be decrypted with the configured key(s)."""


def _derive(material: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"koszyk-integrations", info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(material.encode("utf-8")))


def _as_fernet_key(text: str) -> bytes:
    raw = text.strip().encode("ascii", "ignore")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return _derive(text.strip())


@lru_cache(maxsize=8)
def _fernet(key_setting: str, secret_key: str) -> MultiFernet:
    if key_setting.strip():
        keys = [_as_fernet_key(k) for k in key_setting.split(",") if k.strip()]
    else:
        keys = [_derive(secret_key)]
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(settings.INTEGRATIONS_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt_secrets(values: dict[str, str]) -> str:
    """Encrypt a dict of secret strings into one token (empty dict -> empty string)."""
    clean = {k: v for k, v in values.items() if v}
    if not clean:
        return ""
    return fernet().encrypt(json.dumps(clean, sort_keys=True).encode("utf-8")).decode("ascii")


def decrypt_secrets(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError) as exc:
        raise SecretsUnreadable(
            "Connector secrets cannot be decrypted: was SECRET_KEY or INTEGRATIONS_ENCRYPTION_KEY changed?"
        ) from exc


def mask(value: str) -> str:
    """``"s3cr3t-1234"`` -> ``"••••1234"``; short secrets show no characters at all."""
    if not value:
        return ""
    tail = value[-4:] if len(value) >= 10 else ""
    return "••••" + tail
