"""Links a merchant types into the menu and banners: a path of this shop or an https address."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def clean_link(value: str, *, field: str) -> str:
    """``/k/buty/`` or ``https://example.com/x``; never ``javascript:``, ``data:``, ``//host``."""
    value = (value or "").strip()
    if not value:
        return ""
    if any(ch in value for ch in "\r\n\t\\<>\"'") or any(ord(ch) < 32 for ch in value):
        raise ValidationError({field: _("Enter a page of this shop (/k/buty/) or an https:// address.")})
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    if parts.scheme in ("https", "http") and parts.netloc:
        return value
    raise ValidationError({field: _("Enter a page of this shop (/k/buty/) or an https:// address.")})
