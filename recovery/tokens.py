"""Signed tokens for links in messages, one salt per purpose.

- restore: scoped to a tracked cart (and the reminder that carried it), expires after
  RECOVERY_RESTORE_TOKEN_DAYS;
- click: a reminder and a path on this store (no open redirect: only a relative path is signed,
  and it is checked again when followed);
- open: a reminder (tracking pixel);
- unsubscribe: a store and an address; never expires (an unsubscribe link must keep working).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

RESTORE_SALT = "koszyk.recovery.restore"
CLICK_SALT = "koszyk.recovery.click"
OPEN_SALT = "koszyk.recovery.open"
UNSUBSCRIBE_SALT = "koszyk.recovery.unsubscribe"


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


@dataclass(frozen=True)
class RestoreClaim:
    tracked_id: int
    cart_id: int
    reminder_id: int | None


def restore_token(*, tracked_id: int, cart_id: int, reminder_id: int | None) -> str:
    return signing.dumps({"t": tracked_id, "c": cart_id, "r": reminder_id}, salt=RESTORE_SALT, compress=True)


def read_restore_token(token: str) -> RestoreClaim:
    max_age = settings.RECOVERY_RESTORE_TOKEN_DAYS * 86400
    try:
        data = signing.loads(token, salt=RESTORE_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise TokenExpired from exc
    except signing.BadSignature as exc:
        raise TokenInvalid from exc
    try:
        return RestoreClaim(int(data["t"]), int(data["c"]), int(data["r"]) if data.get("r") else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc


def click_token(*, reminder_id: int, path: str) -> str:
    return signing.dumps({"r": reminder_id, "p": path}, salt=CLICK_SALT, compress=True)


def read_click_token(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=CLICK_SALT)
        return int(data["r"]), str(data["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc


def open_token(*, reminder_id: int) -> str:
    return signing.dumps(reminder_id, salt=OPEN_SALT)


def read_open_token(token: str) -> int:
    try:
        return int(signing.loads(token, salt=OPEN_SALT))
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise TokenInvalid from exc


def unsubscribe_token(*, store_id: int, email: str) -> str:
    return signing.dumps({"s": store_id, "e": email.lower()}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(data["s"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc
