"""Writes of a store's look that do more than save a row: the icons made from the logo."""

from __future__ import annotations

import logging

from . import icons
from .models import StoreBranding

log = logging.getLogger(__name__)


def refresh_icons(*, branding: StoreBranding) -> str:
    """Draw the favicon, touch and PWA icons from the saved logo (none without a logo) and
    record their key; returns it ("" without a logo)."""
    key = ""
    if branding.logo:
        with branding.logo.open("rb") as fh:
            data = fh.read()
        key = icons.generate(store_id=branding.store_id, logo=data, background=branding.primary_color)
    if key != branding.icons_key:
        branding.icons_key = key
        branding.save(update_fields=["icons_key", "updated_at"])
    return key
