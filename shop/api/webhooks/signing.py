"""The signature header every delivery carries (see :mod:`shop.api.webhook_verify`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Koszyk-Signature"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def signature_header(*, body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
