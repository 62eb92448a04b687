"""Secrets at rest, encrypted with Fernet (AES-128-CBC + HMAC-SHA256): the one helper of every app.

    token = crypto.encrypt("whsec_…", purpose="webhooks")
    crypto.decrypt(token, purpose="webhooks")                       # -> "whsec_…"
    crypto.encrypt_secrets({"api_key": "…"}, purpose="payments")    # a dict in one token

Every call names a *purpose* (one of :data:`PURPOSES`). Each purpose gets its own Fernet key,
derived with HKDF-SHA256 from the key material with the purpose bound into the derivation, so the
key of one purpose can never read another purpose's secrets, even when the operator gives one
raw Fernet key for all of them.

Key material: ``WEBHOOK_ENCRYPTION_KEY`` for webhook secrets, ``BACKUP_ENCRYPTION_KEY`` for backup
archives (shop/backup.py), ``INTEGRATIONS_ENCRYPTION_KEY`` for every other purpose; each may hold
several comma-separated keys, newest first, and when it is empty ``SECRET_KEY`` (then
``SECRET_KEY_FALLBACKS``) is used. Rotation: values are encrypted with the newest key and
decrypted with any (``MultiFernet``); :func:`rotate` re-encrypts a value under the newest key.

Old keys stay decrypt-only. Values written before this module derived a key per purpose (raw
Fernet keys used as given; ``shop/api/crypto.py``'s webhook derivation; the first per-purpose
derivation, ``koszyk-<purpose>`` / ``koszyk.<purpose>.secrets.v1``) are still read, and never
written again. Secrets are never shown back in full: use :func:`mask`.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PURPOSES = frozenset({"integrations", "payments", "carriers", "webhooks", "ksef", "backups"})

# Which setting holds the key material of a purpose (any other purpose: the default).
KEY_SETTINGS = {"webhooks": "WEBHOOK_ENCRYPTION_KEY", "backups": "BACKUP_ENCRYPTION_KEY"}
DEFAULT_KEY_SETTING = "INTEGRATIONS_ENCRYPTION_KEY"


class SecretsUnreadable(Exception):
    """The stored value cannot be decrypted with any configured key."""


def _hkdf(material: bytes, *, salt: bytes, info: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info)
    return base64.urlsafe_b64encode(hkdf.derive(material))


def _current_key(material: str, purpose: str) -> bytes:
    """The key values are encrypted with now: HKDF of the material, bound to the purpose."""
    return _hkdf(material.encode("utf-8"), salt=b"koszyk.crypto.v2", info=f"koszyk.{purpose}.v2".encode())


def _raw_fernet_key(material: str) -> bytes | None:
    raw = material.encode("ascii", "ignore")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return None


def _legacy_keys(material: str, purpose: str, *, configured: bool) -> list[bytes]:
    """Keys of the earlier derivations, for decrypting only (``configured``: the material came
    from the key setting, where a Fernet key was used as given; ``SECRET_KEY`` never was)."""
    raw = _raw_fernet_key(material) if configured else None
    if raw is not None:
        return [raw]  # earlier code used a Fernet key as given, for every purpose alike
    text = material.encode("utf-8")
    if purpose == "webhooks":
        return [_hkdf(text, salt=b"koszyk-webhooks", info=b"koszyk.webhooks.v1")]
    return [_hkdf(text, salt=f"koszyk-{purpose}".encode(), info=f"koszyk.{purpose}.secrets.v1".encode())]


@lru_cache(maxsize=32)
def _fernet(purpose: str, key_setting: str, secret_key: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    configured = [k.strip() for k in key_setting.split(",") if k.strip()]
    materials = configured or [secret_key, *fallbacks]
    current = [_current_key(m, purpose) for m in materials]
    legacy = [k for m in materials for k in _legacy_keys(m, purpose, configured=bool(configured))]
    keys = list(dict.fromkeys(current + legacy))  # the first one encrypts
    return MultiFernet([Fernet(k) for k in keys])


def fernet(purpose: str) -> MultiFernet:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown encryption purpose {purpose!r}; add it to shop.crypto.PURPOSES")
    key_setting = getattr(settings, KEY_SETTINGS.get(purpose, DEFAULT_KEY_SETTING))
    fallbacks = tuple(str(k) for k in settings.SECRET_KEY_FALLBACKS)
    return _fernet(purpose, key_setting or "", str(settings.SECRET_KEY), fallbacks)


def encrypt(value: str, *, purpose: str) -> str:
    """``value`` encrypted under the newest key of ``purpose`` (a URL-safe ASCII token)."""
    return fernet(purpose).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, purpose: str) -> str:
    try:
        return fernet(purpose).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SecretsUnreadable(
            f"{purpose} secret cannot be decrypted: was SECRET_KEY or "
            f"{KEY_SETTINGS.get(purpose, DEFAULT_KEY_SETTING)} changed?"
        ) from exc


def rotate(token: str, *, purpose: str) -> str:
    """The same value encrypted under the newest key (after adding a key in front)."""
    try:
        return fernet(purpose).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as exc:
        raise SecretsUnreadable(f"{purpose} secret cannot be decrypted, so it cannot be rotated") from exc


def encrypt_secrets(values: dict[str, str], *, purpose: str) -> str:
    """Encrypt a dict of secret strings into one token (empty dict -> empty string)."""
    clean = {k: v for k, v in values.items() if v}
    if not clean:
        return ""
    return encrypt(json.dumps(clean, sort_keys=True), purpose=purpose)


def decrypt_secrets(token: str, *, purpose: str) -> dict[str, str]:
    if not token:
        return {}
    text = decrypt(token, purpose=purpose)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SecretsUnreadable(f"{purpose} secrets are not a JSON object") from exc
    if not isinstance(data, dict):
        raise SecretsUnreadable(f"{purpose} secrets are not a JSON object")
    return data


def mask(value: str) -> str:
    """``"s3cr3t-1234"`` -> ``"••••1234"``; short secrets show no characters at all."""
    if not value:
        return ""
    return "••••" + (value[-4:] if len(value) >= 10 else "")
