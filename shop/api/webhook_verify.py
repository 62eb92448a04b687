"""Verify a Koszyk webhook signature (standard library only; copy this file into your receiver).

Koszyk signs every delivery with HMAC-SHA256 over ``f"{timestamp}.{raw_body}"`` using the
subscription's secret and sends ``Koszyk-Signature: t=<unix seconds>,v1=<hex digest>``.
Reject a delivery whose signature does not match, or whose timestamp is more than five minutes
away from your clock: that stops replays of an old, captured request.
"""

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The request was not signed by Koszyk with this secret, or it is too old."""


def verify_signature(
    raw_body: bytes, header: str, secret: str, *, tolerance: int = TOLERANCE_SECONDS, now=None
):
    """Return the signed timestamp if ``header`` is a valid signature of ``raw_body``.

    ``raw_body`` must be the exact bytes received (before any JSON parsing).
    """
    timestamp, signatures = None, []
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("malformed Koszyk-Signature header")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance: possible replay")
    signed = str(timestamp).encode() + b"." + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise InvalidSignature("signature mismatch")
    return timestamp
