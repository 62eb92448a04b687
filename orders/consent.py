"""The marketing/reminder consent question asked at checkout.

The exact text shown is stored with every answer, together with ``CONSENT_VERSION``. Change the
version whenever the wording changes, so every stored answer says which text it agreed to.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

CONSENT_VERSION = "2026-11-01"


def consent_text(store_name: str) -> str:
    return _(
        "I agree that %(store)s may send me emails about my unfinished cart and about offers. "
        "I can withdraw my consent at any time with the link in every message."
    ) % {"store": store_name}
