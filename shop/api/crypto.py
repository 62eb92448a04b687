"""Webhook signing secrets, encrypted at rest with Fernet.

The key is ``WEBHOOK_ENCRYPTION_KEY`` (a Fernet key or any passphrase, stretched with HKDF) or,
when empty, derived from ``SECRET_KEY`` with HKDF bound to this purpose. Several comma-separated
keys (newest first) allow rotation.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    pass


def _derive(material: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"koszyk-webhooks", info=b"koszyk.webhooks.v1")
    return base64.urlsafe_b64encode(hkdf.derive(material.encode("utf-8")))


def _as_key(text: str) -> bytes:
    raw = text.strip().encode("ascii", "ignore")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return _derive(text.strip())


@lru_cache(maxsize=4)
def _fernet(setting: str, secret_key: str) -> MultiFernet:
    keys = [_as_key(k) for k in setting.split(",") if k.strip()] or [_derive(secret_key)]
    return MultiFernet([Fernet(k) for k in keys])


def _current() -> MultiFernet:
    return _fernet(settings.WEBHOOK_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(secret: str) -> str:
    return _current().encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("the webhook secret cannot be decrypted with the configured key") from exc


def mask(secret: str) -> str:
    return f"…{secret[-4:]}" if secret else ""
