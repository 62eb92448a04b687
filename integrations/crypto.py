"""Connector secrets at rest: ``shop.crypto`` with the "integrations" purpose.

One Fernet helper serves every app (payment gateways, connectors); each purpose derives its own
key, so connector secrets and gateway secrets cannot read each other. See ``shop/crypto.py`` for
the key material (``INTEGRATIONS_ENCRYPTION_KEY``, comma-separated for rotation, or ``SECRET_KEY``
stretched with HKDF).
"""

from __future__ import annotations

from shop import crypto as _crypto
from shop.crypto import SecretsUnreadable, mask

__all__ = ["SecretsUnreadable", "decrypt_secrets", "encrypt_secrets", "mask"]

PURPOSE = "integrations"


def encrypt_secrets(values: dict[str, str]) -> str:
    return _crypto.encrypt_secrets(values, purpose=PURPOSE)


def decrypt_secrets(token: str) -> dict[str, str]:
    return _crypto.decrypt_secrets(token, purpose=PURPOSE)
